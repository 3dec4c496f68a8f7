# A suite that uses every part of the language the loader knows.

variable "web_host" {
  type        = string
  default     = "127.0.0.1"
  description = "Address of the web tier."
}

variable "token" {
  type      = string
  default   = "s3cret-token"
  sensitive = true
}

variable "ports" {
  type    = map(number)
  default = { http = 80, https = 443 }
}

locals {
  public_ports = [80, 443]
  net          = "198.18.0.0/24"
  gateway      = cidrhost(local.net, 1)
  label        = format("%s-%d", "web", length(local.public_ports))
}

defaults {
  timeout        = "3s"
  retries        = 1
  retry_interval = "100ms"
}

tcp "public" {
  for_each    = toset(local.public_ports)
  host        = var.web_host
  port        = each.value
  description = "public port ${each.key}"
  tags        = ["public", local.label]
  expect {
    open = true
  }
}

tcp "named" {
  for_each = var.ports
  host     = var.web_host
  port     = each.value
  expect {
    state = "open"
  }
}

tcp "ssh_blocked" {
  host    = local.gateway
  port    = 22
  timeout = "1s"
  retries = 0
  skip    = false
  expect {
    open = false
  }
}

tcp "after" {
  host       = tcp.public["80"].host
  port       = tcp.named["https"].port
  depends_on = [tcp.ssh_blocked]
  expect {
    open = try(tcp.public["80"].open, true)
  }
  assert {
    condition     = self.duration_ms < 500 && can(regex("^127", self.address))
    error_message = "too slow for ${var.token}"
  }
}
