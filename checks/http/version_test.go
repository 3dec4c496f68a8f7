package http_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/runner"
)

// TestHTTP10: a server that answers in HTTP/1.0 is reported as such, and
// docs/http.md lists every http_version that occurs.
func TestHTTP10(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for { // the request's head
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold\n")
			}()
		}
	}()
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
`, ln.Addr())), []checktest.Want{{Address: "http.old", Status: runner.Pass}})

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
