package dns_test

import (
	"fmt"
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

// TestSuiteConfigErrors: bad arguments and expectations are configuration
// errors reported before anything runs, on the line that holds them
// (testdata/invalid marks each).
func TestSuiteConfigErrors(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}
