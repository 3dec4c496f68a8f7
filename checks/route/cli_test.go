package route_test

import (
	"fmt"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

// TestCLIInLab runs route blocks with the nettest binary inside a
// namespace, as a user on that host would: an on-link route, a route via a
// gateway, no route at all, and a wrong expectation that fails with its diff.
func TestCLIInLab(t *testing.T) {
	l := lab.New(t)
	client := l.Host("client")
	ifc, _ := l.Link(client, "198.18.5.1/24", l.Host("router"), "198.18.5.2/24")
	client.Run(t, "ip", "route", "add", "198.18.50.0/24", "via", "198.18.5.2")

	suite := lab.SuiteDir(t, map[string]string{"lab.nettest.hcl": fmt.Sprintf(`
route "on_link" {
  destination = "198.18.5.2"
  expect {
    reachable = true
    gateway   = ""
    interface = %[1]q
    source    = "198.18.5.1"
    prefix    = "198.18.5.0/24"
  }
}

route "via_gateway" {
  destination = "198.18.50.0/24"
  expect {
    gateway   = "198.18.5.2"
    interface = %[1]q
    prefix    = "198.18.50.0/24"
    type      = "unicast"
  }
}

route "no_route" {                      # no default route in the lab
  destination = "198.18.99.1"
  expect {
    reachable = false
  }
}

route "wrong_gateway" {
  destination = "198.18.50.9"
  expect {
    gateway = "198.18.5.254"
  }
}

route "bad_interface" {
  destination = "198.18.5.2"
  interface   = "eth9"
  expect {
    reachable = true
  }
}
`, ifc)})
	list, _, code, out := client.Nettest(t, suite)
	if code != 1 {
		t.Errorf("exit code = %d, want 1\n%s", code, out)
	}
	checktest.ExpectReported(t, list, []checktest.Want{
		{Address: "route.on_link", Status: runner.Pass},
		{Address: "route.via_gateway", Status: runner.Pass},
		{Address: "route.no_route", Status: runner.Pass},
		{Address: "route.wrong_gateway", Status: runner.Fail, Diffs: []checks.Diff{{Field: "gateway", Expected: `"198.18.5.254"`, Actual: `"198.18.5.2"`}}},
		{Address: "route.bad_interface", Status: runner.Error, Message: `no interface named "eth9" in this network namespace`},
	})
}
