# The firewall of the lab's web server, checked where the rules live: run
# by TestLabDeploy inside the server namespace, as root.

iptables "redirect_rule" {
  table = "nat"
  chain = "PREROUTING"
  rule  = "-p tcp --dport 80 -j REDIRECT --to-ports 8080"
  expect {
    present = true
  }
}

iptables "forward" {
  chain     = "PREROUTING"
  protocol  = "tcp"
  from_port = 80
  to_port   = 8080
  expect {
    present = true
  }
}

iptables "redis_rejected" {
  chain = "INPUT"
  rule  = "-p tcp --dport 6379 -j REJECT --reject-with icmp-host-prohibited"
  expect {
    present = true
  }
}

iptables "mysql_rejected" {
  chain = "INPUT"
  rule  = "-p tcp --dport 3306 -j REJECT --reject-with icmp-port-unreachable"
  expect {
    present = true
  }
}

iptables "ssh_dropped" {
  description = "Expected by the runbook but never installed: fails."
  chain       = "INPUT"
  rule        = "-p tcp --dport 22 -j DROP"
  expect {
    present = true
  }
}
