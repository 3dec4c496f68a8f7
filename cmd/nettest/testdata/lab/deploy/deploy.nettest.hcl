# What a deploy of the lab's web server must look like from a client in
# front of it: run by TestLabDeploy inside the client namespace, with the
# lab's addresses passed as --var. The checks named *_wrong and *_broken
# describe a deploy that did not happen, so the test can assert their diffs.

variable "server" {
  type        = string
  description = "Address of the web server."
}

variable "dns_server" {
  type        = string
  description = "Address of the lab's DNS server (dnsmasq)."
}

variable "client_if" {
  type        = string
  description = "The client's interface towards the server."
}

variable "server_mac" {
  type        = string
  description = "MAC address of the server's interface."
}

defaults {
  timeout = "2s"
}

ping "server" {
  host = var.server
  expect {
    reachable        = true
    max_loss_percent = 0
  }
}

tcp "app" {
  host = var.server
  port = 8080
  expect {
    open = true
  }
}

tcp "web" {
  description = "Port 80 is open through the REDIRECT to 8080."
  host        = var.server
  port        = 80
  expect {
    open = true
  }
}

# Firewalled ports: a DROP and a REJECT with icmp-host-prohibited both look
# filtered; a default REJECT (port unreachable) looks closed.
tcp "postgres" {
  host    = var.server
  port    = 5432
  timeout = "1s"
  expect {
    state = "filtered"
  }
}

tcp "redis" {
  host = var.server
  port = 6379
  expect {
    state = "filtered"
  }
}

tcp "mysql" {
  host = var.server
  port = 3306
  expect {
    state = "closed"
  }
}

http "health" {
  url = "http://${var.server}/healthz"
  expect {
    status        = 200
    body_contains = "ok"
  }
}

http "old" {
  url = "http://${var.server}/old"
  expect {
    status  = 301
    headers = { location = "/new" }
  }
}

http "old_followed" {
  url              = "http://${var.server}/old"
  follow_redirects = true
  expect {
    status        = 200
    body_contains = "new"
  }
}

# Through the system resolver: the namespace's /etc/resolv.conf names the
# lab's dnsmasq.
dns "api" {
  name = "api.lab.test"
  expect {
    rcode   = "NOERROR"
    answers = [var.server]
  }
}

dns "api_direct" {
  name   = "api.lab.test"
  server = var.dns_server
  expect {
    answers = [var.server]
  }
}

dns "mail" {
  name   = "mail.lab.test"
  type   = "MX"
  server = var.dns_server
  expect {
    answers = ["10 mx.lab.test."]
  }
}

dns "retired" {
  name   = "old.lab.test"
  server = var.dns_server
  expect {
    rcode = "NXDOMAIN"
  }
}

http "api_by_dns" {
  url = "http://${dns.api.answers[0]}:8080/healthz"
  expect {
    status = 200
  }
}

route "server" {
  destination = var.server
  expect {
    reachable = true
    gateway   = ""
    interface = var.client_if
    prefix    = "198.18.1.0/24"
  }
}

neighbor "server" {
  address = var.server
  resolve = true
  expect {
    present   = true
    mac       = var.server_mac
    interface = var.client_if
  }
}

traceroute "server" {
  host    = var.server
  queries = 1
  expect {
    reached  = true
    max_hops = 1
  }
}

# What a broken deploy looks like: each of these fails with a diff.

tcp "postgres_wrong" {
  host    = var.server
  port    = 5432
  timeout = "1s"
  expect {
    open = true
  }
}

http "old_wrong" {
  url = "http://${var.server}/old"
  expect {
    status = 200
  }
}

dns "api_wrong" {
  name   = "api.lab.test"
  server = var.dns_server
  expect {
    answers = ["198.18.1.99"]
  }
}

http "api_wrong_health" {
  url = "http://${dns.api_wrong.answers[0]}:8080/healthz"
  expect {
    status = 200
  }
}

# A name the lab's DNS does not know: the check cannot be carried out.
tcp "nope" {
  host = "nope.lab.test"
  port = 80
  expect {
    open = true
  }
}
