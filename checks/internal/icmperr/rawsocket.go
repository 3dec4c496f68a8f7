package icmperr

import (
	"net"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Raw ICMP sockets (ip4:icmp, ip6:ipv6-icmp) get every ICMP message the
// host receives; ping and traceroute share one per namespace and family
// and set it up the same way.

// FilterRaw sets the kernel's ICMP filter of a raw ICMP socket so that only
// echo replies and the errors that may be about a request of ours
// (Destination Unreachable, Time Exceeded) are queued: echo requests this
// host answers (our own on loopback), neighbour discovery and the rest are
// dropped before they reach us.
func FilterRaw(c net.PacketConn, v6 bool) error {
	if v6 {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		f.Accept(ipv6.ICMPTypeDestinationUnreachable)
		f.Accept(ipv6.ICMPTypeTimeExceeded)
		return ipv6.NewPacketConn(c).SetICMPFilter(&f)
	}
	var f ipv4.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv4.ICMPTypeEchoReply)
	f.Accept(ipv4.ICMPTypeDestinationUnreachable)
	f.Accept(ipv4.ICMPTypeTimeExceeded)
	return ipv4.NewPacketConn(c).SetICMPFilter(&f)
}

// GrowReadBuffer asks for a receive buffer of n bytes: the answers to many
// parallel requests arrive in a burst, and what does not fit is lost.
// SO_RCVBUFFORCE goes past net.core.rmem_max (208 KiB on most systems) but
// needs CAP_NET_ADMIN, which root has; with CAP_NET_RAW alone, SO_RCVBUF
// gets what rmem_max allows.
func GrowReadBuffer(c *net.IPConn, n int) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
	})
}
