# The security-group matrix of the vantage lab, run from the client: the
# same ports and names checked from here (the client), from the bastion over
# SSH and from the namespace blue, each with the verdict of its place.
#
#   client 198.18.1.1 ── 198.18.1.2 bastion 198.18.2.1 ── 198.18.2.2 target
#                        (sshd; FORWARD drops the client)   (nginx :80)
#   blue 198.18.4.1 ── 198.18.4.2 vault (nginx :80), reached from blue only

variable "blue_netns" {
  type        = string
  description = "The ip netns name of the blue namespace."
}

variable "key_file" {
  type = string
}

variable "known_hosts" {
  type = string
}

vantage "bastion" {
  description = "The ops bastion, the one way into the target's subnet"
  ssh {
    host             = "198.18.1.2"
    user             = "root"
    private_key_file = var.key_file
    known_hosts_file = var.known_hosts
  }
}

vantage "blue" {
  description = "The blue network namespace on this machine"
  netns       = var.blue_netns
}

locals {
  target = "198.18.2.2"
  vault  = "198.18.4.2"
}

defaults {
  timeout = "2s"
}

tcp "target_web" {
  for_each    = { here = "filtered", bastion = "open", blue = "filtered" }
  from        = vantage[each.key]
  description = "Only the bastion reaches the target's web port."
  host        = local.target
  port        = 80
  timeout     = "1s"
  expect {
    state = each.value
  }
}

tcp "vault_web" {
  for_each = { here = "filtered", bastion = "filtered", blue = "open" }
  from     = vantage[each.key]
  host     = local.vault
  port     = 80
  timeout  = "1s"
  expect {
    state = each.value
  }
}

http "target" {
  from = vantage.bastion
  url  = "http://${local.target}/"
  expect {
    status        = 200
    body_contains = "target"
  }
}

http "vault" {
  from = vantage.blue
  url  = "http://${local.vault}/"
  expect {
    status        = 200
    body_contains = "vault"
  }
}

# The system resolver of each place: its own /etc/hosts.
dns "db" {
  for_each = { here = "198.18.1.9", bastion = local.target, blue = local.vault }
  from     = vantage[each.key]
  name     = "db.internal"
  expect {
    answers = [each.value]
  }
}

# Observed here, used there: the client's name for the target, fetched
# from the bastion.
dns "target_name" {
  name = "target.lab"
  expect {
    answers = [local.target]
  }
}

http "target_by_name" {
  from = vantage.bastion
  url  = "http://${dns.target_name.answers[0]}/"
  expect {
    status = 200
  }
}

ping "target" {
  for_each = { here = false, bastion = true }
  from     = vantage[each.key]
  host     = local.target
  packets  = 2
  interval = "100ms"
  timeout  = "1s"
  expect {
    reachable = each.value
  }
}

traceroute "target" {
  for_each    = { here = false, bastion = true }
  from        = vantage[each.key]
  host        = local.target
  max_hops    = 3
  hop_timeout = "300ms"
  queries     = 1
  expect {
    reached = each.value
  }
}

iptables "client_dropped" {
  from  = vantage.bastion
  chain = "FORWARD"
  rule  = "-s 198.18.1.0/24 -d 198.18.2.0/24 -j DROP"
  expect {
    present = true
  }
}

route "target_from_bastion" {
  from        = vantage.bastion
  destination = local.target
  expect {
    reachable = true
    gateway   = ""
  }
}

route "target_from_here" {
  destination = local.target
  expect {
    gateway = "198.18.1.2"
  }
}
