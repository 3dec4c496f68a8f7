package icmperr

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sockets without raw access learn of ICMP errors through their error
// queue: with IP_RECVERR (IPV6_RECVERR) set, the kernel queues each error
// about a packet the socket sent, and recvmsg(MSG_ERRQUEUE) returns the
// start of that packet as data and the error as ancillary data, a
// sock_extended_err followed by the address of the router that sent it
// (SO_EE_OFFENDER). This is what tracepath and `traceroute -U` read, and it
// needs no privilege: the socket hears only about its own packets.

// ExtendedErr is one queued error.
type ExtendedErr struct {
	// Errno is the error the kernel maps it to (EHOSTUNREACH, …).
	Errno syscall.Errno
	// Origin says who reported it; OriginICMP for ICMP errors.
	Origin uint8
	// Type and Code are the ICMP type and code.
	Type, Code uint8
	// Offender is the address of the host that sent the ICMP error.
	Offender netip.Addr
}

// OriginICMP is the origin of errors that came as ICMP (v4) or ICMPv6.
func OriginICMP(v6 bool) uint8 {
	if v6 {
		return unix.SO_EE_ORIGIN_ICMP6
	}
	return unix.SO_EE_ORIGIN_ICMP
}

// ParseExtendedErr reads the data of an IP_RECVERR or IPV6_RECVERR control
// message.
func ParseExtendedErr(b []byte) (ExtendedErr, bool) {
	var ee unix.SockExtendedErr
	size := int(unsafe.Sizeof(ee))
	if len(b) < size {
		return ExtendedErr{}, false
	}
	ee = *(*unix.SockExtendedErr)(unsafe.Pointer(&b[0]))
	e := ExtendedErr{Errno: syscall.Errno(ee.Errno), Origin: ee.Origin, Type: ee.Type, Code: ee.Code}
	sa := b[size:]
	if len(sa) >= 2 {
		switch binary.NativeEndian.Uint16(sa) {
		case unix.AF_INET:
			if len(sa) >= 8 {
				e.Offender = netip.AddrFrom4([4]byte(sa[4:8]))
			}
		case unix.AF_INET6:
			if len(sa) >= 24 {
				e.Offender = netip.AddrFrom16([16]byte(sa[8:24])).Unmap()
			}
		}
	}
	return e, true
}

// maxDrain bounds one drain of an error queue; the kernel keeps it short
// (its entries count against the socket's receive buffer).
const maxDrain = 1024

// DrainErrQueue reads every entry of c's error queue, without waiting, and
// calls fn with each error that came as ICMP and the start of the packet it
// is about (its transport header on: the ICMP header of an echo request,
// the UDP header of a datagram). It returns when the queue is empty.
func DrainErrQueue(c syscall.Conn, v6 bool, fn func(packet []byte, e ExtendedErr)) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, 576)
	oob := make([]byte, 512)
	return rc.Read(func(fd uintptr) bool {
		for range maxDrain {
			n, oobn, _, _, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				break // EAGAIN: the queue is empty
			}
			if e, ok := queued(oob[:oobn], v6); ok {
				fn(buf[:n], e)
			}
		}
		return true // never park here: the caller waits on its own terms
	})
}

// queued finds the extended error among the control messages of an entry.
func queued(oob []byte, v6 bool) (ExtendedErr, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return ExtendedErr{}, false
	}
	for _, m := range msgs {
		if !(m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR) &&
			!(m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR) {
			continue
		}
		if e, ok := ParseExtendedErr(m.Data); ok && e.Origin == OriginICMP(v6) && e.Offender.IsValid() {
			return e, true
		}
	}
	return ExtendedErr{}, false
}
