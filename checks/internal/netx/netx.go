// Package netx is the one door through which the dialing kinds (tcp, http,
// ping, traceroute, dns) reach the network's names and read its errors:
// resolving a host, and telling an answer of the network (a refusal, an
// ICMP unreachable, silence) from a failure of this machine. Keeping it in
// one place keeps the kinds' messages alike, and gives a vantage point one
// seam to stand behind.
package netx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// Lookup returns the addresses of host, IPv4 ones unmapped. An IP address
// is its own answer, without the resolver's allocations and locks, which
// matter in a suite of thousands of checks of addresses; a name goes to the
// system resolver (/etc/hosts, then /etc/resolv.conf). A name that does not
// resolve is an error whose text says what to check: the check could not
// be carried out, which is not the same as a host that does not answer.
func Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	ips, err := LookupName(ctx, host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("resolving %q did not finish within the timeout; check the resolver in /etc/resolv.conf or use an IP address", host)
		}
		return nil, ResolveError(host, err)
	}
	return ips, nil
}

// LookupName asks the system resolver for the addresses of name, IPv4 ones
// unmapped, and returns its own error, for a kind that words the failure
// itself (dns names the server it could not find). No addresses is an
// error too.
func LookupName(ctx context.Context, name string) ([]netip.Addr, error) {
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err == nil && len(ips) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		return nil, err
	}
	for i, a := range ips {
		if a.Is4In6() {
			ips[i] = a.Unmap()
		}
	}
	return ips, nil
}

// ResolveError is the message of a host name that did not resolve; cause
// is the resolver's error (a *net.DNSError says "no such host").
func ResolveError(host string, cause error) error {
	var dnsErr *net.DNSError
	if errors.As(cause, &dnsErr) {
		cause = errors.New(dnsErr.Err)
	}
	return fmt.Errorf("cannot resolve host %q: %v; check the name, /etc/hosts and /etc/resolv.conf, or use an IP address", host, cause)
}

// Cause is what a failed connection attempt says about the network.
type Cause int

// The causes Classify tells apart. Other is anything that is no answer of
// the network: the kind decides (checks.LocalFailure names this machine's
// own failures).
const (
	Other Cause = iota
	// Refused: the host answered with a reset to the SYN, or an ICMP
	// port-unreachable, which the kernel reports the same way.
	Refused
	// Reset: the connection was reset or closed after it was accepted.
	Reset
	// Interrupted: the run was cancelled (Ctrl-C).
	Interrupted
	// TimedOut: nothing came back within the timeout.
	TimedOut
	// HostUnreachable and NetUnreachable: an ICMP unreachable, or no route.
	HostUnreachable
	NetUnreachable
	// Blocked: a firewall rule of this machine refused to send.
	Blocked
)

// Classify reads a dial or I/O error. ctx is the attempt's context: the
// dialer turns its deadline into a socket deadline, which can fire
// (os.ErrDeadlineExceeded, "i/o timeout") a moment before the context
// itself reports that it is done.
func Classify(ctx context.Context, err error) Cause {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.ECONNRESET):
		return Reset
	case errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled):
		return Interrupted
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT):
		return TimedOut
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return HostUnreachable
	case errors.Is(err, syscall.ENETUNREACH):
		return NetUnreachable
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return Blocked
	}
	return Other
}

// Checksum is the Internet checksum (RFC 1071) of an ICMP message whose
// checksum field is zero: what the kernel leaves to a raw socket's writer.
func Checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
