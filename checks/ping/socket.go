package ping

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/icmperr"
	"github.com/nettest/nettest/checks/internal/netx"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// family is an IP version.
type family int

const (
	v4 family = iota
	v6
)

// String returns the spelling of the family argument.
func (f family) String() string {
	if f == v6 {
		return "ip6"
	}
	return "ip4"
}

// The two kinds of ICMP socket, in the order the probe tries them. Tests
// run in a subprocess may narrow the list to exercise one path.
const (
	datagram = "datagram"
	raw      = "raw"
)

var socketKinds = []string{datagram, raw}

// sharedRcvBuf is the receive buffer asked for the shared raw socket. All
// checks' replies queue in it: a suite starting 1,000 checks at once gets
// 1,000 replies within a millisecond, far more than the default 208 KiB
// holds (each queued reply costs about 1 KiB of kernel memory).
const sharedRcvBuf = 8 << 20

// idleClose is how long the shared raw socket stays open after its last
// check detached. The checks of a run start one after another, and a check
// of one packet to a near host is over in a fraction of a millisecond, so
// closing at once made a run of 1,000 such pings open the socket again up
// to a hundred times (each time after a datagram socket was refused, with
// a new reader goroutine and its buffer). A second is longer than any gap
// between the start of two checks of a run, and short enough that a
// long-lived process does not keep a socket that receives every ICMP
// packet of the host once nothing pings. (A variable for the tests.)
var idleClose = time.Second

// endpoint is one ICMP socket and the exchanges its replies go to.
type endpoint struct {
	conn net.PacketConn
	fam  family
	kind string // datagram or raw
	// rc writes requests straight to the descriptor, and reads the
	// shared raw socket.
	rc syscall.RawConn
	// setTTL sets the IPv4 TTL or IPv6 hop limit of later requests; -1
	// restores the system default.
	setTTL func(int) error

	// wmu lets the writes of the socket's current TTL, curTTL, go side
	// by side (read-locked), and a write that needs another TTL set it
	// and write alone.
	wmu    sync.RWMutex
	curTTL int

	mu    sync.Mutex
	byID  map[uint16]*exchange // raw: every exchange by ICMP identifier
	only  *exchange            // datagram: the one exchange (the kernel demultiplexes)
	next  uint16               // raw: where the search for a free identifier starts
	users int                  // raw: exchanges attached

	// idle closes the shared raw socket idleClose after its last user
	// detached, unless another attached since; nil until the first time.
	// Guarded by shared.mu.
	idle *time.Timer
}

// shared holds the process's raw socket per family while checks use it.
var shared struct {
	mu  sync.Mutex
	eps [2]*endpoint
}

// attach finds a socket for x: a datagram socket of its own when the kernel
// allows one, else the shared raw socket of the family. While the shared
// raw socket is open, a datagram socket was refused to an earlier check of
// this run, so a check joins the raw socket without asking again: a suite
// of 1,000 pings as root asks the kernel once, not 1,000 times. A later run
// in the same process asks again once the socket has closed (idleClose
// after its last check).
func attach(fam family, x *exchange) (*endpoint, error) {
	for _, kind := range socketKinds {
		var ep *endpoint
		var err error
		if kind == datagram {
			if rawOpen(fam) {
				continue
			}
			ep, err = openDatagram(fam, x)
		} else {
			ep, err = attachRaw(fam, x)
		}
		if err == nil {
			return ep, nil
		}
		if !isPermission(err) {
			return nil, openError(fam, err)
		}
	}
	return nil, permissionError()
}

// detach ends x's use of the endpoint. A datagram socket is closed; the
// shared raw socket is closed idleClose after its last user detached.
func (ep *endpoint) detach(x *exchange) {
	if ep.kind == datagram {
		ep.conn.Close()
		return
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	ep.mu.Lock()
	delete(ep.byID, x.id)
	ep.users--
	last := ep.users == 0
	ep.mu.Unlock()
	if !last {
		return
	}
	if ep.idle != nil {
		ep.idle.Reset(idleClose)
		return
	}
	ep.idle = time.AfterFunc(idleClose, func() { closeIdle(ep.fam) })
}

// closeIdle closes the shared raw socket of the family if no check uses it.
func closeIdle(fam family) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	ep := shared.eps[fam]
	if ep == nil {
		return
	}
	ep.mu.Lock()
	idle := ep.users == 0
	ep.mu.Unlock()
	if idle {
		shared.eps[fam] = nil
		ep.conn.Close()
	}
}

