# The configuration errors of ping blocks, found before anything runs, each
# marked on the line it points at with its summary and a part of its detail.

ping "no_host" { # ERROR: Missing required argument: "host" is required
  packets = 3
  expect {
    reachable = true
  }
}

ping "empty_host" {
  host = "" # ERROR: Invalid value for argument "host": must not be empty: give a host name or an IP address
  expect {
    reachable = true
  }
}

ping "count_is_not_an_argument" {
  host  = "127.0.0.1"
  count = 3 # ERROR: Unsupported argument: count
  expect {
    reachable = true
  }
}

ping "zero_packets" {
  host    = "127.0.0.1"
  packets = 0 # ERROR: Invalid value for argument "packets": must be a whole number from 1 to 65535, got 0
  expect {
    reachable = true
  }
}

ping "fractional_packets" {
  host    = "127.0.0.1"
  packets = 1.5 # ERROR: Invalid value for argument "packets": must be a whole number from 1 to 65535, got 1.5
  expect {
    reachable = true
  }
}

ping "interval_without_unit" {
  host     = "127.0.0.1"
  interval = "200" # ERROR: Invalid value for argument "interval": "200" is not a duration
  expect {
    reachable = true
  }
}

ping "interval_too_short" {
  host     = "127.0.0.1"
  interval = "100us" # ERROR: Invalid value for argument "interval": must be at least 1ms, got "100us"
  expect {
    reachable = true
  }
}

ping "negative_size" {
  host = "127.0.0.1"
  size = -1 # ERROR: Invalid value for argument "size": must be a whole number from 0 to 65507, got -1
  expect {
    reachable = true
  }
}

ping "oversized_payload" {
  host = "127.0.0.1"
  size = 65508 # ERROR: Invalid value for argument "size": must be a whole number from 0 to 65507, got 65508
  expect {
    reachable = true
  }
}

ping "ttl_0" {
  host = "127.0.0.1"
  ttl  = 0 # ERROR: Invalid value for argument "ttl": must be a whole number from 1 to 255, got 0
  expect {
    reachable = true
  }
}

ping "ttl_256" {
  host = "127.0.0.1"
  ttl  = 256 # ERROR: Invalid value for argument "ttl": must be a whole number from 1 to 255, got 256
  expect {
    reachable = true
  }
}

ping "family_ipv6" {
  host   = "127.0.0.1"
  family = "ipv6" # ERROR: Invalid value for argument "family": "ipv6" is not one of "ip4", "ip6"
  expect {
    reachable = true
  }
}

ping "loss_above_100" {
  host = "127.0.0.1"
  expect { max_loss_percent = 101 } # ERROR: Invalid value for expectation "max_loss_percent": must be a percentage from 0 to 100, got 101
}

ping "negative_rtt_bound" {
  host = "127.0.0.1"
  expect { max_avg_rtt_ms = -1 } # ERROR: Invalid value for expectation "max_avg_rtt_ms": must not be negative, got -1
}

ping "unknown_expectation" {
  host = "127.0.0.1"
  expect { open = true } # ERROR: Unsupported argument: open
}
