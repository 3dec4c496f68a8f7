# Security group review: run after every firewall or security-group change,
# from a host that sits where the traffic comes from (a bastion, a CI runner
# in the same VPC). The public tier must answer on its public ports and
# nowhere else; the database must not be reachable from here at all.
#
#   nettest test --var web_host=10.0.1.20 --var db_host=10.0.2.30 \
#     --junit=security-group.xml examples/security-group

variable "web_host" {
  type        = string
  default     = "127.0.0.1"
  description = "Address of the public web tier, as seen from this host."
}

variable "db_host" {
  type        = string
  default     = "127.0.0.1"
  description = "Address of the database, which must not be reachable from here."
}

variable "public_ports" {
  type        = list(number)
  default     = [80, 443]
  description = "Ports the web tier must accept connections on."
}

variable "admin_ports" {
  type        = list(number)
  default     = [22, 3389, 5432, 6379, 9200]
  description = "Ports no one outside may reach: SSH, RDP, databases, caches."
}

defaults {
  # A security group that drops sends nothing back: only the timeout can
  # tell a dropped port from a slow one, so keep it short but not tight.
  timeout = "2s"
  retries = 1
}

tcp "web_public" {
  for_each    = toset(var.public_ports)
  host        = var.web_host
  port        = each.value
  description = "The web tier accepts connections on port ${each.key}."
  tags        = ["public"]
  expect {
    open = true
  }
}

tcp "web_admin_closed" {
  for_each    = toset(var.admin_ports)
  host        = var.web_host
  port        = each.value
  description = "Admin port ${each.key} must not be reachable on the web tier."
  tags        = ["must-stay-closed"]
  expect {
    open = false
  }
}

tcp "database_dropped" {
  host        = var.db_host
  port        = 5432
  description = "The database's security group drops traffic from this network (no reset: filtered)."
  expect {
    state = "filtered"
  }
}
