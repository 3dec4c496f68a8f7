package traceroute_test

import (
	"strings"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

// A suite through the real loader and runner, as a user writes it.
func TestSuiteOnLoopback(t *testing.T) {
	lab.RequireRoot(t)
	outcomes := checktest.Run(t, `
traceroute "self" {
  host = "127.0.0.1"
  expect {
    reached  = true
    max_hops = 1
    via      = ["127.0.0.1"]
  }
  assert {
    condition     = self.hop_count == 1 && self.hops[0].address == "127.0.0.1" && self.hops[0].rtt_ms < 1000
    error_message = "unexpected hops"
  }
}

traceroute "udp6" {
  host     = "::1"
  protocol = "udp"
  queries  = 1
  expect {
    reached = true
    via     = ["::1"]
  }
}

traceroute "wrong_via" {
  host = "127.0.0.1"
  expect {
    via = ["127.0.0.2"]
  }
}

traceroute "never_reached" {
  host = "127.0.0.1"
  expect {
    reached = false
  }
}
`)
	checktest.Expect(t, outcomes, []checktest.Want{
		{Address: "traceroute.self", Status: runner.Pass},
		{Address: "traceroute.udp6", Status: runner.Pass},
		{Address: "traceroute.wrong_via", Status: runner.Fail, Diffs: []checks.Diff{{Field: "hops", Expected: `via ["127.0.0.2"]`, Actual: `["127.0.0.1"] (no "127.0.0.2")`}}},
		{Address: "traceroute.never_reached", Status: runner.Fail, Diffs: []checks.Diff{{Field: "reached", Expected: "false", Actual: "true"}}},
	})
}

// Bad arguments are configuration errors, found before anything runs.
func TestInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"max_hops too large", `max_hops = 65`, "from 1 to 64"},
		{"max_hops zero", `max_hops = 0`, "from 1 to 64"},
		{"protocol", `protocol = "sctp"`, `"sctp" is not one of "icmp", "udp", "tcp"`},
		{"hop_timeout not a duration", `hop_timeout = "1"`, "is not a duration"},
		{"hop_timeout zero", `hop_timeout = "0s"`, "longer than zero"},
		{"queries", `queries = 11`, "from 1 to 10"},
		{"port", `port = 70000`, "from 1 to 65535"},
		{"via a name", `expect { via = ["router.example"] }`, `"router.example" is not an IP address`},
		{"max_hops expectation not a number", `expect { max_hops = "many" }`, "a number is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if !strings.Contains(body, "expect") {
				body += "\n  expect { reached = true }"
			}
			diags := checktest.Load(t, "traceroute \"x\" {\n  host = \"127.0.0.1\"\n  "+body+"\n}\n")
			if !diags.HasErrors() || !strings.Contains(checktest.Text(diags), tc.want) {
				t.Fatalf("got diagnostics %q, want an error containing %q", checktest.Text(diags), tc.want)
			}
		})
	}
}