// rawOpen tells whether the shared raw socket of the family is open.
func rawOpen(fam family) bool {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	return shared.eps[fam] != nil
}

func openDatagram(fam family, x *exchange) (*endpoint, error) {
	// IP_RECVERR, set by ListenEcho, is how an unprivileged socket hears
	// of the ICMP errors about its requests (read by readErrors).
	c, err := icmperr.ListenEcho(fam == v6)
	if err != nil {
		return nil, err
	}
	ep := &endpoint{conn: c, fam: fam, kind: datagram, curTTL: -1, only: x}
	if ep.rc, err = c.SyscallConn(); err != nil {
		c.Close()
		return nil, err
	}
	if fam == v4 {
		ep.setTTL = ipv4.NewPacketConn(c).SetTTL
	} else {
		ep.setTTL = ipv6.NewPacketConn(c).SetHopLimit
	}
	// The kernel writes its own identifier, the socket's "port", into
	// every request; x.id is informational only.
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		x.id = uint16(a.Port)
	}
	go ep.read()
	return ep, nil
}

func attachRaw(fam family, x *exchange) (*endpoint, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	ep := shared.eps[fam]
	if ep == nil {
		var err error
		if ep, err = openRaw(fam); err != nil {
			return nil, err
		}
		shared.eps[fam] = ep
		go ep.read()
	} else if ep.idle != nil {
		ep.idle.Stop()
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	// Identifiers are handed out round-robin from a random start, so one
	// is reused only after the other 65,535: late replies to a finished
	// check find no exchange, or one whose payload nonce differs.
	for range 1 << 16 {
		id := ep.next
		ep.next++
		if ep.byID[id] == nil {
			x.id = id
			ep.byID[id] = x
			ep.users++
			return ep, nil
		}
	}
	return nil, errors.New("more than 65,536 ping checks are running at once in this process; lower --parallelism")
}

func openRaw(fam family) (*endpoint, error) {
	network, addr := "ip4:icmp", "0.0.0.0"
	if fam == v6 {
		network, addr = "ip6:ipv6-icmp", "::"
	}
	c, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, err
	}
	ep := &endpoint{
		conn:   c,
		fam:    fam,
		kind:   raw,
		curTTL: -1,
		byID:   map[uint16]*exchange{},
		next:   uint16(rand.N(1 << 16)),
	}
	// The kernel's ICMP filter drops everything but echo replies and the
	// errors that may be about a request before they are queued: a raw
	// socket otherwise also gets every echo request the host answers,
	// including our own on loopback. A failure costs only CPU, so it is
	// ignored.
	icmperr.FilterRaw(c, fam == v6)
	if fam == v4 {
		ep.setTTL = ipv4.NewPacketConn(c).SetTTL
	} else {
		ep.setTTL = ipv6.NewPacketConn(c).SetHopLimit
	}
	icmperr.GrowReadBuffer(c.(*net.IPConn), sharedRcvBuf)
	if ep.rc, err = c.(*net.IPConn).SyscallConn(); err != nil {
		c.Close()
		return nil, err
	}
	return ep, nil
}

