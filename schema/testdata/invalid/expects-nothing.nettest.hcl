variable "hosts" {
  type    = string
  default = "127.0.0.1"
}

tcp "empty_expect" { # ERROR: Check expects nothing
  host = "127.0.0.1"
  port = 80
  expect {
  }
}

tcp "null_expect" { # ERROR: Check expects nothing
  host = "127.0.0.1"
  port = 80
  expect {
    open  = null
    state = null
  }
}

tcp "no_expect_other_errors" { # ERROR: Check expects nothing
  host    = var.hsots # ERROR: Unsupported attribute
  port    = 80
  retries = -1 # ERROR: Invalid value for retries
}

tcp "self_typo" {
  host = "127.0.0.1"
  port = 80
  assert {
    condition = self.stauts == "open" # ERROR: Unsupported attribute
  }
}
