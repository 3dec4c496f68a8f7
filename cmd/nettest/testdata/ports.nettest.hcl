# Used by the end-to-end tests: the test passes the ports it opened.

variable "open_port" {
  type = number
}

variable "closed_port" {
  type = number
}

tcp "open" {
  host = "127.0.0.1"
  port = var.open_port
  expect {
    open = true
  }
}

tcp "closed" {
  host = "127.0.0.1"
  port = var.closed_port
  expect {
    state = "closed"
  }
}

tcp "after_open" {
  host = tcp.open.host
  port = tcp.open.port
  expect {
    open = true
  }
}
