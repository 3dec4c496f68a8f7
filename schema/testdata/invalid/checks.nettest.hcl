# Every check-level mistake in one file: one run reports them all.

tcp "typo" { # ERROR: Missing required argument
  hots = "127.0.0.1" # ERROR: Unsupported argument
  port = 80
  expect {
    open = true
  }
}

tpc "kind_typo" { # ERROR: Unsupported block type
  host = "127.0.0.1"
}

tcp "wrong_type" {
  host = "127.0.0.1"
  port = "eighty" # ERROR: Incorrect attribute value type
  expect {
    open = true
  }
}

tcp "bad_port" {
  host = "127.0.0.1"
  port = 70000 # ERROR: Invalid value for argument "port"
  expect {
    open = true
  }
}

tcp "bad_timeout" {
  host    = "127.0.0.1"
  port    = 80
  timeout = "5 sec" # ERROR: Invalid duration for timeout
  expect {
    open = true
  }
}

tcp "bad_state" {
  host = "127.0.0.1"
  port = 80
  expect {
    state = "half-open" # ERROR: Invalid value for expectation "state"
  }
}

tcp "unknown_expect" {
  host = "127.0.0.1"
  port = 80
  expect {
    opened = true # ERROR: Unsupported argument
  }
}

tcp "missing_port" { # ERROR: Missing required argument
  host = "127.0.0.1"
  expect {
    open = true
  }
}

tcp "undeclared_ref" {
  host = tcp.nosuch.host # ERROR: Reference to undeclared check
  port = 80
  expect {
    open = true
  }
}

tcp "bad_field" {
  host = tcp.bad_port.hostname # ERROR: Unsupported attribute
  port = 80
  expect {
    open = true
  }
}

tcp "bad_assert" {
  host = "127.0.0.1"
  port = 80
  assert {
    condition = self.duration_ms # ERROR: Invalid assert condition
  }
}

tcp "list_for_each" {
  for_each = [80, 443] # ERROR: Invalid for_each argument
  host     = "127.0.0.1"
  port     = each.value
  expect {
    open = true
  }
}

tcp "no_expect" { # ERROR: Check expects nothing
  host = "127.0.0.1"
  port = 80
}

tcp "bad_depends_on" {
  host       = "127.0.0.1"
  port       = 80
  depends_on = ["tcp.bad_port"] # ERROR: Invalid depends_on reference
  expect {
    open = true
  }
}

tcp "dup" {
  host = "127.0.0.1"
  port = 80
  expect {
    open = true
  }
}

tcp "dup" { # ERROR: Duplicate tcp check "dup"
  host = "127.0.0.1"
  port = 81
  expect {
    open = true
  }
}
