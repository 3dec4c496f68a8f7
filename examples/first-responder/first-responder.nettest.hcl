# First responder: the checkout API is paging and it is 3am. Run this on the
# storefront host whose nginx proxies to checkout, before reading any logs.
# It walks the path from this host to the service one layer at a time, so
# the first red line says where to look: the name, the route, the gateway,
# the path through the NAT gateway, the host, the port, the application, or
# this host's own limits.
#
#   nettest test --var checkout_host=10.20.0.15 --var gateway=10.0.0.1 \
#     --var nat_gateway=10.0.0.1 examples/first-responder
#
# Everything it does is read-only, and no check needs more than a few
# seconds. ping and traceroute need root or CAP_NET_RAW (see docs/ping.md).

variable "checkout_name" {
  type        = string
  default     = "localhost"
  description = "DNS name clients use for the checkout API."
}

variable "checkout_host" {
  type        = string
  default     = "127.0.0.1"
  description = "Address the checkout API should be at: what the name must resolve to."
}

variable "checkout_port" {
  type        = number
  default     = 8080
  description = "Port the checkout API listens on."
}

variable "health_path" {
  type        = string
  default     = "/healthz"
  description = "Path that answers 200 and \"ok\" when checkout is healthy."
}

variable "gateway" {
  type        = string
  default     = "127.0.0.1"
  description = "This host's next hop towards checkout (its default gateway)."
}

variable "nat_gateway" {
  type        = string
  default     = "127.0.0.1"
  description = "The NAT gateway traffic to checkout must pass, as it answers traceroute (its address on the side facing this host)."
}

variable "max_hops" {
  type        = number
  default     = 8
  description = "How many hops away checkout may be; a longer path means a routing change."
}

defaults {
  timeout = "3s"
}

# "Is it DNS?" Does the name still point at checkout? A stale record after
# a failover, or a typo in the zone, sends every client somewhere else while
# the service itself is fine.
dns "checkout" {
  name = var.checkout_name
  expect {
    rcode    = "NOERROR"
    contains = [var.checkout_host]
  }
}

# "Does this host still send checkout traffic the way it should?" Asks the
# kernel which route it picks: a route pushed by a VPN client or a bad
# deploy of the network config shows here as another gateway, or none.
route "checkout" {
  destination = var.checkout_host
  expect {
    reachable = true
    gateway   = var.gateway
  }
}

# "Is the gateway alive on the LAN?" Resolves its MAC address (ARP). No
# entry means the gateway, or the link to it, is down: nothing beyond it
# can work, and the checks below will say the same thing louder.
neighbor "gateway" {
  address = var.gateway
  resolve = true
  expect {
    present = true
  }
}

# "Where does the path break?" The packets must leave through the NAT
# gateway and reach checkout within max_hops. When checkout is not
# reached, the last hop that answered is where to look next.
traceroute "checkout" {
  host = var.checkout_host
  expect {
    reached  = true
    max_hops = var.max_hops
    via      = [var.nat_gateway]
  }
}

# "Is the host up?" Silence with a working path means the host or its
# firewall. Loss without silence means a sick link: check the interfaces.
ping "checkout" {
  host    = var.checkout_host
  packets = 5
  expect {
    reachable        = true
    max_loss_percent = 20
  }
}

# "Is anything listening?" closed: the process is down or listens on
# another port. filtered: a firewall or security group drops the traffic.
tcp "checkout" {
  host = var.checkout_host
  port = var.checkout_port
  expect {
    state = "open"
  }
}

# "Is the application healthy?" The port can be open while the application
# behind it answers 502 or hangs; the diff shows the status and the body.
http "health" {
  url = "http://${var.checkout_host}:${var.checkout_port}${var.health_path}"
  expect {
    status        = 200
    body_contains = "ok"
  }
  assert {
    condition     = self.duration_ms < 1000
    error_message = "checkout answers its health check, but takes over a second: look at its dependencies (database, payment provider)."
  }
}

# "Does it work the way clients call it?" By name, as the storefront does.
# Skipped, naming the reason, when the name is already known to be wrong.
http "health_by_name" {
  url        = "http://${var.checkout_name}:${var.checkout_port}${var.health_path}"
  depends_on = [dns.checkout]
  expect {
    status = 200
  }
}

# "Is it this host?" When everything above passes but requests still fail,
# the storefront host itself may have run out of something.

# The kernel's limit on open files for all processes together. nginx needs
# two per proxied request (client and upstream), so it must be far above
# nginx's own limit below.
sysctl "file_max" {
  key = "fs.file-max"
  expect {
    min = 262144
  }
}

# The listen backlog: below a few thousand, a burst of connections is
# dropped before nginx ever accepts it, which looks like random timeouts.
sysctl "somaxconn" {
  key = "net.core.somaxconn"
  expect {
    min = 4096
  }
}

# Ephemeral ports for nginx's upstream connections to checkout. A narrow
# range runs out under load ("Cannot assign requested address" in nginx's
# error log); a range that covers a service port lets an outgoing
# connection take that port before the service starts.
sysctl "ephemeral_ports" {
  key = "net.ipv4.ip_local_port_range"
  assert {
    condition     = self.numbers[1] - self.numbers[0] + 1 >= 28000
    error_message = "fewer than 28000 ephemeral ports: nginx's upstream connections to checkout can run out of source ports under load."
  }
  assert {
    condition     = var.checkout_port < self.numbers[0] || var.checkout_port > self.numbers[1]
    error_message = "the ephemeral port range covers the checkout port: an outgoing connection can take it."
  }
}

# nginx's own limit on open files, which a unit file or a container
# runtime often leaves at 1024. Too low, and nginx logs "Too many open
# files" and refuses connections at exactly the busiest moment.
ulimit "nginx" {
  process = "nginx"
  expect {
    nofile_min = 65535
  }
}
