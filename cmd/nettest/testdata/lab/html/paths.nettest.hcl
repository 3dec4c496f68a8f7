# The suite of the HTML report's lab test (html_lab_test.go): a client two
# routers away from a server, as in a review after a firewall change. Some
# checks fail on purpose, so that the page has failures, a path that misses
# a router, and checks skipped because what they depend on failed.

variable "server" {
  type        = string
  description = "The server, behind r1 (198.18.0.2) and r2 (198.18.0.6)."
}

tcp "web" {
  host = var.server
  port = 80
  tags = ["web"]
  expect {
    open = true
  }
}

tcp "postgres" {
  host        = var.server
  port        = 5432
  timeout     = "300ms"
  tags        = ["db"]
  description = "The database's security group drops everything from the client network."
  expect {
    state = "filtered"
  }
}

tcp "mysql" {
  host = var.server
  port = 3306
  tags = ["db"]
  expect {
    state = "closed"
  }
}

tcp "postgres_open" {
  host        = var.server
  port        = 5432
  timeout     = "300ms"
  tags        = ["db"]
  description = "The application servers need the database (they are not the client: this one fails)."
  expect {
    open = true
  }
}

http "health" {
  url  = "http://${var.server}/healthz"
  tags = ["web"]
  expect {
    status        = 200
    body_contains = "ok"
  }
}

http "admin" {
  url  = "http://${var.server}/admin"
  tags = ["web"]
  expect {
    status = 200
  }
}

dns "www" {
  name   = "www.lab.test"
  server = "${var.server}:53"
  expect {
    rcode   = "NOERROR"
    answers = [var.server]
  }
}

http "www_by_dns" {
  url = "http://${dns.www.answers[0]}/healthz"
  expect {
    status = 200
  }
}

dns "api" {
  name   = "api.lab.test"
  server = "${var.server}:53"
  expect {
    answers = ["198.18.0.99"]
  }
}

http "api_by_dns" {
  url = "http://${dns.api.answers[0]}/healthz"
  expect {
    status = 200
  }
}

tcp "api_tls" {
  host       = dns.api.answers[0]
  port       = 443
  depends_on = [http.api_by_dns]
  expect {
    open = true
  }
}

traceroute "server" {
  host    = var.server
  queries = 1
  expect {
    reached = true
    via     = ["198.18.0.2", "198.18.0.6"]
  }
}

traceroute "via_firewall" {
  host        = "198.18.1.1"
  queries     = 1
  max_hops    = 4
  hop_timeout = "300ms"
  description = "Traffic to the backup network must leave through the firewall 198.18.9.1."
  expect {
    reached = true
    via     = ["198.18.0.2", "198.18.9.1"]
  }
}

tcp "nope" {
  host = "nope.lab.test"
  port = 80
  expect {
    open = true
  }
}

tcp "legacy" {
  host = var.server
  port = 8081
  skip = true
  expect {
    open = true
  }
}

# The same ports seen from the second router, where the server's own
# firewall applies too: a second row of the reachability matrix.

variable "r2_netns" {
  type        = string
  description = "The network namespace of r2."
}

vantage "r2" {
  description = "The router in front of the server."
  netns       = var.r2_netns
}

tcp "web_from_r2" {
  from = vantage.r2
  host = var.server
  port = 80
  tags = ["web"]
  expect {
    open = true
  }
}

tcp "mysql_from_r2" {
  from = vantage.r2
  host = var.server
  port = 3306
  tags = ["db"]
  expect {
    open = true
  }
}
