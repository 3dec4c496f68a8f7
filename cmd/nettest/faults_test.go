package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
)

// These tests point the binary at servers that misbehave — that accept and
// never answer, never stop answering, or answer with binary garbage — and
// check that every run ends within its checks' timeouts and that its
// reports stay readable and valid. They run on loopback and need no root,
// except the ICMP permission test.

// garbage is what a broken or hostile server may send: NUL bytes, terminal
// escape sequences (ESC[2J clears the screen), bytes that are not UTF-8 and
// the end of an XML CDATA section.
const garbage = "\x00\x01\x1b[2J\x1b[31mred\x1b[0m \xff\xfe\xc3\x28 ]]> <![CDATA[ </failure> &amp; \x7f\x00"

func TestFaults(t *testing.T) {
	// Accepts, reads the request and never answers.
	silentHTTP := lab.ServeTCP(t, func(c net.Conn) {
		lab.ReadHTTPHead(c)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		c.Read(make([]byte, 1)) // until the client gives up or cleanup
	})
	// Answers 200 and then sends body without end, until the client
	// closes the connection (bounded, in case it never does).
	endlessHTTP := lab.ServeTCP(t, func(c net.Conn) {
		if !lab.ReadHTTPHead(c) {
			return
		}
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"))
		chunk := bytes.Repeat([]byte("all work and no play "), 1600)
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for i := 0; i < 50000; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	// A 200 whose body is binary garbage.
	garbageHTTP := lab.ServeTCP(t, func(c net.Conn) {
		if !lab.ReadHTTPHead(c) {
			return
		}
		body := strings.Repeat(garbage, 4)
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body))
	})
	// Garbage instead of an HTTP answer, which ends up in the error message.
	garbageStatus := lab.ServeTCP(t, func(c net.Conn) {
		if !lab.ReadHTTPHead(c) {
			return
		}
		c.Write([]byte(garbage + "\r\n\r\n"))
	})
	// A DNS server that reads every query and answers none.
	dnsConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dnsConn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := dnsConn.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	silentDNS := dnsConn.LocalAddr().String()

	url := func(addr string) string { return "http://" + addr + "/" }
	tests := []struct {
		name    string
		suite   string
		timeout time.Duration // the check's timeout, which bounds the run
		status  string
		message string
	}{
		{
			name: "http server that never answers",
			suite: `http "silent" {
  url     = "` + url(silentHTTP) + `"
  timeout = "500ms"
  expect {
    status = 200
  }
}`,
			timeout: 500 * time.Millisecond,
			status:  "error",
			message: "accepted the connection but sent no answer to " + url(silentHTTP) + " within ",
		},
		{
			name: "http body without end",
			suite: `http "endless" {
  url     = "` + url(endlessHTTP) + `"
  timeout = "2s"
  expect {
    status = 200
  }
  assert {
    condition     = self.body_truncated && substr(self.body, 0, 9) == "all work "
    error_message = "the body was not cut at body_limit"
  }
}`,
			timeout: 2 * time.Second,
			status:  "pass",
		},
		{
			name: "dns server that never answers",
			suite: `dns "silent" {
  name    = "api.lab.test"
  server  = "` + silentDNS + `"
  timeout = "500ms"
  expect {
    rcode = "NOERROR"
  }
}`,
			timeout: 500 * time.Millisecond,
			status:  "error",
			message: "no answer from " + silentDNS + " over udp within ",
		},
		{
			name: "garbage instead of HTTP",
			suite: `http "garbage" {
  url     = "` + url(garbageStatus) + `"
  timeout = "1s"
  expect {
    status = 200
  }
}`,
			timeout: time.Second,
			status:  "error",
			message: "did not answer " + url(garbageStatus) + " with HTTP",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			suite := filepath.Join(t.TempDir(), "fault.nettest.hcl")
			os.WriteFile(suite, []byte(tt.suite+"\n"), 0o644)
			start := time.Now()
			r := runIn(t, tt.timeout+10*time.Second, "", "test", "--json", suite)
			took := time.Since(start)
			if took > tt.timeout+2*time.Second {
				t.Errorf("the run took %s, more than the check's timeout %s + 2s", took, tt.timeout)
			}
			got, _ := verdicts(t, r)
			if len(got) != 1 {
				t.Fatalf("want one verdict, got %v", got)
			}
			for _, v := range got {
				if v.Status != tt.status || !strings.Contains(v.Message, tt.message) {
					t.Errorf("%s: %s %q, want %s with %q", v.Address, v.Status, v.Message, tt.status, tt.message)
				}
			}
		})
	}

	// Garbage in a body that fails its expectation, and in an error
	// message: the console shows it escaped, and the JUnit report, which
	// holds both, still validates.
	t.Run("garbage in the reports", func(t *testing.T) {
		dir := t.TempDir()
		suite := filepath.Join(dir, "garbage.nettest.hcl")
		os.WriteFile(suite, []byte(`http "body" {
  url     = "`+url(garbageHTTP)+`"
  timeout = "1s"
  expect {
    status        = 200
    body_contains = "healthy"
  }
}

http "status_line" {
  url     = "`+url(garbageStatus)+`"
  timeout = "1s"
  expect {
    status = 200
  }
}
`), 0o644)
		junit := filepath.Join(dir, "report.xml")
		r := runIn(t, 15*time.Second, "", "test", "--junit="+junit, suite)
		if r.code != 1 {
			t.Errorf("exit code %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
		}
		out := r.stdout + r.stderr
		if i := strings.IndexAny(out, "\x1b\x00"); i >= 0 {
			t.Errorf("the console output holds a raw control byte %q at %d:\n%q", out[i], i, out)
		}
		for _, s := range []string{"http.body", `expected contains "healthy"`, "http.status_line", "0 passed, 1 failed, 1 errored, 0 skipped"} {
			if !strings.Contains(out, s) {
				t.Errorf("the console output lacks %q:\n%s", s, out)
			}
		}
		validateJUnit(t, junit, 2)
	})
}

