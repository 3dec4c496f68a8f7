# DNS after a deploy: the records the public zone must publish, asked of the
# authoritative server directly so that caches cannot hide a mistake.
#
#   nettest test --var=dns_server=ns1.example.com examples/dns

variable "dns_server" {
  type        = string
  default     = "192.0.2.53"
  description = "the authoritative server of the zone, host or host:port"
}

variable "zone" {
  type    = string
  default = "example.com"
}

defaults {
  timeout = "3s"
  retries = 1
}

# The web tier's addresses, in any order (the server rotates them).
dns "www" {
  description = "www resolves to both load balancers"
  name        = "www.${var.zone}"
  type        = "A"
  server      = var.dns_server
  expect {
    rcode         = "NOERROR"
    answers       = ["192.0.2.10", "192.0.2.11"]
    authoritative = true
    min_ttl       = 60
  }
}

# Mail goes to the primary MX; a backup may be listed too.
dns "mx" {
  name   = var.zone
  type   = "MX"
  server = var.dns_server
  expect {
    rcode    = "NOERROR"
    contains = ["10 mail.${var.zone}."]
  }
}

# The SPF policy, compared as one string however the zone splits it.
dns "spf" {
  name   = var.zone
  type   = "TXT"
  server = var.dns_server
  expect {
    contains = ["v=spf1 mx -all"]
  }
}

# Names that must not exist: a staging host that was retired, and one that
# was never meant to be public.
dns "must_not_exist" {
  for_each = toset(["staging", "admin-internal"])
  name     = "${each.key}.${var.zone}"
  server   = var.dns_server
  expect {
    rcode   = "NXDOMAIN"
    answers = []
  }
}

# The zone's SOA, checked with an assert over the result.
dns "soa" {
  name     = var.zone
  type     = "SOA"
  server   = var.dns_server
  protocol = "tcp"
  expect {
    max_answers = 1
  }
  assert {
    condition     = split(" ", self.answers[0])[0] == "ns1.${var.zone}."
    error_message = "the SOA's primary server is not ns1"
  }
}