// send writes request seq of x to addr with the given TTL (-1: default).
// The request is marshalled once per check; each send writes its sequence
// number into it (and, for IPv4, the checksum that covers it).
func (ep *endpoint) send(ctx context.Context, x *exchange, seq int, addr netip.Addr, ttl int) {
	if x.request == nil {
		typ := icmp.Type(ipv4.ICMPTypeEcho)
		if ep.fam == v6 {
			typ = ipv6.ICMPTypeEchoRequest
		}
		// For IPv6 Marshal leaves the checksum to the kernel, which
		// computes it for every ICMPv6 socket.
		msg, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: int(x.id), Seq: 0, Data: x.payload}}).Marshal(nil)
		if err != nil {
			x.sending(seq)
			x.sendFailed(seq, err)
			return
		}
		x.request = msg
		if ep.kind == datagram {
			x.dst = &net.UDPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
		} else {
			x.dst = &net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
		}
		switch {
		case addr.Zone() != "":
		case ep.fam == v4:
			x.sa = &unix.SockaddrInet4{Addr: addr.As4()}
		default:
			x.sa = &unix.SockaddrInet6{Addr: addr.As16()}
		}
	}
	msg := x.request
	renumber(msg, seq, ep.fam)

	// A write of the socket's current TTL goes straight to the
	// descriptor, beside the others: net's WriteTo takes the descriptor's
	// write lock, and of 1,000 checks starting at once on the shared
	// socket, those that had to wait for another's write (the kernel
	// answers a local address within it) parked their goroutine, so the
	// runner started a worker, and grew a stack, for the next check.
	recorded := false
	ep.wmu.RLock()
	if ttl == ep.curTTL && x.sa != nil {
		x.sending(seq)
		recorded = true
		err := ep.sendDirect(x.request, x.sa)
		ep.wmu.RUnlock()
		if err == nil {
			return
		}
		// A full send buffer, or a refusal, takes net's way below: it
		// waits for room until the deadline, and words the error as
		// ever. The kernel sent nothing, so nothing is sent twice.
	} else {
		ep.wmu.RUnlock()
	}

	ep.wmu.Lock()
	defer ep.wmu.Unlock()
	if ttl != ep.curTTL {
		if err := ep.setTTL(ttl); err != nil {
			if !recorded {
				x.sending(seq)
			}
			x.sendFailed(seq, err)
			return
		}
		ep.curTTL = ttl
	}
	// A write blocks only when the socket's send buffer is full; the
	// deadline keeps it from outliving the check.
	if d, ok := ctx.Deadline(); ok {
		ep.conn.SetWriteDeadline(d)
	}
	if !recorded {
		x.sending(seq)
	}
	if _, err := ep.conn.WriteTo(msg, x.dst); err != nil {
		x.sendFailed(seq, err)
	}
}

