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

// endpoint is one ICMP socket and the exchanges its replies go to.
type endpoint struct {
	conn net.PacketConn
	fam  family
	kind string // datagram or raw
	// setTTL sets the IPv4 TTL or IPv6 hop limit of later requests; -1
	// restores the system default.
	setTTL func(int) error

	// wmu serialises writes with the TTL they need on a shared socket.
	wmu    sync.Mutex
	curTTL int

	mu    sync.Mutex
	byID  map[uint16]*exchange // raw: every exchange by ICMP identifier
	only  *exchange            // datagram: the one exchange (the kernel demultiplexes)
	next  uint16               // raw: where the search for a free identifier starts
	users int                  // raw: exchanges attached
}

// shared holds the process's raw socket per family while checks use it.
var shared struct {
	mu  sync.Mutex
	eps [2]*endpoint
}

// attach finds a socket for x: a datagram socket of its own when the kernel
// allows one, else the shared raw socket of the family.
func attach(fam family, x *exchange) (*endpoint, error) {
	for _, kind := range socketKinds {
		var ep *endpoint
		var err error
		if kind == datagram {
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

// detach ends x's use of the endpoint; the last user closes it.
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
	if last {
		shared.eps[ep.fam] = nil
		ep.conn.Close()
	}
}

func openDatagram(fam family, x *exchange) (*endpoint, error) {
	// IP_RECVERR, set by ListenEcho, is how an unprivileged socket hears
	// of the ICMP errors about its requests (read by readErrors).
	c, err := icmperr.ListenEcho(fam == v6)
	if err != nil {
		return nil, err
	}
	ep := &endpoint{conn: c, fam: fam, kind: datagram, curTTL: -1, only: x}
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
	return ep, nil
}

// send writes request seq of x to addr with the given TTL (-1: default).
func (ep *endpoint) send(ctx context.Context, x *exchange, seq int, addr netip.Addr, ttl int) {
	typ := icmp.Type(ipv4.ICMPTypeEcho)
	if ep.fam == v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	// For IPv6 Marshal leaves the checksum to the kernel, which computes
	// it for every ICMPv6 socket.
	msg, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: int(x.id), Seq: seq, Data: x.payload}}).Marshal(nil)
	if err != nil {
		x.sending(seq)
		x.sendFailed(seq, err)
		return
	}
	var dst net.Addr = &net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	if ep.kind == datagram {
		dst = &net.UDPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	}

	ep.wmu.Lock()
	defer ep.wmu.Unlock()
	if ttl != ep.curTTL {
		if err := ep.setTTL(ttl); err != nil {
			x.sending(seq)
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
	x.sending(seq)
	if _, err := ep.conn.WriteTo(msg, dst); err != nil {
		x.sendFailed(seq, err)
	}
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
		// A raw IPv4 socket returns the IP header too; the net package
		// strips it, so buf starts at the ICMP header in every case.
		n, peer, err := ep.conn.ReadFrom(buf)
		at := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Nothing else is expected: an unconnected raw socket
			// reports no ICMP errors. Pause so that a socket stuck in
			// an error state cannot spin a CPU.
			time.Sleep(time.Millisecond)
			continue
		}
		if n >= 8 && isError(buf[0], ep.fam) {
			ep.rawError(buf[:n], peer)
			continue
		}
		ep.echoReply(buf[:n], at)
	}
}

// echoReply hands an echo reply (from its ICMP header on) to the exchange
// whose request it answers: on a raw socket the one with its identifier,
// on a datagram socket the socket's one exchange (the kernel demultiplexes).
func (ep *endpoint) echoReply(b []byte, at time.Time) {
	proto, reply := 1, icmp.Type(ipv4.ICMPTypeEchoReply)
	if ep.fam == v6 {
		proto, reply = 58, ipv6.ICMPTypeEchoReply
	}
	m, err := icmp.ParseMessage(proto, b)
	if err != nil || m.Type != reply {
		return
	}
	echo, ok := m.Body.(*icmp.Echo)
	if !ok {
		return
	}
	x := ep.only
	if ep.kind == raw {
		ep.mu.Lock()
		x = ep.byID[uint16(echo.ID)]
		ep.mu.Unlock()
	}
	if x != nil {
		x.reply(echo.Seq, echo.Data, at)
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
func (ep *endpoint) rawError(b []byte, peer net.Addr) {
	kind := errorKind(b[0], b[1], ep.fam)
	q, ok := icmperr.ParseQuoted(b[8:], ep.fam == v6)
	ip, isIP := peer.(*net.IPAddr)
	if kind == "" || !ok || !isIP {
		return
	}
	wantProto, wantType := uint8(icmperr.ProtoICMP), byte(icmperr.TypeEchoRequest4)
	if ep.fam == v6 {
		wantProto, wantType = icmperr.ProtoICMPv6, icmperr.TypeEchoRequest6
	}
	if q.Proto != wantProto || q.Transport[0] != wantType {
		return
	}
	from, ok := netip.AddrFromSlice(ip.IP)
	if !ok {
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
