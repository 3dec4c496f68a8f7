# The configuration errors of ulimit blocks, found before anything runs, each
# marked on the line it points at with its summary and a part of its detail.

ulimit "self" {
  expect {
    nofile_min = "lots" # ERROR: Invalid value for expectation "nofile_min": "lots" is not a limit
  }
}
