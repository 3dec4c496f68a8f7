package tcp_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/tcp"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// TestProbeLoopback covers what loopback can show: open and closed on IPv4
// and IPv6, by address and by the name localhost. Filtered needs a firewall
// and lives in lab_test.go.
func TestProbeLoopback(t *testing.T) {
	v4 := lab.OpenPort(t, "tcp4", "127.0.0.1:0")
	// localhost may resolve to ::1 first; listen there on the same port
	// when the machine has IPv6, so the answer is "open" either way.
	if ln, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(v4))); err == nil {
		t.Cleanup(func() { ln.Close() })
		go lab.AcceptAndClose(ln)
	}
	closed4 := lab.ClosedPort(t, "tcp4", "127.0.0.1:0")

	tests := []struct {
		name string
		// cfg may start listeners; it skips the case when the machine
		// lacks IPv6.
		cfg  func(t *testing.T) tcp.Config
		want func(cfg tcp.Config) tcp.Result
	}{
		{
			name: "open IPv4",
			cfg:  func(*testing.T) tcp.Config { return tcp.Config{Host: "127.0.0.1", Port: v4} },
			want: func(c tcp.Config) tcp.Result {
				return tcp.Result{Host: c.Host, Port: c.Port, Address: "127.0.0.1:" + strconv.Itoa(c.Port), Open: true, State: tcp.Open}
			},
		},
		{
			name: "closed IPv4",
			cfg:  func(*testing.T) tcp.Config { return tcp.Config{Host: "127.0.0.1", Port: closed4} },
			want: func(c tcp.Config) tcp.Result {
				return tcp.Result{Host: c.Host, Port: c.Port, Address: "127.0.0.1:" + strconv.Itoa(c.Port), State: tcp.Closed, Error: "connection refused"}
			},
		},
		{
			name: "open IPv6",
			cfg: func(t *testing.T) tcp.Config {
				return tcp.Config{Host: "::1", Port: lab.OpenPort(t, "tcp6", "[::1]:0")}
			},
			want: func(c tcp.Config) tcp.Result {
				return tcp.Result{Host: c.Host, Port: c.Port, Address: "[::1]:" + strconv.Itoa(c.Port), Open: true, State: tcp.Open}
			},
		},
		{
			name: "closed IPv6",
			cfg: func(t *testing.T) tcp.Config {
				return tcp.Config{Host: "::1", Port: lab.ClosedPort(t, "tcp6", "[::1]:0")}
			},
			want: func(c tcp.Config) tcp.Result {
				return tcp.Result{Host: c.Host, Port: c.Port, Address: "[::1]:" + strconv.Itoa(c.Port), State: tcp.Closed, Error: "connection refused"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			got, err := tcp.Probe(ctx, cfg)
			if err != nil {
				t.Fatalf("Probe(%+v) error = %v, want an observation", cfg, err)
			}
			if want := tt.want(cfg); got != want {
				t.Errorf("Probe(%+v)\n got %+v\nwant %+v", cfg, got, want)
			}
		})
	}
}

// TestProbeLocalhostName resolves localhost through /etc/hosts, the one name
// tests may resolve without a lab resolver.
func TestProbeLocalhostName(t *testing.T) {
	v4 := lab.OpenPort(t, "tcp4", "127.0.0.1:0")
	if ln, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(v4))); err == nil {
		t.Cleanup(func() { ln.Close() })
		go lab.AcceptAndClose(ln)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := tcp.Probe(ctx, tcp.Config{Host: "localhost", Port: v4})
	if err != nil {
		t.Fatalf("Probe(localhost) error = %v", err)
	}
	p := strconv.Itoa(v4)
	if !got.Open || got.State != tcp.Open || got.Host != "localhost" ||
		(got.Address != "127.0.0.1:"+p && got.Address != "[::1]:"+p) {
		t.Errorf("Probe(localhost:%s) = %+v, want open at 127.0.0.1:%s or [::1]:%s", p, got, p, p)
	}
}

// TestProbeHonoursCancellation checks that a probe whose context is already
// over returns at once with a non-open state instead of dialing.
func TestProbeHonoursCancellation(t *testing.T) {
	open := lab.OpenPort(t, "tcp4", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	got, err := tcp.Probe(ctx, tcp.Config{Host: "127.0.0.1", Port: open})
	if time.Since(start) > time.Second {
		t.Errorf("Probe with a cancelled context took %s", time.Since(start))
	}
	if err == nil && got.Open {
		t.Errorf("Probe with a cancelled context = %+v, want not open", got)
	}
}

// TestSuiteLoopback runs tcp blocks as a user writes them, through the
// loader and runner, and checks the verdict and diff a user would read.
func TestSuiteLoopback(t *testing.T) {
	open := lab.OpenPort(t, "tcp4", "127.0.0.1:0")
	closed := lab.ClosedPort(t, "tcp4", "127.0.0.1:0")
	src := fmt.Sprintf(`
locals {
  open   = %d
  closed = %d
}

tcp "open" {
  host = "127.0.0.1"
  port = local.open
  expect {
    open  = true
    state = "open"
  }
}

tcp "closed" {
  host = "127.0.0.1"
  port = local.closed
  expect {
    open  = false
    state = "closed"
  }
}

tcp "expected_open_but_closed" {
  host = "127.0.0.1"
  port = local.closed
  expect {
    open = true
  }
}

tcp "expected_filtered_but_open" {
  host = "127.0.0.1"
  port = local.open
  expect {
    state = "filtered"
  }
}

tcp "assert_on_result" {
  host = "127.0.0.1"
  port = local.closed
  assert {
    condition     = self.error == "connection refused" && self.address == "127.0.0.1:${local.closed}"
    error_message = "unexpected error or address"
  }
}
`, open, closed)
	checktest.Expect(t, checktest.Run(t, src), []checktest.Want{
		{Address: "tcp.open", Status: runner.Pass},
		{Address: "tcp.closed", Status: runner.Pass},
		{Address: "tcp.expected_open_but_closed", Status: runner.Fail, Diffs: []checks.Diff{{Field: "open", Expected: "true", Actual: "false (closed: connection refused)"}}},
		{Address: "tcp.expected_filtered_but_open", Status: runner.Fail, Diffs: []checks.Diff{{Field: "state", Expected: `"filtered"`, Actual: `"open"`}}},
		{Address: "tcp.assert_on_result", Status: runner.Pass},
	})
}

// TestOpenPortWithoutFileDescriptors runs `expect { open = false }` against
// an open loopback port in a child process whose open-files limit is used
// up, as with --parallelism above `ulimit -n`. The dial fails before a
// packet leaves: that observed nothing, so the check errors and says what
// to do; it must not read "filtered" and pass.
func TestOpenPortWithoutFileDescriptors(t *testing.T) {
	open := lab.OpenPort(t, "tcp4", "127.0.0.1:0")
	outcomes := checktest.RunStarved(t, fmt.Sprintf(`
tcp "must_be_closed" {
  host = "127.0.0.1"
  port = %d
  expect {
    open = false
  }
}
`, open))
	checktest.Expect(t, outcomes, []checktest.Want{
		{Address: "tcp.must_be_closed", Status: runner.Error, Message: "too many open files: nettest ran out of file descriptors, so nothing was sent: lower --parallelism, or raise the open-files limit (ulimit -n)"},
	})
}
