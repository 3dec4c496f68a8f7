# Port forward: web traffic that arrives on port 80 is redirected by the
# firewall to a service listening on port 8080, installed with
#
#   iptables -t nat -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080
#
# The forward is proven twice: the rule is there (read on the machine that
# holds it), and a request through it is answered (sent from a client, since
# the machine's own requests do not pass through PREROUTING). Run the halves
# where each one can see what it checks:
#
#   # on the gateway, as root (reading iptables needs CAP_NET_ADMIN; seeing
#   # which process holds a socket needs root too):
#   sudo nettest test --run '^(iptables|listen)' examples/port-forward
#
#   # from a client in front of it:
#   nettest test --run '^http' --var web_host=203.0.113.10 examples/port-forward

variable "web_host" {
  type        = string
  default     = "192.0.2.10"
  description = "Address clients use to reach the forwarded port (the gateway's public address)."
}

variable "public_port" {
  type        = number
  default     = 80
  description = "Port clients connect to."
}

variable "service_port" {
  type        = number
  default     = 8080
  description = "Port the service listens on, behind the forward."
}

variable "service_process" {
  type        = string
  default     = "nginx"
  description = "Command name of the service behind the forward, as ps shows it."
}

variable "health_path" {
  type        = string
  default     = "/"
  description = "Path that answers 200 when the service is up."
}

defaults {
  timeout = "3s"
}

# The rule exactly as the firewall script writes it. iptables lists it as
# "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080"; either spelling
# matches, and iptables -C settles the ones nettest cannot compare itself.
iptables "redirect_rule" {
  description = "The REDIRECT from the firewall script is installed."
  table       = "nat"
  chain       = "PREROUTING"
  rule        = "-p tcp --dport ${var.public_port} -j REDIRECT --to-ports ${var.service_port}"
  expect {
    present = true
  }
  assert {
    condition     = length(self.rules) < 50
    error_message = "The nat PREROUTING chain has grown past 50 rules; is the firewall script appending on every run?"
  }
}

# The same forward, whatever rule provides it: a REDIRECT or a DNAT to this
# machine, a single port, a range or a multiport list.
iptables "forward" {
  description = "Something forwards port ${var.public_port} to ${var.service_port}."
  chain       = "PREROUTING"
  protocol    = "tcp"
  from_port   = var.public_port
  to_port     = var.service_port
  expect {
    present = true
  }
}

# The forward is for clients only: processes on the gateway itself reach
# the service on its own port, and port 80 stays free for them.
iptables "no_local_forward" {
  description = "Local processes are not redirected to the service port."
  chain       = "OUTPUT"
  protocol    = "tcp"
  from_port   = var.public_port
  to_port     = var.service_port
  expect {
    present = false
  }
}

# The forward leads somewhere: the service listens on its port, on an
# address the redirected connections reach (REDIRECT sends them to the
# address of the interface they arrived on, so a socket on 127.0.0.1 alone
# would not do), and it is the service, not a leftover test server.
listen "service" {
  description = "${var.service_process} listens on port ${var.service_port} for the forwarded connections."
  port        = var.service_port
  address     = "0.0.0.0"
  expect {
    listening = true
    process   = var.service_process
  }
}

http "through_forward" {
  description = "A request to port ${var.public_port} reaches the service."
  url         = "http://${var.web_host}:${var.public_port}${var.health_path}"
  expect {
    status = 200
  }
}