// sendDirect writes msg to sa with one system call, without waiting for
// room in the send buffer.
func (ep *endpoint) sendDirect(msg []byte, sa unix.Sockaddr) error {
	var err error
	if cerr := ep.rc.Control(func(fd uintptr) {
		for err = unix.EINTR; err == unix.EINTR; {
			err = unix.Sendto(int(fd), msg, 0, sa)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// read receives every packet of the socket until it is closed and hands
// echo replies, and ICMP errors about echo requests, to the exchange that
// sent the request.
func (ep *endpoint) read() {
	if ep.kind == datagram {
		// The errors wait in the socket's error queue (IP_RECVERR).
		x := ep.only
		icmperr.ReadLoop(ep.conn.(*net.UDPConn), ep.fam == v6, func(q icmperr.Queued) {
			kind := errorKind(q.Type, q.Code, ep.fam)
			if kind != "" && len(q.Packet) >= 8 && q.Dst == x.target.WithZone("") {
				x.refusedBy(int(binary.BigEndian.Uint16(q.Packet[6:8])), icmpError{kind: kind, from: q.Offender})
			}
		}, func(b []byte, _ unix.Sockaddr, at time.Time) {
			ep.echoReply(b, at)
		})
		return
	}
	buf := make([]byte, 1<<16)
	for {
		err := ep.rc.Read(func(fd uintptr) bool {
			// EAGAIN: nothing more until the next wake-up. Nothing else
			// is expected: an unconnected raw socket reports no ICMP
			// errors.
			return ep.readQueued(int(fd), buf) != unix.EAGAIN
		})
		if errors.Is(err, net.ErrClosed) {
			return
		}
		// Pause so that a socket stuck in an error state cannot spin a
		// CPU.
		time.Sleep(time.Millisecond)
	}
}

// drain reads what the shared raw socket holds now, on the goroutine of a
// check that has just sent. A near host's reply is often there by the time
// the write returns (a request to one of the machine's own addresses is
// answered within the write), and reading it here spares waking the reader
// goroutine for it and then the check's: a check of one packet to a local
// address ends without waiting at all. Checks drain side by side, and
// beside the reader: each read takes a whole packet. For a datagram socket
// the kernel wakes the check's own reader.
func (ep *endpoint) drain() {
	if ep.kind != raw {
		return
	}
	buf := drainBufs.Get().(*[]byte)
	ep.rc.Control(func(fd uintptr) { ep.readQueued(int(fd), *buf) })
	drainBufs.Put(buf)
}

// drainBufs are the buffers drain reads into: 64 KiB, as a packet read into
// less loses the rest, and another check's reply may be that large.
var drainBufs = sync.Pool{New: func() any {
	b := make([]byte, 1<<16)
	return &b
}}

// readQueued hands on every packet queued in the shared raw socket, read
// into buf straight from the descriptor (net.IPConn's ReadFrom would move
// the whole 64 KiB buffer to strip an IPv4 header and allocate an address
// for every reply), and returns the error that stopped it: EAGAIN once the
// queue is empty.
func (ep *endpoint) readQueued(fd int, buf []byte) error {
	for {
		b, from, err := ep.recv(fd, buf)
		at := time.Now()
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		}
		if len(b) >= 8 && isError(b[0], ep.fam) {
			ep.rawError(b, from)
		} else {
			ep.echoReply(b, at)
		}
	}
}

// recv reads one packet of the raw socket into buf and returns it from its
// ICMP header on, with its source address. A raw IPv4 socket returns the
// IP header too, which holds the source; a raw IPv6 socket returns neither.
func (ep *endpoint) recv(fd int, buf []byte) ([]byte, netip.Addr, error) {
	if ep.fam == v6 {
		n, from, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			return nil, netip.Addr{}, err
		}
		var src netip.Addr
		if sa, ok := from.(*unix.SockaddrInet6); ok {
			src = netip.AddrFrom16(sa.Addr)
		}
		return buf[:n], src, nil
	}
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	b := buf[:n]
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil, netip.Addr{}, nil // not an IPv4 packet: an empty one, skipped
	}
	hl := int(b[0]&0x0f) << 2
	if hl < 20 || hl > len(b) {
		return nil, netip.Addr{}, nil
	}
	return b[hl:], netip.AddrFrom4([4]byte(b[12:16])), nil
}

// echoReply hands an echo reply (from its ICMP header on) to the exchange
// whose request it answers: on a raw socket the one with its identifier,
// on a datagram socket the socket's one exchange (the kernel demultiplexes).
// The header is read in place: type, code, checksum, identifier, sequence
// number, then the data, which the exchange compares with its payload.
func (ep *endpoint) echoReply(b []byte, at time.Time) {
	reply := byte(ipv4.ICMPTypeEchoReply)
	if ep.fam == v6 {
		reply = byte(ipv6.ICMPTypeEchoReply)
	}
	if len(b) < 8 || b[0] != reply {
		return
	}
	x := ep.only
	if ep.kind == raw {
		ep.mu.Lock()
		x = ep.byID[binary.BigEndian.Uint16(b[4:6])]
		ep.mu.Unlock()
	}
	if x != nil {
		x.reply(int(binary.BigEndian.Uint16(b[6:8])), b[8:], at)
	}
}

// renumber writes sequence number seq into an echo request and, for IPv4,
// the checksum that covers it.
func renumber(msg []byte, seq int, fam family) {
	binary.BigEndian.PutUint16(msg[6:8], uint16(seq))
	if fam == v4 {
		msg[2], msg[3] = 0, 0
		binary.BigEndian.PutUint16(msg[2:4], netx.Checksum(msg))
	}
}

// isError tells whether an ICMP type is one of the errors a request can
// meet on its way: Destination Unreachable or Time Exceeded.
func isError(typ byte, fam family) bool {
	if fam == v6 {
		return typ == icmperr.TypeUnreachable6 || typ == icmperr.TypeTimeExceeded6
	}
	return typ == icmperr.TypeUnreachable4 || typ == icmperr.TypeTimeExceeded4
}

// errorKind names an ICMP error for the result ("host", "ttl exceeded").
// It is "" for the messages that do not say a request was lost: a Redirect
// (the router forwarded it, and suggests a better next hop), a Parameter
// Problem or Packet Too Big, and a Time Exceeded in fragment reassembly.
func errorKind(typ, code byte, fam family) string {
	unreachable, timeExceeded := byte(icmperr.TypeUnreachable4), byte(icmperr.TypeTimeExceeded4)
	if fam == v6 {
		unreachable, timeExceeded = icmperr.TypeUnreachable6, icmperr.TypeTimeExceeded6
	}
	switch {
	case typ == timeExceeded && code == 0:
		return ttlExceeded
	case typ == unreachable:
		return icmperr.UnreachableName(code, fam == v6)
	}
	return ""
}

// rawError hands an ICMP error read from the shared raw socket to the
// exchange whose request it quotes: an echo request with the exchange's
// identifier, to the exchange's target. The raw socket gets every ICMP
// error the host receives, so everything else is someone else's.
func (ep *endpoint) rawError(b []byte, from netip.Addr) {
	kind := errorKind(b[0], b[1], ep.fam)
	q, ok := icmperr.ParseQuoted(b[8:], ep.fam == v6)
	if kind == "" || !ok || !from.IsValid() {
		return
	}
	wantProto, wantType := uint8(icmperr.ProtoICMP), byte(icmperr.TypeEchoRequest4)
	if ep.fam == v6 {
		wantProto, wantType = icmperr.ProtoICMPv6, icmperr.TypeEchoRequest6
	}
	if q.Proto != wantProto || q.Transport[0] != wantType {
		return
	}
	id, seq := binary.BigEndian.Uint16(q.Transport[4:]), binary.BigEndian.Uint16(q.Transport[6:])
	ep.mu.Lock()
	x := ep.byID[id]
	ep.mu.Unlock()
	if x != nil && q.Dst == x.target.WithZone("") {
		x.refusedBy(int(seq), icmpError{kind: kind, from: from.Unmap()})
	}
}

// isPermission tells whether opening a socket failed for lack of privilege
// (or of kernel support for that kind of socket), so the next kind is worth
// trying.
func isPermission(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) ||
		errors.Is(err, syscall.EPROTONOSUPPORT) || errors.Is(err, syscall.ESOCKTNOSUPPORT)
}

