package tcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks/tcp"
	"github.com/nettest/nettest/internal/lab"
)

// Ports the server's firewall treats specially, one per case.
const (
	portDrop           = 7001
	portHostProhib     = 7002
	portAdminProhib    = 7003
	portTCPReset       = 7004
	portPortUnreach    = 7005
	portNetUnreach     = 7006
	portLocalDrop      = 7007
	portClosed         = 7009
	serverV4, serverV6 = "198.18.3.2", "2001:db8:3::2"
)

// TestProbeStatesInLab proves the three states as a client sees them across
// a real link: a listener (open), no listener (closed, by reset), and every
// way a firewall answers or stays silent (filtered or closed, as documented
// in the package comment). The probe runs on a thread inside the client's
// namespace, so what it sees is what a user on that host would see.
func TestProbeStatesInLab(t *testing.T) {
	l := lab.New(t)
	client, server := l.Host("client"), l.Host("server")
	l.Link(client, "198.18.3.1/24", server, serverV4+"/24")
	l.Link(client, "2001:db8:3::1/64", server, serverV6+"/64")

	open4 := server.Listen(t, "tcp4", serverV4+":0")
	go serve(open4)
	open6 := server.Listen(t, "tcp6", "["+serverV6+"]:0")
	go serve(open6)

	reject := func(port int, with string) {
		server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", strconv.Itoa(port), "-j", "REJECT", "--reject-with", with)
	}
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", strconv.Itoa(portDrop), "-j", "DROP")
	reject(portHostProhib, "icmp-host-prohibited")
	reject(portAdminProhib, "icmp-admin-prohibited")
	reject(portTCPReset, "tcp-reset")
	reject(portPortUnreach, "icmp-port-unreachable")
	reject(portNetUnreach, "icmp-net-unreachable")
	// A rule on the client itself: the kernel refuses the connect outright.
	client.Iptables(t, "-A", "OUTPUT", "-p", "tcp", "--dport", strconv.Itoa(portLocalDrop), "-j", "DROP")

	tests := []struct {
		name    string
		host    string
		port    int
		timeout time.Duration
		state   string
		errText string // exact, or a prefix when it ends in "("
	}{
		{"open (listener)", serverV4, port(open4), 2 * time.Second, tcp.Open, ""},
		{"open over IPv6", serverV6, port(open6), 2 * time.Second, tcp.Open, ""},
		{"closed (no listener: reset)", serverV4, portClosed, 2 * time.Second, tcp.Closed, "connection refused"},
		{"closed over IPv6", serverV6, portClosed, 2 * time.Second, tcp.Closed, "connection refused"},
		{"filtered (DROP: no answer)", serverV4, portDrop, 300 * time.Millisecond, tcp.Filtered, "no answer within the timeout"},
		// The REJECT cases get a long timeout: the answer must come from the
		// ICMP or RST the firewall sends, not from the clock.
		{"filtered (REJECT icmp-host-prohibited)", serverV4, portHostProhib, 5 * time.Second, tcp.Filtered, "host unreachable (ICMP)"},
		{"filtered (REJECT icmp-admin-prohibited)", serverV4, portAdminProhib, 5 * time.Second, tcp.Filtered, "host unreachable (ICMP)"},
		{"filtered (REJECT icmp-net-unreachable)", serverV4, portNetUnreach, 5 * time.Second, tcp.Filtered, "network unreachable"},
		{"closed (REJECT tcp-reset)", serverV4, portTCPReset, 5 * time.Second, tcp.Closed, "connection refused"},
		{"closed (REJECT icmp-port-unreachable)", serverV4, portPortUnreach, 5 * time.Second, tcp.Closed, "connection refused"},
		// TCP retransmits a SYN its own firewall dropped instead of failing
		// the connect, so a local DROP looks like a remote one.
		{"filtered (local OUTPUT DROP)", serverV4, portLocalDrop, 300 * time.Millisecond, tcp.Filtered, "no answer within the timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tcp.Config{Host: tt.host, Port: tt.port}
			var got tcp.Result
			var probeErr error
			start := time.Now()
			// The host is an IP literal, so Probe resolves nothing and dials
			// on this goroutine: the socket is the client namespace's.
			if err := client.Do(func() error {
				ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
				defer cancel()
				got, probeErr = tcp.Probe(ctx, cfg)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if probeErr != nil {
				t.Fatalf("Probe(%+v) error = %v, want an observation", cfg, probeErr)
			}
			want := tcp.Result{
				Host: tt.host, Port: tt.port,
				Address: "[" + tt.host + "]:" + strconv.Itoa(tt.port),
				Open:    tt.state == tcp.Open, State: tt.state,
			}
			if !strings.Contains(tt.host, ":") {
				want.Address = tt.host + ":" + strconv.Itoa(tt.port)
			}
			if strings.HasSuffix(tt.errText, "(") {
				if !strings.HasPrefix(got.Error, tt.errText) {
					t.Errorf("error = %q, want it to start with %q", got.Error, tt.errText)
				}
				want.Error = got.Error
			} else {
				want.Error = tt.errText
			}
			if got != want {
				t.Errorf("Probe(%+v) from the client\n got %+v\nwant %+v", cfg, got, want)
			}
			// Nothing may outlast its timeout (by more than a generous margin).
			if took > tt.timeout+2*time.Second {
				t.Errorf("Probe took %s with a timeout of %s", took, tt.timeout)
			}
		})
	}
}

// TestCLIInLab runs the nettest binary inside the client namespace, as a
// user on that host would, and reads its JSON report: every state is told
// apart end to end, and a wrong expectation fails with its diff and exit 1.
func TestCLIInLab(t *testing.T) {
	l := lab.New(t)
	client, server := l.Host("client"), l.Host("server")
	l.Link(client, "198.18.4.1/24", server, "198.18.4.2/24")
	open := server.Listen(t, "tcp4", "198.18.4.2:0")
	go serve(open)
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "7001", "-j", "DROP")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "7002", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited")
	client.Hosts(t, "198.18.4.2 server.lab")

	dir := t.TempDir()
	suite := fmt.Sprintf(`
defaults {
  timeout = "500ms"
}

tcp "open" {
  host = "server.lab"   # resolved from the client's /etc/hosts
  port = %d
  expect {
    state = "open"
  }
}

tcp "closed" {
  host = "198.18.4.2"
  port = 7009
  expect {
    state = "closed"
  }
}

tcp "dropped" {
  for_each = toset([7001])
  host     = "198.18.4.2"
  port     = each.value
  expect {
    open  = false
    state = "filtered"
  }
}

tcp "rejected" {
  host = "198.18.4.2"
  port = 7002
  assert {
    condition     = self.state == "filtered" && self.error == "host unreachable (ICMP)"
    error_message = "admin-prohibited must read as filtered"
  }
}

tcp "must_be_open" {
  host = "198.18.4.2"
  port = 7001
  expect {
    open = true
  }
}
`, port(open))
	if err := os.WriteFile(filepath.Join(dir, "lab.nettest.hcl"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := client.Exec(lab.Nettest(t), "test", "--json", dir)
	if code != 1 {
		t.Errorf("exit code = %d, want 1 (one check fails)\nstderr:\n%s", code, stderr)
	}

	type diff struct{ Field, Expected, Actual string }
	type line struct {
		Type, Address, Status, Message string
		Diffs                          []diff
		Passed, Failed, Errored        int
	}
	got := map[string]line{}
	var summary line
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		if v.Type == "summary" {
			summary = v
		} else {
			got[v.Address] = v
		}
	}
	tests := []struct {
		address, status string
		diffs           []diff
	}{
		{"tcp.open", "pass", nil},
		{"tcp.closed", "pass", nil},
		{`tcp.dropped["7001"]`, "pass", nil},
		{"tcp.rejected", "pass", nil},
		{"tcp.must_be_open", "fail", []diff{{"open", "true", "false (filtered: no answer within the timeout)"}}},
	}
	for _, tt := range tests {
		g := got[tt.address]
		if g.Status != tt.status || len(g.Diffs) != len(tt.diffs) || (len(tt.diffs) > 0 && g.Diffs[0] != tt.diffs[0]) {
			t.Errorf("%s = %s %+v (%s), want %s %+v", tt.address, g.Status, g.Diffs, g.Message, tt.status, tt.diffs)
		}
	}
	if summary.Passed != 4 || summary.Failed != 1 || summary.Errored != 0 {
		t.Errorf("summary = %+v, want 4 passed, 1 failed\nstdout:\n%s", summary, stdout)
	}
}
