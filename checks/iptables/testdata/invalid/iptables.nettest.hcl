# The configuration errors of iptables blocks, found before anything runs.
# Each error marker names the diagnostic's summary and a part of its detail.

iptables "bad_table" {
  table = "nats" # ERROR: Invalid value for argument "table": "nats" is not one of "filter", "nat", "mangle", "raw", "security"
  chain = "INPUT"
  expect {
    present = true
  }
}

iptables "rule_with_append" {
  chain = "INPUT"
  rule  = "-A INPUT -p tcp --dport 22 -j ACCEPT" # ERROR: Invalid value for argument "rule": write the rule without -A and the chain
  expect {
    present = true
  }
}

iptables "rule_with_table" {
  chain = "INPUT"
  rule  = "-t nat -j ACCEPT" # ERROR: Invalid value for argument "rule": the table goes in the table argument
  expect {
    present = true
  }
}

iptables "unterminated_quote" {
  chain = "INPUT"
  rule  = "-m comment --comment 'open -j ACCEPT" # ERROR: Invalid value for argument "rule": unterminated single quote
  expect {
    present = true
  }
}

iptables "chain_with_blank" {
  chain = "INPUT -j ACCEPT" # ERROR: Invalid value for argument "chain": contains a blank or a quote
  expect {
    present = true
  }
}

iptables "both_forms" { # ERROR: Invalid iptables check: Give either rule, or protocol, from_port and to_port (a port forward), not both
  chain     = "PREROUTING"
  rule      = "-j ACCEPT"
  from_port = 80
  expect {
    present = true
  }
}

iptables "forward_icmp" {
  chain     = "PREROUTING"
  protocol  = "icmp" # ERROR: Invalid value for argument "protocol": "icmp" is not one of "tcp", "udp", "sctp"
  from_port = 80
  to_port   = 8080
  expect {
    present = true
  }
}

iptables "from_port_zero" {
  chain     = "PREROUTING"
  protocol  = "tcp"
  from_port = 0 # ERROR: Invalid value for argument "from_port": must be a whole number from 1 to 65535, got 0
  to_port   = 8080
  expect {
    present = true
  }
}

iptables "to_port_too_large" {
  chain     = "PREROUTING"
  protocol  = "tcp"
  from_port = 80
  to_port   = 70000 # ERROR: Invalid value for argument "to_port": must be a whole number from 1 to 65535, got 70000
  expect {
    present = true
  }
}

iptables "to_address_by_name" {
  chain      = "PREROUTING"
  protocol   = "tcp"
  from_port  = 80
  to_port    = 8080
  to_address = "localhost" # ERROR: Invalid value for argument "to_address": "localhost" is not an IP address
  expect {
    present = true
  }
}

iptables "policy_in_lower_case" {
  chain = "FORWARD"
  expect {
    policy = "drop" # ERROR: Invalid value for expectation "policy": "drop" is not one of "ACCEPT", "DROP"
  }
}
