package tcp

import (
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestClassify: only answers of the network become states; every error
// this machine caused is the check's error, whatever the expectation.
func TestClassify(t *testing.T) {
	dial := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	tests := []struct {
		err          error
		state, error string
	}{
		{dial(syscall.ECONNREFUSED), Closed, ""},
		{dial(syscall.ECONNRESET), Closed, ""}, // a reset during the handshake is an answer
		{dial(syscall.ETIMEDOUT), Filtered, ""},
		{dial(syscall.EHOSTUNREACH), Filtered, ""},
		{dial(syscall.ENETUNREACH), Filtered, ""},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}, "", "lower --parallelism, or raise the open-files limit (ulimit -n)"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.ENFILE)}, "", "ulimit -n"},
		{dial(syscall.ENOBUFS), "", "ran out of socket buffers"},
		{dial(syscall.EADDRNOTAVAIL), "", "no local address or port was free"},
		{dial(syscall.EPROTO), "", "not an answer from the network"},
	}
	for _, tt := range tests {
		state, _, err := classify(context.Background(), tt.err)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if state != tt.state || (tt.error == "") != (err == nil) || !strings.Contains(got, tt.error) {
			t.Errorf("%v: state %q, error %q; want state %q, error containing %q", tt.err, state, got, tt.state, tt.error)
		}
	}
}
