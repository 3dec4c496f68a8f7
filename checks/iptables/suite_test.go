package iptables_test

import (
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/iptables"
	"github.com/nettest/nettest/runner"
	"github.com/zclconf/go-cty/cty"
)

// TestLoadErrors shows the configuration errors a user gets for iptables
// blocks, found before anything runs: testdata/invalid marks each on its line.
func TestLoadErrors(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}

// TestValidateArgs runs the whole-block check on the arguments object a
// probe receives, for combinations no single argument shows. Values known
// only after another check ran are not judged.
func TestValidateArgs(t *testing.T) {
	k, ok := checks.Lookup("iptables")
	if !ok {
		t.Fatal("the iptables kind is not registered")
	}
	args := func(set map[string]cty.Value) cty.Value {
		attrs := map[string]cty.Value{}
		for _, a := range k.Args {
			attrs[a.Name] = cty.NullVal(a.Type)
			if a.Default != cty.NilVal {
				attrs[a.Name] = a.Default
			}
			if v, ok := set[a.Name]; ok {
				attrs[a.Name] = v
			}
		}
		return cty.ObjectVal(attrs)
	}
	tests := []struct {
		set map[string]cty.Value
		err string
	}{
		{set: map[string]cty.Value{"chain": cty.StringVal("INPUT")}},
		{set: map[string]cty.Value{"chain": cty.StringVal("PREROUTING"), "protocol": cty.StringVal("tcp"), "from_port": cty.NumberIntVal(80), "to_port": cty.NumberIntVal(8080)}},
		{set: map[string]cty.Value{"chain": cty.StringVal("PREROUTING"), "rule": cty.UnknownVal(cty.String), "from_port": cty.NumberIntVal(80)}},
		{set: map[string]cty.Value{"chain": cty.StringVal("PREROUTING"), "rule": cty.StringVal("-j ACCEPT"), "from_port": cty.NumberIntVal(80)},
			err: "give either rule, or protocol, from_port and to_port (a port forward), not both"},
		{set: map[string]cty.Value{"chain": cty.StringVal("PREROUTING"), "to_port": cty.NumberIntVal(8080)},
			err: "a port forward needs protocol, from_port and to_port; protocol and from_port missing"},
		{set: map[string]cty.Value{"chain": cty.StringVal("PREROUTING"), "table": cty.StringVal("mangle"), "protocol": cty.StringVal("tcp"), "from_port": cty.NumberIntVal(80), "to_port": cty.NumberIntVal(8080)},
			err: `a port forward is read from the nat table (REDIRECT and DNAT live there), not "mangle"; leave table out or set it to "nat"`},
		{set: map[string]cty.Value{"chain": cty.StringVal("PREROUTING"), "ipv6": cty.True, "protocol": cty.StringVal("tcp"), "from_port": cty.NumberIntVal(80), "to_port": cty.NumberIntVal(8080), "to_address": cty.StringVal("127.0.0.1")},
			err: "to_address 127.0.0.1 is not an IPv6 address; set ipv6 = false to read the IPv4 rules"},
	}
	for _, tt := range tests {
		err := iptables.Validate(args(tt.set))
		if (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("Validate(%v) = %v, want %q", tt.set, err, tt.err)
		}
	}
}

// labSuite is a suite as a user writes it, for the lab server's rules
// (see server): each iptables form passing, a failure with its diff, errors
// with their messages. labWant is what becomes of each check.
const labSuite = `
variable "public_port" {
  type    = number
  default = 80
}

iptables "rule" {
  table = "nat"
  chain = "PREROUTING"
  rule  = "-p tcp --dport ${var.public_port} -j REDIRECT --to-ports 8080"
  expect {
    present = true
  }
  assert {
    condition     = self.matched == "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080"
    error_message = "listed differently"
  }
}

iptables "forward" {
  chain     = "PREROUTING"
  protocol  = "tcp"
  from_port = var.public_port
  to_port   = 8080
  expect {
    present = true
  }
}

iptables "no_https_forward" {
  chain     = "PREROUTING"
  protocol  = "tcp"
  from_port = 443
  to_port   = 8443
  expect {
    present = false
  }
}

iptables "missing" {
  table = "nat"
  chain = "PREROUTING"
  rule  = "-p tcp --dport 443 -j REDIRECT --to-ports 8443"
  expect {
    present = true
  }
}

iptables "forward_unwanted" {
  chain     = "PREROUTING"
  protocol  = "tcp"
  from_port = 80
  to_port   = 8080
  expect {
    present = false
  }
}

iptables "forward_policy" {
  chain = "FORWARD"
  expect {
    policy = "DROP"
  }
}

iptables "input_policy" {
  chain = "INPUT"
  expect {
    policy = "DROP"
  }
}

iptables "ssh_rejected" {
  chain = "INPUT"
  rule  = "-p tcp --dport 22 -j REJECT"
  expect {
    present = true
  }
}

iptables "telnet_dropped" {
  chain = "INPUT"
  rule  = "-p tcp --dport 23 -j DROP"
  expect {
    present = true
  }
}

iptables "rules_listed" {
  chain = "INPUT"
  expect {
    present = true
  }
  assert {
    condition     = length(self.rules) == 3
    error_message = "INPUT should hold three rules"
  }
}

iptables "no_chain" {
  table = "nat"
  chain = "DOCKER"
  rule  = "-j RETURN"
  expect {
    present = false
  }
}

tcp "after_rule" {
  host = "127.0.0.1"
  port = 1
  skip = !iptables.rule.present
  expect {
    open = false
  }
}
`

var labWant = []checktest.Want{
	{Address: "iptables.rule", Status: runner.Pass},
	{Address: "iptables.forward", Status: runner.Pass},
	{Address: "iptables.no_https_forward", Status: runner.Pass},
	{Address: "iptables.missing", Status: runner.Fail, Diffs: []checks.Diff{{Field: "present", Expected: "true",
		Actual: `false (the chain holds ["-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", "-i lo -p udp -m multiport --dports 5300:5399 -j DNAT --to-destination 127.0.0.1:53"])`}}},
	{Address: "iptables.forward_unwanted", Status: runner.Fail, Diffs: []checks.Diff{{Field: "present", Expected: "false",
		Actual: `true (matched "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080")`}}},
	{Address: "iptables.forward_policy", Status: runner.Pass},
	{Address: "iptables.input_policy", Status: runner.Fail, Diffs: []checks.Diff{{Field: "policy", Expected: `"DROP"`, Actual: `"ACCEPT"`}}},
	{Address: "iptables.ssh_rejected", Status: runner.Pass},
	{Address: "iptables.telnet_dropped", Status: runner.Pass},
	{Address: "iptables.rules_listed", Status: runner.Pass},
	{Address: "iptables.no_chain", Status: runner.Error,
		Message: "chain DOCKER does not exist in table nat (its chains: PREROUTING, INPUT, OUTPUT, POSTROUTING); check the chain's name, its case and the table"},
	{Address: "tcp.after_rule", Status: runner.Pass},
}

// TestSuite runs labSuite in the test process (with iptables run inside the
// server's namespace) through the real loader and runner.
func TestSuite(t *testing.T) {
	_, srv := server(t)
	inNamespace(t, srv, defaultBackend)
	checktest.Expect(t, checktest.Run(t, labSuite), labWant)
}
