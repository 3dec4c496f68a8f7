# The configuration errors of listen blocks, found before anything runs, each
# marked on the line it points at with its summary and a part of its detail.

listen "port_zero" {
  port = 0 # ERROR: Invalid value for argument "port": must be a whole number from 1 to 65535, got 0
  expect {
    listening = true
  }
}

listen "sctp" {
  port     = 80
  protocol = "sctp" # ERROR: Invalid value for argument "protocol": "sctp" is not one of "tcp", "udp"
  expect {
    listening = true
  }
}

listen "address_by_name" {
  port    = 80
  address = "localhost" # ERROR: Invalid value for argument "address": Must be an IP address such as "127.0.0.1" or "::", got "localhost"
  expect {
    listening = true
  }
}

listen "no_port" { # ERROR: Missing required argument: "port" is required
  protocol = "tcp"
  expect {
    listening = true
  }
}
