package traceroute

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/nettest/nettest/checks/internal/icmperr"
	"golang.org/x/sys/unix"
)

// Without CAP_NET_RAW a trace cannot open the shared raw ICMP socket (see
// listener.go), but it can still hear the routers: with IP_RECVERR
// (IPV6_RECVERR) set on an ordinary socket, the kernel queues each ICMP
// error about a packet the socket sent on the socket's error queue, with the
// router's address, as tracepath and `traceroute -U` use it. UDP probes go
// out of one UDP socket; ICMP probes out of an ICMP datagram socket (a "ping
// socket", allowed by net.ipv4.ping_group_range), whose echo replies arrive
// as ordinary datagrams. The socket hears only about its own packets, so
// there is nothing to demultiplex: one reading goroutine per trace.
//
// TCP probes have no such way: a connect failed by an ICMP error reports
// the error but not which router sent it, so TCP needs the raw socket.

// The methods a trace can run with, as the result's method says.
const (
	// MethodRaw is the shared raw ICMP socket: root or CAP_NET_RAW.
	MethodRaw = "raw"
	// MethodRecvErr is IP_RECVERR on the probes' own socket: no privilege.
	MethodRecvErr = "recverr"
)

// errNoEchoSocket is wrapped by the error of a trace over ICMP that may
// open neither a raw nor an ICMP datagram socket.
var errNoEchoSocket = errors.New("no permission for an ICMP datagram socket")

// openRecvErr prepares the socket of a trace without the listener and
// starts its reader.
func (t *trace) openRecvErr() error {
	v6 := t.target.Is6()
	switch t.protocol {
	case ICMP:
		c, err := icmperr.ListenEcho(v6)
		if err != nil {
			if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
				return errNoEchoSocket
			}
			return err
		}
		t.conn = c
	case UDP:
		rc, err := t.conn.SyscallConn()
		if err != nil {
			return err
		}
		var soErr error
		if err := rc.Control(func(fd uintptr) { soErr = icmperr.SetRecvErr(int(fd), v6) }); err != nil {
			return err
		}
		if soErr != nil {
			return soErr
		}
	}
	t.readers.Add(1)
	go t.readQueue()
	return nil
}

// sendEchoDatagram sends the echo request of probe i with the given TTL on
// the trace's ICMP datagram socket. The kernel fills in the identifier and
// the checksum; the sequence number is the probe's index.
func (t *trace) sendEchoDatagram(i, ttl int) error {
	b := make([]byte, 8+len(payload))
	b[0] = icmperr.TypeEchoRequest4
	if t.target.Is6() {
		b[0] = icmperr.TypeEchoRequest6
	}
	binary.BigEndian.PutUint16(b[6:], uint16(i))
	copy(b[8:], payload)
	return t.writeRecvErr(b, ttl, &net.UDPAddr{IP: t.target.AsSlice()})
}

// writeRecvErr sends one probe on the trace's socket. With IP_RECVERR each
// ICMP error also leaves its errno on the socket, which the next send
// reports instead of sending (the kernel checks it before allocating the
// packet) and clears: on a short path the answers to the first probes of a
// round come back while the round is still being sent. So a send is tried
// again while it fails: each such failure consumed one error, and there are
// no more errors than probes sent. A send that still fails after that fails
// for its own reason, such as no route from here.
func (t *trace) writeRecvErr(b []byte, ttl int, to *net.UDPAddr) error {
	oob := ttlControl(t.target.Is6(), ttl)
	var err error
	for range len(t.probes) + 1 {
		_, _, err = t.conn.WriteMsgUDP(b, oob, to)
		if err == nil || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EAGAIN) {
			return err
		}
	}
	return err
}

// readQueue is the reader of a trace without the listener: the routers'
// and the destination's ICMP errors from the error queue, echo replies as
// datagrams, until the socket is closed.
func (t *trace) readQueue() {
	defer t.readers.Done()
	icmperr.ReadLoop(t.conn, t.target.Is6(), t.queuedError, func(b []byte, from unix.Sockaddr, at time.Time) {
		if t.protocol == ICMP {
			t.echoDatagram(b, from, at)
		}
	})
}

// queuedError hands one error-queue entry to deliver, as the listener hands
// it a parsed ICMP error.
func (t *trace) queuedError(q icmperr.Queued) {
	a := answer{probe: -1, from: q.Offender, quotedDst: q.Dst, code: q.Code, at: time.Now()}
	unreachableType, timeExceededType := uint8(icmperr.TypeUnreachable4), uint8(icmperr.TypeTimeExceeded4)
	if t.target.Is6() {
		unreachableType, timeExceededType = icmperr.TypeUnreachable6, icmperr.TypeTimeExceeded6
	}
	switch {
	case q.Type == timeExceededType && q.Code == 0:
		a.kind, a.code = timeExceeded, 0
	case q.Type == unreachableType:
		a.kind = unreachable
	default:
		return // a redirect, packet too big, parameter problem: no hop's answer
	}
	switch t.protocol {
	case ICMP:
		if len(q.Packet) < 8 {
			return
		}
		a.seq = binary.BigEndian.Uint16(q.Packet[6:])
	case UDP:
		a.dport = q.DstPort
	}
	t.deliver(a)
}

// echoDatagram hands an echo reply read from an ICMP datagram socket to
// deliver; the kernel gives the socket only replies with its identifier.
func (t *trace) echoDatagram(b []byte, from unix.Sockaddr, at time.Time) {
	reply := uint8(0)
	if t.target.Is6() {
		reply = 129
	}
	if len(b) < 8 || b[0] != reply {
		return
	}
	a := answer{probe: -1, kind: echoReply, seq: binary.BigEndian.Uint16(b[6:]), at: at}
	switch sa := from.(type) {
	case *unix.SockaddrInet4:
		a.from = netip.AddrFrom4(sa.Addr)
	case *unix.SockaddrInet6:
		a.from = netip.AddrFrom16(sa.Addr).Unmap()
	}
	t.deliver(a)
}
