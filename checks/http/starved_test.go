package http_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/runner"
)

// TestWithoutFileDescriptors: a request that cannot be sent because nettest
// ran out of file descriptors is an error that says what to do, never a
// verdict on the server.
func TestWithoutFileDescriptors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	outcomes := checktest.RunStarved(t, fmt.Sprintf(`
http "web" {
  url = "%s/"
  expect {
    status = 500
  }
}
`, srv.URL))
	checktest.Expect(t, outcomes, []checktest.Want{
		{Address: "http.web", Status: runner.Error, Message: "too many open files: nettest ran out of file descriptors, so nothing was sent: lower --parallelism, or raise the open-files limit (ulimit -n)"},
	})
}
