# The configuration errors of sysctl blocks, found before anything runs, each
# marked on the line it points at with its summary and a part of its detail.

sysctl "escape" {
  key = "net/../../etc/shadow" # ERROR: Invalid value for argument "key": has an empty, "." or ".." component
  expect {
    value = "x"
  }
}
