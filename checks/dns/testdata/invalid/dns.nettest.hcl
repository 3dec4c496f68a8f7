# The configuration errors of dns blocks, found before anything runs, each
# marked on the line it points at with its summary and a part of its detail.

dns "any" {
  name = "example.test"
  type = "ANY" # ERROR: Invalid value for argument "type": "ANY" is not a supported record type
  expect {
    rcode = "NOERROR"
  }
}

dns "port_zero" {
  name   = "example.test"
  server = "192.0.2.53:0" # ERROR: Invalid value for argument "server": port of "192.0.2.53:0" must be a whole number from 1 to 65535
  expect {
    rcode = "NOERROR"
  }
}

dns "server_url" {
  name   = "example.test"
  server = "udp://192.0.2.53" # ERROR: Invalid value for argument "server": without a scheme or path
  expect {
    rcode = "NOERROR"
  }
}

dns "tls" {
  name     = "example.test"
  protocol = "tls" # ERROR: Invalid value for argument "protocol": "tls" is not one of "udp", "tcp"
  expect {
    rcode = "NOERROR"
  }
}

dns "blank_in_name" {
  name = "a b" # ERROR: Invalid value for argument "name": "a b" is not a domain name
  expect {
    rcode = "NOERROR"
  }
}

dns "no_name" { # ERROR: Missing required argument: "name" is required
  type = "A"
  expect {
    rcode = "NOERROR"
  }
}

dns "unknown_rcode" {
  name = "example.test"
  expect {
    rcode = "NOTFOUND" # ERROR: Invalid value for expectation "rcode": "NOTFOUND" is not a DNS response code
  }
}
