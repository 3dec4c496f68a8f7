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
