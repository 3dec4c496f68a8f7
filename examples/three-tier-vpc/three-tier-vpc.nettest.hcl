# The security groups of a three-tier VPC, fed by Terraform: run it in the
# pipeline right after `terraform apply`, on a runner in the public subnet
# (where internet traffic enters), with the addresses Terraform just
# created:
#
#   terraform output -json > outputs.json
#   nettest test --terraform-outputs=outputs.json --junit=vpc.xml examples/three-tier-vpc
#
# terraform-outputs.json beside this file is what `terraform output -json`
# prints for such a VPC (an ALB in front of two web instances, two app
# instances and a database in private subnets). Each variable below takes
# the output of its name; outputs without a variable (vpc_id) are ignored.
# health_check_token is sensitive in Terraform, so it is sensitive here too:
# no report shows it.

variable "alb_dns_name" {
  type        = string
  description = "DNS name of the public load balancer."
}

variable "web_private_ips" {
  type        = list(string)
  description = "Private addresses of the web tier, behind the load balancer."
}

variable "app_private_ips" {
  type        = list(string)
  description = "Private addresses of the application tier."
}

variable "app_port" {
  type        = number
  description = "Port the application tier listens on, for the web tier only."
}

variable "db_endpoint" {
  type = object({
    address = string
    port    = number
  })
  description = "The database, reachable from the application tier only."
}

variable "health_check_token" {
  type        = string
  description = "Token the health endpoint requires."
}

defaults {
  # A security group drops what it does not allow: nothing comes back, so
  # only the timeout tells a dropped port from a slow one.
  timeout = "3s"
  retries = 1
}

# Public tier: the load balancer answers on 443 and redirects 80 to it.
http "alb_health" {
  url         = "https://${var.alb_dns_name}/healthz"
  headers     = { Authorization = "Bearer ${var.health_check_token}" }
  description = "The load balancer serves the health check over TLS."
  tags        = ["public", "smoke"]
  expect {
    status             = 200
    cert_days_left_min = 14
  }
}

http "alb_redirects_http" {
  url         = "http://${var.alb_dns_name}/"
  description = "Plain HTTP is redirected to HTTPS, never served."
  tags        = ["public"]
  expect {
    status        = [301, 308]
    headers_match = { Location = "^https://" }
  }
}

# Web tier: only the load balancer may reach it; SSH only from the bastion.
tcp "web_not_direct" {
  for_each    = toset(var.web_private_ips)
  host        = each.value
  port        = 443
  description = "Web instance ${each.key} takes traffic from the load balancer only."
  tags        = ["security"]
  expect {
    state = "filtered"
  }
}

tcp "web_ssh_closed" {
  for_each    = toset(var.web_private_ips)
  host        = each.value
  port        = 22
  description = "SSH to web instance ${each.key} is open to the bastion only."
  tags        = ["security"]
  expect {
    state = "filtered"
  }
}

# Application tier: reachable from the web tier only, not from here.
tcp "app_not_from_public" {
  for_each    = toset(var.app_private_ips)
  host        = each.value
  port        = var.app_port
  description = "The application tier on ${each.key} is closed to the public subnet."
  tags        = ["security"]
  expect {
    state = "filtered"
  }
}

# Data tier: the database takes connections from the application tier only.
tcp "db_not_from_public" {
  host        = var.db_endpoint.address
  port        = var.db_endpoint.port
  description = "The database is closed to the public subnet."
  tags        = ["security"]
  expect {
    state = "filtered"
  }
}
