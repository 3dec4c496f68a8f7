# The web tier after a deploy: the health endpoint answers, plain http sends
# visitors to https, the https site sends the security headers, and its
# certificate does not expire within two weeks.
#
# The defaults point at 127.0.0.1 so that `nettest validate` passes anywhere;
# point them at your own load balancer or web server:
#
#   nettest test --var web_host=10.0.1.20 --var site_name=www.example.com examples/http

variable "web_host" {
  type        = string
  default     = "127.0.0.1"
  description = "Address of the web server or load balancer under test."
}

variable "site_name" {
  type        = string
  default     = "www.example.com"
  description = "The site's public name: sent as Host header and TLS server name."
}

variable "health_port" {
  type        = number
  default     = 8080
  description = "Port of the application's health endpoint, behind the load balancer."
}

defaults {
  timeout = "5s"
}

# The application is up and says so.
http "health" {
  url         = "http://${var.web_host}:${var.health_port}/healthz"
  description = "The health endpoint answers 200 with status ok, quickly."
  expect {
    status        = 200
    body_matches  = "\"status\"\\s*:\\s*\"ok\""
    headers_match = { content-type = "^application/json" }
  }
  assert {
    condition     = self.duration_ms < 500
    error_message = "The health endpoint took longer than 500 ms to answer."
  }
}

# Plain http redirects to https, permanently, to the same name. Redirects are
# not followed: the status is the one of this URL, as with curl -I.
http "redirect_to_https" {
  url         = "http://${var.web_host}/"
  host_header = var.site_name
  expect {
    status  = [301, 308]
    headers = { location = "https://${var.site_name}/" }
  }
}

# The https site sends the headers a security review asks for, and does not
# advertise its software.
http "security_headers" {
  url         = "https://${var.web_host}/"
  host_header = var.site_name # also the TLS server name the certificate is checked against
  expect {
    status = 200
    headers_match = {
      strict-transport-security = "max-age=\\d{7,}" # at least 1000000 s, about 12 days
      x-content-type-options    = "^nosniff$"
      x-frame-options           = "^(DENY|SAMEORIGIN)$"
      content-security-policy   = "" # present, whatever it says
    }
    headers_absent = ["x-powered-by"]
  }
  assert {
    condition     = self.tls_version == "TLS1.3" || self.tls_version == "TLS1.2"
    error_message = "The site negotiated a TLS version older than 1.2."
  }
}

# The certificate is renewed in time. HEAD with body_limit = 0: only the
# handshake and the headers matter here.
http "certificate" {
  url         = "https://${var.web_host}/"
  host_header = var.site_name
  method      = "HEAD"
  body_limit  = 0
  expect {
    cert_days_left_min = 14
  }
  assert {
    condition     = contains(self.cert_dns_names, var.site_name)
    error_message = "The certificate served does not name the site."
  }
}
