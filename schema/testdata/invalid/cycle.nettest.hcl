tcp "a" { # ERROR: Dependency cycle between checks
  host = tcp.b.host
  port = 80
  expect {
    open = true
  }
}

tcp "b" {
  host       = "127.0.0.1"
  port       = 80
  depends_on = [tcp.a]
  expect {
    open = true
  }
}

# A second, separate cycle is reported too, in the same run.
tcp "c" { # ERROR: Dependency cycle between checks
  host       = "127.0.0.1"
  port       = tcp.d.port
  expect {
    open = true
  }
}

tcp "d" {
  host       = "127.0.0.1"
  port       = 81
  depends_on = [tcp.c]
  expect {
    open = true
  }
}

# A check that waits on a cycle is in none: no diagnostic of its own.
tcp "e" {
  host = tcp.a.host
  port = 80
  expect {
    open = true
  }
}
