# Reachability after a network change: the gateway and the DNS servers answer
# ping quickly and without loss, the application hosts answer over IPv4 and
# IPv6, and the database network stays invisible from where the run happens.
#
#   sudo nettest test --var=gateway=10.0.0.1 examples/ping
#
# Sending ICMP needs root, CAP_NET_RAW or a ping_group_range that includes
# your group: see docs/ping.md.

variable "gateway" {
  type        = string
  default     = "192.0.2.1"
  description = "the default gateway of this subnet"
}

variable "dns_servers" {
  type    = list(string)
  default = ["192.0.2.53", "192.0.2.54"]
}

variable "app_host" {
  type        = string
  default     = "app.example.com"
  description = "a name with both A and AAAA records"
}

variable "database" {
  type        = string
  default     = "198.51.100.20"
  description = "must not be reachable from this network"
}

defaults {
  timeout = "3s"
}

# The gateway answers every request, fast: it is one hop away.
ping "gateway" {
  description = "the default gateway answers without loss"
  host        = var.gateway
  packets     = 5
  interval    = "100ms"
  expect {
    reachable        = true
    max_loss_percent = 0
    max_avg_rtt_ms   = 5
    max_rtt_ms       = 20
  }
}

# Each DNS server answers; one lost packet in five is tolerated.
ping "dns" {
  for_each = toset(var.dns_servers)
  host     = each.value
  packets  = 5
  expect {
    reachable        = true
    max_loss_percent = 20
    max_avg_rtt_ms   = 30
  }
}

# The application host over both address families.
ping "app_v4" {
  host   = var.app_host
  family = "ip4"
  expect {
    reachable = true
  }
}

ping "app_v6" {
  host   = var.app_host
  family = "ip6"
  expect {
    reachable = true
  }
}

# Large packets: an MTU problem on a tunnel or VPN path shows up as loss of
# large packets while small ones pass.
ping "app_large_packets" {
  host = var.app_host
  size = 1400
  expect {
    max_loss_percent = 0
  }
}

# Security: the database network must not answer from here. No reply within
# the timeout is a pass; keep the timeout short, silence takes all of it.
ping "database_hidden" {
  description = "the database is not reachable from the office network"
  host        = var.database
  packets     = 2
  timeout     = "1s"
  expect {
    reachable = false
  }
}

# A custom condition on the result: jitter stays below 5 ms.
ping "gateway_jitter" {
  host     = var.gateway
  packets  = 10
  interval = "50ms"
  assert {
    condition     = self.received > 0 && self.rtt_stddev_ms < 5
    error_message = "the gateway's round-trip times vary by more than 5 ms"
  }
}
