package neighbor_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

// TestCLIInLab runs neighbor blocks with the nettest binary inside a
// namespace, as a user on that host would: the server resolved (its MAC read
// from the server's own namespace, written in upper case), an unused address
// absent, a permanent entry, and an unused address wrongly expected present.
func TestCLIInLab(t *testing.T) {
	l := lab.New(t)
	client, server := l.Host("client"), l.Host("server")
	ifc, sifc := l.Link(client, "198.18.6.1/24", server, "198.18.6.2/24")
	mac := strings.TrimSpace(server.Run(t, "cat", "/sys/class/net/"+sifc+"/address"))
	client.Run(t, "ip", "neigh", "add", "198.18.6.50", "lladdr", "02:00:5e:10:00:50", "dev", ifc, "nud", "permanent")

	suite := lab.SuiteDir(t, map[string]string{"lab.nettest.hcl": fmt.Sprintf(`
neighbor "server" {
  address = "198.18.6.2"
  resolve = true
  expect {
    present   = true
    mac       = %[1]q
    state     = "reachable"
    interface = %[2]q
  }
}

neighbor "unused" {
  address = "198.18.6.99"
  expect {
    present = false
  }
}

neighbor "static" {
  address   = "198.18.6.50"
  interface = %[2]q
  expect {
    mac   = "02-00-5E-10-00-50"
    state = "permanent"
  }
}

neighbor "unused_expected_present" {
  address = "198.18.6.98"
  expect {
    present = true
  }
}
`, strings.ToUpper(mac), ifc)})
	list, _, code, out := client.Nettest(t, suite)
	if code != 1 {
		t.Errorf("exit code = %d, want 1\n%s", code, out)
	}
	checktest.ExpectReported(t, list, []checktest.Want{
		{Address: "neighbor.server", Status: runner.Pass},
		{Address: "neighbor.unused", Status: runner.Pass},
		{Address: "neighbor.static", Status: runner.Pass},
		{Address: "neighbor.unused_expected_present", Status: runner.Fail, Diffs: []checks.Diff{{Field: "present", Expected: "true", Actual: "false"}}},
	})
}
