package traceroute_test

import (
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

// Bad arguments are configuration errors, found before anything runs
// (testdata/invalid marks each on its line).
func TestInvalidConfig(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}
