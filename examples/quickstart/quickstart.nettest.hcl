# Quickstart: `nettest demo` runs this suite against servers it starts on
# loopback, so it passes on any machine without a network. Point the
# variables at your own services to use it for real:
#
#   nettest test --var web_host=10.0.1.20 --var web_port=80 examples/quickstart

variable "web_host" {
  type        = string
  default     = "127.0.0.1"
  description = "Address of the service under test."
}

variable "web_port" {
  type        = number
  default     = 8080
  description = "Port the service listens on."
}

variable "closed_port" {
  type        = number
  default     = 1
  description = "A port on web_host that must refuse connections."
}

defaults {
  timeout = "2s"
}

tcp "web" {
  host        = var.web_host
  port        = var.web_port
  description = "The service accepts TCP connections."
  expect {
    open = true
  }
  assert {
    condition     = self.duration_ms < 1000
    error_message = "The TCP handshake took longer than a second."
  }
}

tcp "closed" {
  host        = var.web_host
  port        = var.closed_port
  description = "Nothing else listens: the port refuses (closed, not filtered)."
  expect {
    state = "closed"
  }
}

tcp "web_again" {
  # A reference makes a dependency: this runs after tcp.web, and is skipped
  # if tcp.web did not pass.
  host = tcp.web.host
  port = tcp.web.port
  expect {
    open = true
  }
}
