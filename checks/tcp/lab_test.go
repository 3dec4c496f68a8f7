package tcp_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
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
	go lab.AcceptAndClose(open4)
	open6 := server.Listen(t, "tcp6", "["+serverV6+"]:0")
	go lab.AcceptAndClose(open6)

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
			start := time.Now()
			// The host is an IP literal, so Probe resolves nothing and dials
			// on the goroutine lab.Probe switches: the socket is the client
			// namespace's.
			got, err := lab.Probe(client, tt.timeout, tcp.Probe, cfg)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Probe(%+v) error = %v, want an observation", cfg, err)
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
	go lab.AcceptAndClose(open)
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "7001", "-j", "DROP")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "7002", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited")
	client.Hosts(t, "198.18.4.2 server.lab")

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
	results, summary, code, out := client.Nettest(t, lab.SuiteDir(t, map[string]string{"lab.nettest.hcl": suite}))
	if code != 1 {
		t.Errorf("exit code = %d, want 1 (one check fails)\n%s", code, out)
	}
	got := lab.ByAddress(results)
	tests := []struct {
		address, status string
		diffs           []checks.Diff
	}{
		{"tcp.open", "pass", nil},
		{"tcp.closed", "pass", nil},
		{`tcp.dropped["7001"]`, "pass", nil},
		{"tcp.rejected", "pass", nil},
		{"tcp.must_be_open", "fail", []checks.Diff{{Field: "open", Expected: "true", Actual: "false (filtered: no answer within the timeout)"}}},
	}
	for _, tt := range tests {
		g := got[tt.address]
		if g.Status != tt.status || !slices.Equal(g.TextDiffs(), tt.diffs) {
			t.Errorf("%s = %s %+v (%s), want %s %+v", tt.address, g.Status, g.TextDiffs(), g.Message, tt.status, tt.diffs)
		}
	}
	if summary.Passed != 4 || summary.Failed != 1 || summary.Errored != 0 {
		t.Errorf("summary = %+v, want 4 passed, 1 failed\n%s", summary, out)
	}
}
