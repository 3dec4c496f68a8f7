# Every mistake a vantage block or a `from` can hold: one run reports them all.

variable "bastion_ip" {
  type    = string
  default = "198.18.1.2"
}

vantage "bastion" {
  description = "Ops bastion"
  ssh {
    host             = var.bastion_ip
    user             = "ci"
    private_key_file = "keys/ci_ed25519"
  }
}

vantage "blue" {
  netns = "blue"
}

vantage "nowhere" { # ERROR: Vantage without a way there
  description = "forgot how to get there"
}

vantage "both" {
  netns = "blue"
  exec { # ERROR: More than one way to a vantage
    command = ["nsenter", "--net=/run/netns/blue", "--"]
  }
}

vantage "nouser" {
  ssh { # ERROR: Missing required argument
    host  = "198.18.1.3"
    agent = true
  }
}

vantage "nokey" {
  ssh { # ERROR: SSH vantage without a key
    host = "198.18.1.3"
    user = "ci"
  }
}

vantage "badport" {
  ssh {
    host  = "198.18.1.3"
    user  = "ci"
    port  = 0 # ERROR: Invalid SSH port
    agent = true
  }
}

vantage "badjump" {
  ssh {
    host  = "198.18.1.3"
    user  = "ci"
    agent = true
    jump  = vantage.bastoin # ERROR: Reference to undeclared vantage
  }
}

vantage "jump_netns" { # ERROR: Jump through a vantage that is not ssh
  ssh {
    host  = "198.18.1.3"
    user  = "ci"
    agent = true
    jump  = vantage.blue
  }
}

vantage "loop_a" { # ERROR: Cycle of jump hosts: "loop_a" reaches itself
  ssh {
    host  = "198.18.1.4"
    user  = "ci"
    agent = true
    jump  = vantage.loop_b
  }
}

vantage "loop_b" { # ERROR: Cycle of jump hosts: "loop_b" reaches itself
  ssh {
    host  = "198.18.1.5"
    user  = "ci"
    agent = true
    jump  = vantage.loop_a
  }
}

vantage "into_loop" { # ERROR: Cycle of jump hosts
  ssh {
    host  = "198.18.1.6"
    user  = "ci"
    agent = true
    jump  = vantage.loop_a
  }
}

vantage "self_jump" { # ERROR: Cycle of jump hosts: "self_jump" reaches itself
  ssh {
    host  = "198.18.1.7"
    user  = "ci"
    agent = true
    jump  = vantage.self_jump
  }
}

vantage "emptyexec" {
  exec {
    command = [] # ERROR: Empty exec command
  }
}

vantage "slash" {
  netns = "/run/netns/blue" # ERROR: Invalid network namespace name
}

vantage "relative" {
  netns_path = "proc/1/ns/net" # ERROR: Invalid network namespace path
}

vantage "blue" { # ERROR: Duplicate vantage "blue"
  netns = "other"
}

tcp "typo" {
  from = vantage.bastoin # ERROR: Reference to undeclared vantage
  host = "198.18.2.2"
  port = 80
  expect {
    open = true
  }
}

tcp "by_key" {
  for_each = { bastion = "open", public = "filtered" }
  from     = vantage[each.key] # ERROR: Reference to undeclared vantage
  host     = "198.18.2.2"
  port     = 80
  expect {
    state = each.value
  }
}

tcp "by_string" {
  from = "blu" # ERROR: Reference to undeclared vantage
  host = "198.18.2.2"
  port = 80
  expect {
    open = true
  }
}

tcp "fine" {
  from = vantage.blue
  host = "198.18.2.2"
  port = 80
  expect {
    open = true
  }
}

tcp "from_result" {
  from = tcp.fine.state # ERROR: Value not known before the run
  host = "198.18.2.2"
  port = 80
  expect {
    open = true
  }
}

vantage "here" { # ERROR: Reserved vantage name
  netns = "blue"
}

tcp "here_too" {
  for_each = { here = "filtered", blue = "open" }
  from     = vantage[each.key]
  host     = "198.18.2.2"
  port     = 80
  expect {
    state = each.value
  }
}
