package http_test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

// TestHTTP10: a server that answers in HTTP/1.0 is reported as such, and
// docs/http.md lists every http_version that occurs.
func TestHTTP10(t *testing.T) {
	addr := lab.ServeTCP(t, func(c net.Conn) {
		lab.ReadHTTPHead(c)
		fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold\n")
	})
	checktest.Expect(t, checktest.Run(t, fmt.Sprintf(`
http "old" {
  url = "http://%s/"
  expect {
    status = 200
  }
  assert {
    condition     = self.http_version == "HTTP/1.0"
    error_message = "not HTTP/1.0"
  }
}
`, addr)), []checktest.Want{{Address: "http.old", Status: runner.Pass}})

	doc, err := os.ReadFile("../../docs/http.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{`"HTTP/1.0"`, `"HTTP/1.1"`, `"HTTP/2.0"`} {
		if !strings.Contains(string(doc), v) {
			t.Errorf("docs/http.md does not list http_version %s", v)
		}
	}
}
