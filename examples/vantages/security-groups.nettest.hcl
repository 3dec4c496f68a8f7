# A security-group matrix, checked from every place it speaks of, in one
# run: who may reach the database, the cache and the admin port, judged
# from the app subnet, the public subnet, the ops bastion and the CI runner
# itself (vantage.here).
#
#   nettest validate examples/vantages            # never connects anywhere
#   nettest plan examples/vantages                # the checks grouped by vantage
#   nettest test examples/vantages --var bastion_ip=203.0.113.10 ...
#
# nettest starts itself at each vantage as an agent (over SSH, in a network
# namespace, or through kubectl exec), sends it the probes and judges the
# answers here. The far side needs nothing installed but an SSH server or sh.

variable "bastion_ip" {
  type        = string
  default     = "192.0.2.10"
  description = "The ops bastion, reached over SSH from the CI runner."
}

variable "app_ip" {
  type        = string
  default     = "10.0.1.20"
  description = "A host of the app subnet, reached through the bastion."
}

variable "db_ip" {
  type        = string
  default     = "10.0.3.5"
  description = "The database (PostgreSQL on 5432, Redis on 6379)."
}

vantage "bastion" {
  description = "Ops bastion in the DMZ"
  ssh {
    host             = var.bastion_ip
    user             = "ci"
    private_key_file = "keys/ci_ed25519"  # relative to this file
    known_hosts_file = "keys/known_hosts" # the host key is always checked
  }
}

vantage "app" {
  description = "The app subnet, through the bastion"
  ssh {
    host  = var.app_ip
    user  = "ci"
    agent = true            # the keys of $SSH_AUTH_SOCK
    jump  = vantage.bastion # ProxyJump
  }
}

vantage "public" {
  description = "A pod in the public-facing namespace"
  exec {
    command = ["kubectl", "exec", "-i", "-n", "edge", "deploy/frontend", "-c", "app", "--"]
  }
}

locals {
  # Where each port must be open from, and where it must be filtered
  # (dropped by a security group, not refused by the host).
  postgres = { app = "open", bastion = "open", public = "filtered", here = "filtered" }
  redis    = { app = "open", bastion = "filtered", public = "filtered", here = "filtered" }
}

defaults {
  timeout = "3s"
}

tcp "postgres" {
  for_each    = local.postgres
  from        = vantage[each.key] # vantage.here is the CI runner itself
  description = "PostgreSQL is open to the app subnet and the bastion only."
  host        = var.db_ip
  port        = 5432
  expect {
    state = each.value
  }
}

tcp "redis" {
  for_each = local.redis
  from     = vantage[each.key]
  host     = var.db_ip
  port     = 6379
  expect {
    state = each.value
  }
}

# The app's own view of the database's name: its resolver, its /etc/hosts.
dns "db_name" {
  from = vantage.app
  name = "db.internal.example"
  expect {
    answers = [var.db_ip]
  }
}

# Observed in one place, used in another: the address the app resolves is
# the one the bastion must reach.
tcp "db_by_app_name" {
  from = vantage.bastion
  host = dns.db_name.answers[0]
  port = 5432
  expect {
    open = true
  }
}

# Read on the bastion: its firewall keeps the public subnet out.
iptables "bastion_drops_public" {
  from  = vantage.bastion
  chain = "FORWARD"
  rule  = "-s 10.0.2.0/24 -d 10.0.3.0/24 -j DROP"
  expect {
    present = true
  }
}

route "app_to_db" {
  from        = vantage.app
  destination = var.db_ip
  expect {
    gateway = "10.0.1.1"
  }
}
