package icmperr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
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

// Queued is one entry of an error queue.
type Queued struct {
	// Packet is what the error quotes of the packet it is about: from its
	// ICMP header on for an echo request, from its payload on for a UDP
	// datagram.
	Packet []byte
	// Dst and DstPort are that packet's destination; the port is 0 for
	// ICMP. (For UDP, Packet starts after the UDP header, which is where
	// the kernel takes the port from.)
	Dst     netip.Addr
	DstPort uint16
	ExtendedErr
}

// DrainErrQueue reads every entry of c's error queue, without waiting, and
// calls fn with each error that came as ICMP. It returns when the queue is
// empty.
func DrainErrQueue(c syscall.Conn, v6 bool, fn func(Queued)) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Read(func(fd uintptr) bool {
		DrainFD(int(fd), v6, fn)
		return true // never park here: the caller waits on its own terms
	})
}

// errBufs holds the buffers DrainFD reads error-queue entries into.
var errBufs = sync.Pool{New: func() any { return new(errBuf) }}

type errBuf struct {
	packet [576]byte
	oob    [512]byte
}

// DrainFD is DrainErrQueue on a raw file descriptor, for callers already
// inside a syscall.RawConn's Read. Queued.Packet is valid only during fn.
func DrainFD(fd int, v6 bool, fn func(Queued)) {
	eb := errBufs.Get().(*errBuf)
	defer errBufs.Put(eb)
	buf, oob := eb.packet[:], eb.oob[:]
	for range maxDrain {
		n, oobn, _, from, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err != nil {
			return // EAGAIN: the queue is empty
		}
		e, ok := queued(oob[:oobn], v6)
		if !ok {
			continue
		}
		q := Queued{Packet: buf[:n], ExtendedErr: e}
		switch sa := from.(type) {
		case *unix.SockaddrInet4:
			q.Dst, q.DstPort = netip.AddrFrom4(sa.Addr), uint16(sa.Port)
		case *unix.SockaddrInet6:
			q.Dst, q.DstPort = netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port)
		}
		fn(q)
	}
}

// SetRecvErr turns on IP_RECVERR (IPV6_RECVERR) for a socket of the family.
func SetRecvErr(fd int, v6 bool) error {
	if v6 {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1)
}

// ListenEcho opens an ICMP datagram socket ("ping socket"), as
// icmp.ListenPacket does, with IP_RECVERR (IPV6_RECVERR) set: without it
// the kernel reports no ICMP error to an unconnected datagram socket. Such a
// socket needs no privilege when the process's group lies in
// net.ipv4.ping_group_range; the kernel writes its own identifier (the
// socket's "port") into every echo request and hands the socket only the
// replies and errors that carry it.
func ListenEcho(v6 bool) (*net.UDPConn, error) {
	domain, proto := unix.AF_INET, unix.IPPROTO_ICMP
	var local unix.Sockaddr = &unix.SockaddrInet4{}
	if v6 {
		domain, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
		local = &unix.SockaddrInet6{}
	}
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := SetRecvErr(fd, v6); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	// Binding makes the kernel choose the socket's identifier now.
	if err := unix.Bind(fd, local); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	f := os.NewFile(uintptr(fd), "icmp")
	c, err := net.FilePacketConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("an ICMP datagram socket opened as %T", c)
	}
	return uc, nil
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

// readBufs holds the buffers ReadLoop reads datagrams into. A buffer is
// needed only while a socket has something to read, so the sockets of a
// thousand checks waiting at once share the few in use at a time instead
// of holding 64 KiB each.
var readBufs = sync.Pool{New: func() any { return new([1 << 16]byte) }}

// ReadLoop reads a socket with IP_RECVERR set until it is closed: whenever
// the socket has something, it hands every queued error to onError and
// every datagram, with the time it was read, to onDatagram (whose bytes are
// valid only during the call, as Queued.Packet's are). Both queues are
// read on the one wake-up the kernel gives for either (a queued error makes
// the socket report EPOLLERR, which wakes a reader), so neither waits for
// the other's next packet. A datagram read may instead report the errno an
// ICMP error left on the socket; that clears it, and reading goes on.
func ReadLoop(c *net.UDPConn, v6 bool, onError func(Queued), onDatagram func(b []byte, from unix.Sockaddr, at time.Time)) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	for {
		err := rc.Read(func(fd uintptr) bool {
			b := readBufs.Get().(*[1 << 16]byte)
			defer readBufs.Put(b)
			buf := b[:]
			DrainFD(int(fd), v6, onError)
			for range maxDrain {
				n, from, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
				if errors.Is(err, unix.EAGAIN) {
					break
				}
				if err == nil {
					onDatagram(buf[:n], from, time.Now())
				}
			}
			return false // wait for more
		})
		if errors.Is(err, net.ErrClosed) {
			return
		}
		// Not expected (the poller reported an error state): do not spin.
		time.Sleep(time.Millisecond)
	}
}