// permissionError tells the user the three ways to let nettest ping.
func permissionError() error {
	rng := "unknown"
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); err == nil {
		rng = strings.Join(strings.Fields(string(b)), " ")
	}
	return fmt.Errorf("no permission to send ICMP echo requests: "+
		"unprivileged ICMP sockets are not allowed for group %d (net.ipv4.ping_group_range is %q) "+
		"and raw ICMP sockets need root or CAP_NET_RAW. "+
		"Fix it in one of three ways: run nettest as root; "+
		"or give the binary the capability: sudo setcap cap_net_raw+ep $(which nettest); "+
		"or allow unprivileged ping for every group: sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"",
		os.Getegid(), rng)
}

// openError explains a socket that could not be opened for another reason:
// IPv6 switched off, or this machine's limits (checks.LocalFailure says
// which and what to do).
func openError(fam family, err error) error {
	if fam == v6 && errors.Is(err, syscall.EAFNOSUPPORT) {
		return fmt.Errorf("cannot ping an IPv6 address: IPv6 is disabled on this machine (%v); use an IPv4 address or family = \"ip4\"", err)
	}
	if local := checks.LocalFailure(err); local != nil {
		err = local
	}
	return fmt.Errorf("cannot open an ICMP socket: %v", err)
}

// describe turns a socket error into a short phrase for the result.
func describe(err error) string {
	switch {
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable (no route to the address)"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host is unreachable"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return "not permitted (a broadcast address, or a local firewall rule): " + err.Error()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "the send buffer stayed full until the timeout"
	}
	return err.Error()
}
