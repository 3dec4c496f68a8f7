tcp "web" {
  host = "127.0.0.1"
  port = 80000
  expect {
    open = true
  }
}
