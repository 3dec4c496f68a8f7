package iptables_test

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/report"
)

// runNettest runs the nettest binary with args inside h (through wrapper,
// such as setpriv, when given) and returns its results by address, its
// exit code and what it printed.
func runNettest(t *testing.T, h *lab.Host, wrapper []string, args ...string) (map[string]report.Result, int, string) {
	t.Helper()
	results, _, code, out := h.NettestVia(t, wrapper, args...)
	return lab.ByAddress(results), code, out
}

// exampleDir is examples/port-forward of this repository.
func exampleDir(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test's source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "port-forward")
}

// TestPortForwardProvenTwice is the port forward of the issue, end to end
// with the nettest binary: on the server, where the rule lives, the
// iptables checks find it in every spelling; from the client, a request to
// the server's port 80 is answered by nginx listening on 8080.
func TestPortForwardProvenTwice(t *testing.T) {
	cl, srv := server(t)

	// Once: the rules, read in the server's namespace.
	dir := lab.SuiteDir(t, map[string]string{"rules.nettest.hcl": labSuite})
	got, code, out := runNettest(t, srv, nil, dir)
	if code != 1 {
		t.Errorf("exit code %d, want 1 (three checks fail, one errors)\n%s", code, out)
	}
	checkReported(t, got, labWant)

	// The example suite, in its two halves: the rules on the server...
	example := exampleDir(t)
	vars := []string{"--var=web_host=198.18.0.2", "--var=public_port=80", "--var=service_port=8080"}
	got, code, out = runNettest(t, srv, nil, append(vars, "--run=^iptables", example)...)
	if code != 0 || len(got) != 3 {
		t.Errorf("the example's iptables checks on the server: exit code %d, %d results, want 0 and 3\n%s", code, len(got), out)
	}

	// ...with the service behind the forward listening there...
	got, code, out = runNettest(t, srv, nil, append(vars, "--run=^listen", example)...)
	if code != 0 || got["listen.service"].Status != "pass" {
		t.Errorf("the example's listen check on the server: exit code %d\n%s", code, out)
	}

	// ...and twice: the traffic, from the client.
	got, code, out = runNettest(t, cl, nil, append(vars, "--run=^http", example)...)
	if code != 0 || got["http.through_forward"].Status != "pass" {
		t.Errorf("the example's request through the forward from the client: exit code %d\n%s", code, out)
	}

	// The filter rules do what the checks said they are: 22 rejected, 23
	// dropped, 8080 open directly, and the body is nginx's.
	traffic := lab.SuiteDir(t, map[string]string{"traffic.nettest.hcl": `
http "forwarded" {
  url = "http://198.18.0.2:80/"
  expect {
    status        = 200
    body_contains = "forwarded"
  }
}
tcp "service_port" {
  host = "198.18.0.2"
  port = 8080
  expect {
    open = true
  }
}
tcp "ssh_rejected" {
  host = "198.18.0.2"
  port = 22
  expect {
    state = "closed"
  }
}
tcp "telnet_dropped" {
  host    = "198.18.0.2"
  port    = 23
  timeout = "500ms"
  expect {
    state = "filtered"
  }
}
`})
	got, code, out = runNettest(t, cl, nil, traffic)
	if code != 0 || len(got) != 4 {
		t.Errorf("traffic from the client: exit code %d, %d results, want 0 and 4\n%s", code, len(got), out)
	}

	// Counters: the forwarded connections went through the REDIRECT rule.
	counted := lab.SuiteDir(t, map[string]string{"counted.nettest.hcl": `
iptables "forward" {
  chain     = "PREROUTING"
  protocol  = "tcp"
  from_port = 80
  to_port   = 8080
  expect {
    present = true
  }
  assert {
    condition     = self.packets >= 2 && self.bytes > 0
    error_message = "the forward carried no traffic"
  }
}
`})
	got, code, out = runNettest(t, srv, nil, counted)
	if code != 0 || got["iptables.forward"].Status != "pass" {
		t.Errorf("counters after the traffic: exit code %d\n%s", code, out)
	}
}

// TestNoPrivilegesEndToEnd runs nettest as user nobody on the server: the
// check errors with a message that says what is needed, and the run exits 1.
func TestNoPrivilegesEndToEnd(t *testing.T) {
	_, srv := server(t)
	setpriv := lab.RequireBinary(t, "setpriv", "util-linux")
	dir := lab.SuiteDir(t, map[string]string{"rules.nettest.hcl": `
iptables "redirect" {
  table = "nat"
  chain = "PREROUTING"
  rule  = "-p tcp --dport 80 -j REDIRECT --to-ports 8080"
  expect {
    present = false
  }
}
`})
	got, code, out := runNettest(t, srv, []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}, dir)
	r := got["iptables.redirect"]
	want := "reading iptables rules needs root: run nettest as root (sudo nettest test …) or with the capabilities CAP_NET_ADMIN and CAP_NET_RAW"
	if code != 1 || r.Status != "error" || !strings.Contains(r.Message, want) {
		t.Errorf("as nobody: exit code %d, %s %q; want 1, error %q\n%s", code, r.Status, r.Message, want, out)
	}
}

// checkReported is checktest.ExpectReported over results by address.
func checkReported(t *testing.T, results map[string]report.Result, wants []checktest.Want) {
	t.Helper()
	list := make([]report.Result, 0, len(results))
	for _, r := range results {
		list = append(list, r)
	}
	checktest.ExpectReported(t, list, wants)
}
