package dns_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/dns"
	"github.com/nettest/nettest/runner"
)

// TestSuite runs dns blocks as users write them, through the loader and the
// runner, against the test zone server.
func TestSuite(t *testing.T) {
	server := dns.StartZone(t)
	silent := dns.Dropper(t, "127.0.0.1:0")
	src := fmt.Sprintf(`
variable "server" {
  default = %q
}

dns "api" {
  name   = "api.example.test"
  server = var.server
  expect {
    rcode         = "NOERROR"
    answers       = ["192.0.2.12", "192.0.2.10", "192.0.2.11"]
    authoritative = true
  }
}

dns "mail" {
  name   = "example.test"
  type   = "MX"
  server = var.server
  expect {
    contains = ["10 mail.example.test."]
  }
  assert {
    condition     = self.answer_count == 2 && self.ttl >= 300
    error_message = "expected two MX records with a long TTL"
  }
}

dns "www" {
  name   = "www.example.test"
  type   = "CNAME"
  server = var.server
  expect {
    min_answers = 1
  }
}

dns "target" {                      # the CNAME's target, by reference
  name   = dns.www.answers[0]
  type   = "AAAA"
  server = var.server
  expect {
    answers = ["2001:db8::10"]
  }
}

dns "gone" {
  name   = "old.example.test"
  server = var.server
  expect {
    rcode = "NXDOMAIN"
  }
}

dns "wrong" {
  name     = "api.example.test"
  server   = var.server
  protocol = "tcp"
  expect {
    rcode   = "NOERROR"
    answers = ["192.0.2.10"]
  }
}

dns "dropped" {
  name    = "api.example.test"
  server  = %q
  timeout = "300ms"
  expect {
    rcode = "NOERROR"
  }
}
`, server, silent)
	checktest.Expect(t, checktest.Run(t, src), []checktest.Want{
		{Address: "dns.api", Status: runner.Pass},
		{Address: "dns.mail", Status: runner.Pass},
		{Address: "dns.www", Status: runner.Pass},
		{Address: "dns.target", Status: runner.Pass},
		{Address: "dns.gone", Status: runner.Pass},
		{Address: "dns.wrong", Status: runner.Fail, Diffs: []checks.Diff{{Field: "answers", Expected: `["192.0.2.10"]`, Actual: `["192.0.2.10", "192.0.2.11", "192.0.2.12"]`}}},
		{Address: "dns.dropped", Status: runner.Error, Message: "no answer from " + silent + " over udp within "},
	})
}

// TestSuiteConfigErrors: bad arguments are configuration errors reported
// before anything runs, on the line that holds them.
func TestSuiteConfigErrors(t *testing.T) {
	tests := []struct {
		args string // the arguments of a dns block that expects NOERROR
		want string
	}{
		{"name = \"example.test\"\ntype = \"ANY\"", `suite.nettest.hcl:3,`},
		{"name = \"example.test\"\ntype = \"ANY\"", `"ANY" is not a supported record type`},
		{"name = \"example.test\"\nserver = \"192.0.2.53:0\"", `port of "192.0.2.53:0" must be a whole number from 1 to 65535`},
		{"name = \"example.test\"\nserver = \"udp://192.0.2.53\"", `without a scheme or path`},
		{"name = \"example.test\"\nprotocol = \"tls\"", `"tls" is not one of "udp", "tcp"`},
		{"name = \"a b\"", `"a b" is not a domain name`},
		{"type = \"A\"", `"name" is required`},
	}
	for _, tc := range tests {
		block := "dns \"x\" {\n" + tc.args + "\nexpect {\nrcode = \"NOERROR\"\n}\n}\n"
		diags := checktest.Load(t, block)
		if !diags.HasErrors() {
			t.Errorf("loaded without error:\n%s", block)
			continue
		}
		if text := checktest.Text(diags); !strings.Contains(text, tc.want) {
			t.Errorf("diagnostics\n%s\ndo not say %q, for\n%s", text, tc.want, block)
		}
	}
}

// TestSuiteBadExpectation: an unknown response code in expect is refused
// at load time.
func TestSuiteBadExpectation(t *testing.T) {
	diags := checktest.Load(t, "dns \"x\" {\n  name = \"example.test\"\n  expect {\n    rcode = \"NOTFOUND\"\n  }\n}\n")
	if text := checktest.Text(diags); !strings.Contains(text, `"NOTFOUND" is not a DNS response code`) || !strings.Contains(text, ":4,") {
		t.Errorf("diagnostics %q do not point at line 4 with the bad response code", text)
	}
}
