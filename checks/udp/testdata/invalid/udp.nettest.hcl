# The configuration errors of udp blocks, found before anything runs, each
# marked on the line it points at with its summary and a part of its detail.

udp "payload_and_payload_hex" { # ERROR: Invalid udp check: Set payload or payload_hex, not both
  host        = "127.0.0.1"
  port        = 53
  payload     = "a"
  payload_hex = "00"
  expect {
    state = "open"
  }
}

udp "bad_hex" {
  host        = "127.0.0.1"
  port        = 53
  payload_hex = "0g" # ERROR: Invalid value for argument "payload_hex": Expected hex digits, two per byte
  expect {
    state = "open"
  }
}

udp "state_misspelled" {
  host = "127.0.0.1"
  port = 53
  expect {
    state = "filtered|open" # ERROR: Invalid value for expectation "state": is not one of "open", "closed", "filtered", "open|filtered"
  }
}

udp "port_out_of_range" {
  host = "127.0.0.1"
  port = 70000 # ERROR: Invalid value for argument "port": from 1 to 65535
  expect {
    state = "open"
  }
}
