package udp_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/udp"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

// serve starts a UDP server on loopback that answers each datagram with
// answer(datagram), or stays silent when answer returns nil; it returns its
// port and a channel of the datagrams it got.
func serve(t *testing.T, network, addr string, answer func([]byte) []byte) (int, <-chan string) {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s here: %v", network, addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	got := make(chan string, 16)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case got <- string(buf[:n]):
			default:
			}
			if reply := answer(buf[:n]); reply != nil {
				pc.WriteTo(reply, from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port, got
}

func probe(t *testing.T, cfg udp.Config, timeout time.Duration) udp.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := udp.Probe(ctx, cfg)
	if err != nil {
		t.Fatalf("Probe(%+v): %v", cfg, err)
	}
	return r
}

// TestProbeLoopback: a reply is open (with the reply), a port nobody reads
// is closed by the kernel's port unreachable (from the destination itself,
// so delivered), and a server that reads and never answers is
// open|filtered at the timeout, delivered unknown — over IPv4 and IPv6.
func TestProbeLoopback(t *testing.T) {
	echo := func(b []byte) []byte { return append([]byte("echo: "), b...) }
	silent := func([]byte) []byte { return nil }
	for _, host := range []string{"127.0.0.1", "::1"} {
		network := "udp4"
		if strings.Contains(host, ":") {
			network = "udp6"
		}
		t.Run(host, func(t *testing.T) {
			port, got := serve(t, network, net.JoinHostPort(host, "0"), echo)
			r := probe(t, udp.Config{Host: host, Port: port, Payload: new("<14>nettest probe")}, time.Second)
			if r.State != udp.Open || r.Reply != "echo: <14>nettest probe" || r.Delivered == nil || !*r.Delivered || r.ICMP != nil {
				t.Errorf("echo server: %+v", r)
			}
			if d := <-got; d != "<14>nettest probe" {
				t.Errorf("the server got %q", d)
			}

			closed := lab.ClosedPort(t, network, net.JoinHostPort(host, "0"))
			r = probe(t, udp.Config{Host: host, Port: closed, PayloadHex: new("de ad:be ef")}, time.Second)
			if r.State != udp.Closed || r.ICMP == nil || r.ICMP.Name != "port unreachable" || r.ICMP.From != host || r.Delivered == nil || !*r.Delivered {
				t.Errorf("port nobody reads: %+v (icmp %+v)", r, r.ICMP)
			}

			port, got = serve(t, network, net.JoinHostPort(host, "0"), silent)
			start := time.Now()
			r = probe(t, udp.Config{Host: host, Port: port}, 300*time.Millisecond)
			if r.State != udp.OpenFiltered || r.Delivered != nil || r.Error != "no answer within the timeout" {
				t.Errorf("silent server: %+v", r)
			}
			if waited := time.Since(start); waited < 250*time.Millisecond {
				t.Errorf("open|filtered after %s, before the timeout", waited)
			}
			if d := <-got; d != "" {
				t.Errorf("an empty datagram was expected, the server got %q", d)
			}
		})
	}
}

// TestSuite runs udp blocks through the loader and the runner: the
// expectations and their diffs as a user reads them.
func TestSuite(t *testing.T) {
	port, _ := serve(t, "udp4", "127.0.0.1:0", func(b []byte) []byte { return []byte("pong") })
	closed := lab.ClosedPort(t, "udp4", "127.0.0.1:0")
	src := fmt.Sprintf(`
udp "open" {
  host    = "127.0.0.1"
  port    = %[1]d
  payload = "ping"
  expect {
    state          = "open"
    reply_contains = "pong"
    delivered      = true
  }
}
udp "wrong_reply" {
  host    = "127.0.0.1"
  port    = %[1]d
  expect {
    reply_contains = "PONG"
  }
}
udp "closed" {
  host = "127.0.0.1"
  port = %[2]d
  expect {
    state = "open"
  }
}
udp "closed_reply" {
  host = "127.0.0.1"
  port = %[2]d
  expect {
    reply_contains = "x"
  }
}
udp "closed_ok" {
  host = "127.0.0.1"
  port = %[2]d
  assert {
    condition     = self.icmp.name == "port unreachable" && self.icmp.from == "127.0.0.1" && self.icmp.type == 3 && self.icmp.code == 3
    error_message = "not the kernel's port unreachable"
  }
}
`, port, closed)
	checktest.Expect(t, checktest.Run(t, src), []checktest.Want{
		{Address: "udp.open", Status: runner.Pass},
		{Address: "udp.wrong_reply", Status: runner.Fail, Diffs: []checks.Diff{{Field: "reply", Expected: `contains "PONG"`, Actual: `"pong"`}}},
		{Address: "udp.closed", Status: runner.Fail, Diffs: []checks.Diff{{Field: "state", Expected: `"open"`, Actual: `"closed" (port unreachable from 127.0.0.1)`}}},
		{Address: "udp.closed_reply", Status: runner.Fail, Diffs: []checks.Diff{{Field: "reply", Expected: `contains "x"`, Actual: "no reply (closed)"}}},
		{Address: "udp.closed_ok", Status: runner.Pass},
	})
}

// TestDeliveredWithoutWitness: silence says nothing about delivery, and the
// diff says so.
func TestDeliveredWithoutWitness(t *testing.T) {
	port, _ := serve(t, "udp4", "127.0.0.1:0", func([]byte) []byte { return nil })
	outcomes := checktest.Run(t, fmt.Sprintf(`
udp "syslog" {
  host    = "127.0.0.1"
  port    = %d
  payload = "<14>hello"
  timeout = "200ms"
  expect {
    delivered = true
  }
}
`, port))
	checktest.Expect(t, outcomes, []checktest.Want{{Address: "udp.syslog", Status: runner.Fail, Diffs: []checks.Diff{{
		Field: "delivered", Expected: "true", Actual: "unknown (silence, and no witness at the destination to say whether it arrived)"}}}})
}

// TestWitnessNeedsVantage: a witness that is no vantage of the run is an
// error that says what to do.
func TestWitnessNeedsVantage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := udp.Probe(ctx, udp.Config{Host: "127.0.0.1", Port: 9, Witness: new("server")})
	if err == nil || !strings.Contains(err.Error(), "witness = vantage.server cannot be reached from here") {
		t.Errorf("error %v", err)
	}
}

// TestInvalid: configuration mistakes are found before anything runs
// (testdata/invalid marks each on its line).
func TestInvalid(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}
