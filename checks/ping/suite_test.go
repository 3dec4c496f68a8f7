package ping_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/ping"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

// TestSuiteLoopback runs ping blocks as a user writes them, through the
// loader and the runner, and checks the verdict and diff a user would read.
func TestSuiteLoopback(t *testing.T) {
	ping.RequirePing(t)
	src := `
ping "loopback" {
  host = "127.0.0.1"
  expect {
    reachable        = true
    max_loss_percent = 0
    max_avg_rtt_ms   = 100
    max_rtt_ms       = 200
  }
}

ping "loopback_v6" {
  host     = "::1"
  packets  = 5
  interval = "20ms"
  size     = 1400
  ttl      = 2
  family   = "ip6"
  expect {
    reachable = true
  }
  assert {
    condition     = self.sent == 5 && self.received == 5 && self.address == "::1" && self.rtt_min_ms <= self.rtt_max_ms
    error_message = "five replies from ::1 expected"
  }
}

ping "must_not_answer_but_does" {
  host    = "127.0.0.1"
  packets = 1
  expect {
    reachable = false
  }
}

ping "wrong_family" {
  host   = "127.0.0.1"
  family = "ip6"
  expect {
    reachable = true
  }
}
`
	wrongFamily := `host "127.0.0.1" has no IPv6 address (it resolves to 127.0.0.1); remove family or change it`
	outcomes := checktest.Run(t, src)
	checktest.Expect(t, outcomes, []checktest.Want{
		{Address: "ping.loopback", Status: runner.Pass},
		{Address: "ping.loopback_v6", Status: runner.Pass},
		{Address: "ping.must_not_answer_but_does", Status: runner.Fail, Diffs: []checks.Diff{{Field: "reachable", Expected: "false", Actual: "true"}}},
		{Address: "ping.wrong_family", Status: runner.Error, Message: wrongFamily},
	})
	// The whole message, not a part: it is all the user gets to fix it.
	if got := outcomes["ping.wrong_family"].Message; got != wrongFamily {
		t.Errorf("ping.wrong_family message = %q, want %q", got, wrongFamily)
	}
}

// TestArgumentsValidated: bad arguments and expectations are refused at
// load time (testdata/invalid marks each on its line).
func TestArgumentsValidated(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}

// TestExampleSuiteValid: the example users copy loads.
func TestExampleSuiteValid(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "ping", "ping.nettest.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if diags := checktest.Load(t, string(src)); diags.HasErrors() {
		t.Errorf("examples/ping does not load:\n%s", checktest.Text(diags))
	}
}

// TestNettestInLab runs the nettest binary in a client namespace against a
// server whose firewall drops echo requests to one of its addresses, as a
// user checking "the gateway answers, the database does not" would.
func TestNettestInLab(t *testing.T) {
	l := lab.New(t)
	client, server := l.Host("client"), l.Host("server")
	l.Link(client, "198.18.8.1/24", server, "198.18.8.2/24")
	server.Run(t, "ip", "addr", "add", "198.18.8.3/32", "dev", "lo")
	client.Run(t, "ip", "route", "add", "198.18.8.3/32", "via", "198.18.8.2")
	server.Iptables(t, "-A", "INPUT", "-d", "198.18.8.3", "-p", "icmp", "--icmp-type", "echo-request", "-j", "DROP")

	suite := `
ping "gateway" {
  host = "198.18.8.2"
  expect {
    reachable        = true
    max_loss_percent = 0
    max_avg_rtt_ms   = 50
  }
}

ping "database_hidden" {
  host    = "198.18.8.3"
  timeout = "1s"
  expect {
    reachable = false
  }
}

ping "database_rtt" {
  host    = "198.18.8.3"
  timeout = "1s"
  expect {
    max_avg_rtt_ms = 50
  }
}
`
	results, _, code, out := client.Nettest(t, lab.SuiteDir(t, map[string]string{"net.nettest.hcl": suite}))
	if code != 1 {
		t.Errorf("exit code %d, want 1 (a check failed)\n%s", code, out)
	}
	want := map[string]struct {
		Status string
		Diffs  []checks.Diff
	}{
		"ping.gateway":         {Status: "pass"},
		"ping.database_hidden": {Status: "pass"},
		// No reply, no RTT: the bound is not met by a host that is silent.
		"ping.database_rtt": {Status: "fail", Diffs: []checks.Diff{{Field: "rtt_avg_ms", Expected: "at most 50", Actual: "null"}}},
	}
	for _, l := range results {
		w, ok := want[l.Address]
		if !ok || l.Status != w.Status || !reflect.DeepEqual(l.TextDiffs(), w.Diffs) {
			t.Errorf("%s: %s %+v, want %s %+v", l.Address, l.Status, l.TextDiffs(), w.Status, w.Diffs)
		}
	}
	if len(results) != len(want) {
		t.Errorf("got %d results, want %d:\n%s", len(results), len(want), out)
	}
}
