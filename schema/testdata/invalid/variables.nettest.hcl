variable "port" {
  type    = number
  default = 8080
  validation {
    condition     = var.port < 1024 # ERROR: Invalid value for variable
    error_message = "The port must be a privileged port."
  }
}

variable "required" { # ERROR: No value for required variable
  type = string
}

variable "typed" {
  type    = number
  default = "many" # ERROR: Invalid default value for variable
}

locals {
  a = local.b # ERROR: Cycle in local values
  b = local.a
  c = local.d # ERROR: Cycle in local values
  d = local.c
  e = local.a # waits on a cycle, in none
}

tcp "uses_missing_var" {
  host = var.nope # ERROR: Unsupported attribute
  port = var.port
  expect {
    open = true
  }
}
