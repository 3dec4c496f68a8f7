# A suite that declares a variable and no check.

variable "x" {
  default = 1
}
