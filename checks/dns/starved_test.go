package dns_test

import (
	"fmt"
	"testing"

	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/dns"
	"github.com/nettest/nettest/runner"
)

// TestWithoutFileDescriptors: a query that cannot be sent because nettest
// ran out of file descriptors is an error that says what to do, never an
// answer such as "no server there".
func TestWithoutFileDescriptors(t *testing.T) {
	addr := dns.StartZone(t)
	outcomes := checktest.RunStarved(t, fmt.Sprintf(`
dns "api" {
  name   = "api.example.test"
  server = "%s"
  expect {
    rcode = "NOERROR"
  }
}
`, addr))
	checktest.Expect(t, outcomes, []checktest.Want{
		{Address: "dns.api", Status: runner.Error, Message: "too many open files: nettest ran out of file descriptors, so nothing was sent: lower --parallelism, or raise the open-files limit (ulimit -n)"},
	})
}
