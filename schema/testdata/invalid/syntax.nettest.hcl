tcp "broken" {
  host = "127.0.0.1"
  port = # ERROR: Invalid expression
}
