package ping_test

import (
	"testing"

	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/ping"
	"github.com/nettest/nettest/runner"
)

// TestWithoutFileDescriptors: `reachable = false` must not pass because
// nettest could not open its socket for want of file descriptors.
func TestWithoutFileDescriptors(t *testing.T) {
	ping.RequirePing(t)
	outcomes := checktest.RunStarved(t, `
ping "self" {
  host    = "127.0.0.1"
  packets = 1
  expect {
    reachable = false
  }
}
`)
	checktest.Expect(t, outcomes, []checktest.Want{
		{Address: "ping.self", Status: runner.Error, Message: "ulimit -n"},
	})
}
