package traceroute_test

import (
	"testing"

	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

// TestWithoutFileDescriptors: `reached = false` must not pass because
// nettest could not open its sockets for want of file descriptors.
func TestWithoutFileDescriptors(t *testing.T) {
	lab.RequireRoot(t)
	outcomes := checktest.RunStarved(t, `
traceroute "icmp" {
  host     = "127.0.0.1"
  max_hops = 2
  expect {
    reached = false
  }
}

traceroute "tcp" {
  host     = "127.0.0.1"
  protocol = "tcp"
  max_hops = 2
  expect {
    reached = false
  }
}
`)
	hint := "lower --parallelism, or raise the open-files limit (ulimit -n)"
	checktest.Expect(t, outcomes, []checktest.Want{
		{Address: "traceroute.icmp", Status: runner.Error, Message: hint},
		{Address: "traceroute.tcp", Status: runner.Error, Message: hint},
	})
}
