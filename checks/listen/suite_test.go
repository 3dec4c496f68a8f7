package listen_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/runner"
)

// Blocks as users write them, through the loader and the runner, against a
// listener of this test process.
func TestSuite(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	checktest.Expect(t, checktest.Run(t, `
listen "mine" {
  port    = `+port+`
  address = "127.0.0.1"
  expect {
    listening = true
  }
  assert {
    condition     = self.pid != null && self.processes[0].pid == self.pid
    error_message = "the owner is missing"
  }
}

listen "not_udp" {
  port     = `+port+`
  protocol = "udp"
  expect {
    listening = true
  }
}
`), []checktest.Want{
		{Address: "listen.mine", Status: runner.Pass},
		{Address: "listen.not_udp", Status: runner.Fail, Diffs: []checks.Diff{{Field: "listening", Expected: "true", Actual: "false"}}},
	})
}

// Bad arguments are refused before anything runs (testdata/invalid marks
// each on its line).
func TestInvalidArguments(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}
