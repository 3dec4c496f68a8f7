# Used by the CI end-to-end tests (ci_test.go): enough checks for a
# three-way split, dependent checks that must stay together, tags, and
# checks that fail so that annotations and summaries have something to say.
# The test passes a port that listens and one that does not.

variable "open_port" {
  type = number
}

variable "closed_port" {
  type = number
}

tcp "open" {
  for_each    = toset([for i in range(24) : "svc-${i}"])
  host        = "127.0.0.1"
  port        = var.open_port
  description = "service ${each.key} answers"
  tags        = ["smoke"]
  expect {
    open = true
  }
}

tcp "closed" {
  for_each = toset(["admin", "debug", "metrics"])
  host     = "127.0.0.1"
  port     = var.closed_port
  tags     = ["security"]
  expect {
    state = "closed"
  }
}

# Wrong on purpose: the port is open, the suite says it must be closed.
tcp "must_be_closed" {
  host        = "127.0.0.1"
  port        = var.open_port
  description = "the database port stays closed to the web tier"
  tags        = ["security"]
  expect {
    state = "closed"
  }
}

tcp "chain_first" {
  host = "127.0.0.1"
  port = var.open_port
  expect {
    open = true
  }
}

tcp "chain_second" {
  host = tcp.chain_first.host
  port = tcp.chain_first.port
  expect {
    open = true
  }
}

tcp "chain_third" {
  host       = "127.0.0.1"
  port       = var.closed_port
  depends_on = [tcp.chain_second]
  expect {
    open = true # fails: nothing listens
  }
}