// TestPingWithoutPermission runs a ping check as the user nobody, who may
// neither open a raw ICMP socket (no CAP_NET_RAW) nor an unprivileged one
// (net.ipv4.ping_group_range is "1 0", the kernel's default, in the lab's
// namespace): the check errors and the message names the three fixes.
func TestPingWithoutPermission(t *testing.T) {
	l := lab.New(t)
	setpriv := lab.RequireBinary(t, "setpriv", "util-linux")
	h := l.Host("noping")
	// The namespace is the test's own: its sysctl is ours to set, and the
	// machine's own setting (often "0 2147483647") does not matter here.
	if err := h.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("1 0"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	// nobody must be able to run the binary and read the suite: a copy in a
	// directory that everyone may read.
	dir, err := os.MkdirTemp("", "nettest-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "nettest")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	suite := filepath.Join(dir, "ping.nettest.hcl")
	os.WriteFile(suite, []byte(`ping "loopback" {
  host    = "127.0.0.1"
  timeout = "1s"
  expect {
    reachable = true
  }
}
`), 0o644)

	r := runArgv(t, 15*time.Second, "ip", "netns", "exec", h.Name(),
		setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "test", "--json", suite)
	if r.code != 1 {
		t.Errorf("exit code %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	got, _ := verdicts(t, r)
	v := got["ping.loopback"]
	if v.Status != "error" {
		t.Fatalf("ping.loopback: %s %q, want error", v.Status, v.Message)
	}
	for _, fix := range []string{"no permission to send ICMP echo requests", "CAP_NET_RAW", "setcap cap_net_raw+ep", `net.ipv4.ping_group_range is "1 0"`, "sysctl -w"} {
		if !strings.Contains(v.Message, fix) {
			t.Errorf("the message lacks %q: %s", fix, v.Message)
		}
	}
}
