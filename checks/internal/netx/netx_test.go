package netx

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	ctx := context.Background()
	for host, want := range map[string]string{
		"127.0.0.1":        "127.0.0.1",
		"::ffff:127.0.0.1": "127.0.0.1", // unmapped, as every kind reports it
		"fe80::1%lo":       "fe80::1%lo",
		"localhost":        "", // from /etc/hosts: 127.0.0.1 or ::1
	} {
		ips, err := Lookup(ctx, host)
		if err != nil || len(ips) == 0 {
			t.Errorf("Lookup(%q) = %v, %v", host, ips, err)
			continue
		}
		if want != "" && ips[0].String() != want {
			t.Errorf("Lookup(%q) = %s, want %s", host, ips[0], want)
		}
		if want == "" && !ips[0].IsLoopback() {
			t.Errorf("Lookup(%q) = %s, want a loopback address", host, ips[0])
		}
	}
}

// The message of a name that does not resolve; the resolver itself is not
// asked, since a test must not send a query to the machine's DNS server.
func TestResolveError(t *testing.T) {
	err := ResolveError("nope.example", &net.DNSError{Err: "no such host", Name: "nope.example", Server: "192.0.2.53:53", IsNotFound: true})
	want := `cannot resolve host "nope.example": no such host; check the name, /etc/hosts and /etc/resolv.conf, or use an IP address`
	if err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
}

func TestClassify(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, refused := net.Dial("tcp", closed)

	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	interrupted, stop := context.WithCancel(context.Background())
	stop()
	ctx := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want Cause
	}{
		{"a closed port on loopback", ctx, refused, Refused},
		{"a reset", ctx, &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, Reset},
		{"the deadline passed", expired, errors.New("dial tcp: i/o timeout"), TimedOut},
		{"a socket deadline first", ctx, os.ErrDeadlineExceeded, TimedOut},
		{"cancelled", interrupted, context.Canceled, Interrupted},
		{"ICMP host unreachable", ctx, syscall.EHOSTUNREACH, HostUnreachable},
		{"no route", ctx, syscall.ENETUNREACH, NetUnreachable},
		{"a local rule", ctx, syscall.EPERM, Blocked},
		{"out of file descriptors", ctx, syscall.EMFILE, Other},
	}
	for _, tt := range tests {
		if got := Classify(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: Classify(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestChecksum: an ICMP echo request with its checksum filled in sums to
// zero, and a known message gives its known checksum (RFC 1071's example
// words, and an odd length padded with a zero byte).
func TestChecksum(t *testing.T) {
	if got := Checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); got != ^uint16(0xddf2) {
		t.Errorf("RFC 1071 example: %#04x, want %#04x", got, ^uint16(0xddf2))
	}
	msg := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'n', 'e', 't'}
	c := Checksum(msg)
	msg[2], msg[3] = byte(c>>8), byte(c)
	if got := Checksum(msg); got != 0 {
		t.Errorf("a message with its checksum filled in sums to %#04x, want 0", got)
	}
}
