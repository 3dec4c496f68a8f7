package lab

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/report"
)

// Nettest runs `nettest test --json ARGS…` with the binary of Nettest(t)
// inside the namespace, as a user on that host would, and returns the
// result lines in the order printed, decoded by the report package as
// every reader of the report does, the summary line (zero when none was
// printed), the exit code and everything printed (stdout, then stderr) for
// failure messages. A line that does not decode fails the test at once.
func (h *Host) Nettest(t testing.TB, args ...string) (results []report.Result, summary report.Summary, exitCode int, output string) {
	t.Helper()
	return h.NettestVia(t, nil, args...)
}

// NettestVia is Nettest run through a wrapper command, such as
// ["env", "SSL_CERT_FILE=…"] or ["setpriv", "--reuid=65534", …].
func (h *Host) NettestVia(t testing.TB, wrapper []string, args ...string) (results []report.Result, summary report.Summary, exitCode int, output string) {
	t.Helper()
	cmd := append(append(append([]string{}, wrapper...), Nettest(t), "test", "--json"), args...)
	stdout, stderr, code := h.Exec(cmd...)
	rep, err := report.DecodeJSONL(strings.NewReader(stdout), "nettest's output")
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if rep.Summary != nil {
		summary = *rep.Summary
	}
	return rep.Results, summary, code, stdout + stderr
}

// ByAddress indexes results by check address.
func ByAddress(results []report.Result) map[string]report.Result {
	m := make(map[string]report.Result, len(results))
	for _, r := range results {
		m[r.Address] = r
	}
	return m
}

// SuiteDir writes files (name → content, such as "lab.nettest.hcl") into a
// new directory and returns it; it is removed at cleanup. Unlike
// t.TempDir, the directory is readable by every user, so nettest run as
// nobody through NettestVia can read the suite too.
func SuiteDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nettest-suite-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// OpenPort listens on addr (host:0 for any free port) with network ("tcp4",
// "tcp6", …) and accepts and closes every connection until the test ends:
// an open TCP port. It returns the port. A machine without IPv6 skips the
// test, saying so; any other failure fails it.
func OpenPort(t testing.TB, network, addr string) int {
	t.Helper()
	ln := listenLoopback(t, network, addr)
	t.Cleanup(func() { ln.Close() })
	go AcceptAndClose(ln)
	return ln.Addr().(*net.TCPAddr).Port
}

// ClosedPort returns a port of addr's host (host:0) that was bound with
// network ("tcp4", "udp6", …) and let go, so nothing listens there now: the
// kernel answers a TCP SYN with a reset and a UDP datagram with a port
// unreachable. A machine without IPv6 skips the test, as with OpenPort.
func ClosedPort(t testing.TB, network, addr string) int {
	t.Helper()
	if strings.HasPrefix(network, "udp") {
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			listenFailed(t, network, addr, err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln := listenLoopback(t, network, addr)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func listenLoopback(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		listenFailed(t, network, addr, err)
	}
	return ln
}

// listenFailed skips the test where the machine has no IPv6 and fails it
// otherwise.
func listenFailed(t testing.TB, network, addr string, err error) {
	t.Helper()
	if strings.HasSuffix(network, "6") || strings.Contains(addr, "[") {
		t.Skipf("cannot listen on %s %s here (no IPv6?): %v", network, addr, err)
	}
	t.Fatalf("cannot listen on %s %s: %v", network, addr, err)
}

// AcceptAndClose accepts connections on ln and closes each at once, until
// ln is closed: an open TCP port whose accept queue never fills. Run it on
// a goroutine of its own.
func AcceptAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// Probe calls a kind's probe in the namespace of h, in this process (see
// Do), with a context that ends after timeout, as the runner would with the
// check's timeout.
func Probe[C, R any](h *Host, timeout time.Duration, probe func(context.Context, C) (R, error), cfg C) (R, error) {
	var r R
	err := h.Do(func() (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		r, err = probe(ctx, cfg)
		return err
	})
	return r, err
}
