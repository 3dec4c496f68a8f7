package listen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's socket diagnostics interface (sock_diag, what ss(8) reads)
// lists the sockets of the caller's network namespace. vishvananda/netlink
// wraps it, but its dumps ask for sockets in every state and drop the
// attributes this check needs, so on a busy server a question about one
// listening port would copy every connection of the host and still not tell
// a dual-stack IPv6 socket from one that is IPv6-only. The request here asks
// the kernel for listening sockets only (TCP_LISTEN, or unconnected UDP) and
// reads INET_DIAG_SKV6ONLY, which the kernel adds for every IPv6 socket.

// Socket states of the kernel's TCP state machine, which UDP sockets borrow:
// an unconnected UDP socket is TCP_CLOSE, a connected one TCP_ESTABLISHED.
const (
	stateClose  = 7
	stateListen = 10
)

// inetDiagSkV6Only is the attribute that says whether an IPv6 socket is
// IPv6-only (IPV6_V6ONLY) or also takes IPv4 connections.
const inetDiagSkV6Only = 11

// inetDiagReqV2 is struct inet_diag_req_v2 of <linux/inet_diag.h>.
type inetDiagReqV2 struct {
	Family   uint8
	Protocol uint8
	Ext      uint8
	Pad      uint8
	States   uint32
	ID       inetDiagSockID
}

// inetDiagSockID is struct inet_diag_sockid: ports and addresses are in
// network byte order.
type inetDiagSockID struct {
	SPort  [2]byte
	DPort  [2]byte
	Src    [16]byte
	Dst    [16]byte
	If     uint32
	Cookie [2]uint32
}

// inetDiagMsg is struct inet_diag_msg, the head of every answer.
type inetDiagMsg struct {
	Family  uint8
	State   uint8
	Timer   uint8
	Retrans uint8
	ID      inetDiagSockID
	Expires uint32
	RQueue  uint32
	WQueue  uint32
	UID     uint32
	Inode   uint32
}

// socket is one listening socket as the kernel reported it.
type socket struct {
	addr   netip.AddrPort
	v6only bool
	uid    uint32
	inode  uint32
	iface  uint32 // SO_BINDTODEVICE, 0 when unbound
}

// errPermission is wrapped by errors that come from a refusal for lack of
// privilege, which sock_diag does not normally give (every user may list
// sockets) but a seccomp or security policy may.
var errPermission = errors.New("not permitted")

// diagTimeout bounds each read from the netlink socket: the kernel answers
// a dump at once, so a longer wait means something is broken.
const diagTimeout = 2 * time.Second

// listeningSockets returns the sockets of the calling thread's network
// namespace that listen on port: TCP sockets in LISTEN, or UDP sockets that
// are bound and not connected, of both address families.
func listeningSockets(protocol string, port uint16) ([]socket, error) {
	proto, state := uint8(unix.IPPROTO_TCP), uint32(stateListen)
	if protocol == UDP {
		proto, state = unix.IPPROTO_UDP, stateClose
	}
	var out []socket
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		socks, err := dump(family, proto, state)
		if err != nil {
			if family == unix.AF_INET6 && errors.Is(err, unix.ENOENT) {
				continue // IPv6 is disabled: no IPv6 sockets to list
			}
			return nil, err
		}
		for _, s := range socks {
			if s.addr.Port() == port {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// dump asks the kernel for every socket of one family and protocol in one
// state.
func dump(family, proto uint8, state uint32) ([]socket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: opening a sock_diag netlink socket: %v", errPermission, err)
		}
		return nil, fmt.Errorf("opening a sock_diag netlink socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(diagTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("setting the netlink socket's timeout: %w", err)
	}

	req := inetDiagReqV2{Family: family, Protocol: proto, States: 1 << state}
	const hdrLen = unix.SizeofNlMsghdr
	reqLen := int(unsafe.Sizeof(req))
	msg := make([]byte, hdrLen+reqLen)
	hdr := (*unix.NlMsghdr)(unsafe.Pointer(&msg[0]))
	hdr.Len = uint32(len(msg))
	hdr.Type = unix.SOCK_DIAG_BY_FAMILY
	hdr.Flags = unix.NLM_F_REQUEST | unix.NLM_F_DUMP
	hdr.Seq = 1
	*(*inetDiagReqV2)(unsafe.Pointer(&msg[hdrLen])) = req
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("asking the kernel for its sockets: %w", err)
	}

	var out []socket
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, fmt.Errorf("reading the kernel's list of sockets: %w", err)
		}
		b := buf[:n]
		for len(b) >= hdrLen {
			h := (*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
			l := int(h.Len)
			if l < hdrLen || l > len(b) {
				return nil, errors.New("reading the kernel's list of sockets: a truncated netlink message")
			}
			body := b[hdrLen:l]
			b = b[min(nlmAlign(l), len(b)):]
			switch h.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(body) >= 4 {
					if errno := -int32(binary.NativeEndian.Uint32(body)); errno != 0 {
						return nil, fmt.Errorf("the kernel refused to list its sockets: %w", unix.Errno(errno))
					}
				}
				return out, nil
			case unix.SOCK_DIAG_BY_FAMILY:
				if s, ok := parseDiagMsg(body); ok {
					out = append(out, s)
				}
			}
		}
	}
}

// parseDiagMsg reads one inet_diag_msg and its attributes.
func parseDiagMsg(b []byte) (socket, bool) {
	var m inetDiagMsg
	size := int(unsafe.Sizeof(m))
	if len(b) < size {
		return socket{}, false
	}
	m = *(*inetDiagMsg)(unsafe.Pointer(&b[0]))
	s := socket{uid: m.UID, inode: m.Inode, iface: m.ID.If}
	port := binary.BigEndian.Uint16(m.ID.SPort[:])
	if m.Family == unix.AF_INET {
		s.addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte(m.ID.Src[:4])), port)
	} else {
		s.addr = netip.AddrPortFrom(netip.AddrFrom16(m.ID.Src), port)
	}
	for attrs := b[nlmAlign(size):]; len(attrs) >= 4; {
		l := int(binary.NativeEndian.Uint16(attrs[0:]))
		typ := binary.NativeEndian.Uint16(attrs[2:])
		if l < 4 || l > len(attrs) {
			break
		}
		if typ == inetDiagSkV6Only && l >= 5 {
			s.v6only = attrs[4] != 0
		}
		attrs = attrs[min(rtaAlign(l), len(attrs)):]
	}
	return s, true
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }
func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }
