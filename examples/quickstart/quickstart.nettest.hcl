# Quickstart: `nettest demo` runs this suite against a web server and a DNS
# server it starts on loopback, so it passes on any machine without a network. Point the
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

variable "dns_server" {
  type        = string
  default     = "127.0.0.1:53"
  description = "A DNS server that knows the api.demo.nettest.test zone (nettest demo starts one)."
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

http "health" {
  url         = "http://${var.web_host}:${var.web_port}/healthz"
  description = "The health endpoint answers 200 ok."
  expect {
    status        = 200
    body_contains = "ok"
  }
}

http "root_redirects" {
  # Redirects are not followed unless follow_redirects = true: the status is
  # the one of the URL as written, like curl -I.
  url = "http://${var.web_host}:${var.web_port}/"
  expect {
    status  = 302
    headers = { location = "/healthz" }
  }
}

dns "api" {
  name   = "api.demo.nettest.test"
  type   = "A"
  server = var.dns_server
  expect {
    rcode   = "NOERROR"
    answers = ["127.0.0.1"]
  }
}

dns "no_such_name" {
  name   = "nope.demo.nettest.test"
  server = var.dns_server
  expect {
    rcode = "NXDOMAIN"
  }
}

http "api_by_dns" {
  # Uses the address dns.api found: runs after it, skipped if it failed.
  url = "http://${dns.api.answers[0]}:${var.web_port}/healthz"
  expect {
    status = 200
  }
  assert {
    condition     = self.duration_ms < 1000
    error_message = "The API took longer than a second to answer."
  }
}
