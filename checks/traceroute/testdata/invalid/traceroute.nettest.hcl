# The configuration errors of traceroute blocks, found before anything runs, each
# marked on the line it points at with its summary and a part of its detail.

traceroute "max_hops_too_large" {
  host     = "127.0.0.1"
  max_hops = 65 # ERROR: Invalid value for argument "max_hops": from 1 to 64
  expect {
    reached = true
  }
}

traceroute "max_hops_zero" {
  host     = "127.0.0.1"
  max_hops = 0 # ERROR: Invalid value for argument "max_hops": from 1 to 64
  expect {
    reached = true
  }
}

traceroute "protocol" {
  host     = "127.0.0.1"
  protocol = "sctp" # ERROR: Invalid value for argument "protocol": "sctp" is not one of "icmp", "udp", "tcp"
  expect {
    reached = true
  }
}

traceroute "hop_timeout_not_a_duration" {
  host        = "127.0.0.1"
  hop_timeout = "1" # ERROR: Invalid value for argument "hop_timeout": is not a duration
  expect {
    reached = true
  }
}

traceroute "hop_timeout_zero" {
  host        = "127.0.0.1"
  hop_timeout = "0s" # ERROR: Invalid value for argument "hop_timeout": longer than zero
  expect {
    reached = true
  }
}

traceroute "queries" {
  host    = "127.0.0.1"
  queries = 11 # ERROR: Invalid value for argument "queries": from 1 to 10
  expect {
    reached = true
  }
}

traceroute "port" {
  host = "127.0.0.1"
  port = 70000 # ERROR: Invalid value for argument "port": from 1 to 65535
  expect {
    reached = true
  }
}

traceroute "via_a_name" {
  host = "127.0.0.1"
  expect { via = ["router.example"] } # ERROR: Invalid value for expectation "via": "router.example" is not an IP address
}

traceroute "max_hops_expectation_not_a_number" {
  host = "127.0.0.1"
  expect { max_hops = "many" } # ERROR: Incorrect attribute value type: a number is required
}
