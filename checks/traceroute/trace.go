package traceroute

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/icmperr"
	"golang.org/x/sys/unix"
)

// A trace sends its probes in rounds. Each round sends one probe for every
// TTL at once, from 1 up to max_hops, or up to the hop where the path is
// known to end once an earlier round found it, as mtr and modern traceroute
// do: a path of 15 hops is traced in about one round trip rather than 15,
// and a silent router costs one hop_timeout for the whole trace rather than
// one per hop. A round ends when each of its probes was answered or after
// hop_timeout/queries, when the next round starts; the last round waits up
// to hop_timeout. So a whole trace takes less than 2 × hop_timeout.
type trace struct {
	l          *listener
	target     netip.Addr
	protocol   string
	maxHops    int
	queries    int
	hopTimeout time.Duration
	// port is the first UDP destination port or the TCP destination port.
	port int

	echoID uint16 // icmp with the listener: our echo identifier
	// conn is the one socket all probes leave from: udp, and icmp without
	// the listener (an ICMP datagram socket).
	conn    *net.UDPConn
	udpPort uint16         // udp: its local port, the key of our replies
	tcpWait sync.WaitGroup // tcp: one goroutine per probe in flight
	readers sync.WaitGroup // without the listener: readQueue

	mu       sync.Mutex
	probes   []probe // index (ttl-1)*queries + round
	stop     int     // the TTL where the path is known to end, see end
	tcpFiles []*os.File
	tcpPorts []uint16
	wake     chan struct{}
	// local is the first probe this machine failed to send (out of file
	// descriptors or buffers): not an answer about the path, so a trace
	// that did not reach its host cannot say it is unreachable.
	local error
}

// probe is one packet sent and what came of it.
type probe struct {
	sent     time.Time // zero: not sent
	answered bool
	from     netip.Addr
	rtt      time.Duration
	kind     answerKind
	code     uint8
}

func (t *trace) index(ttl, round int) int { return (ttl-1)*t.queries + round }

// open prepares what the protocol sends from and registers the trace with
// the listener.
func (t *trace) open() error {
	t.probes = make([]probe, t.maxHops*t.queries)
	t.stop = t.maxHops
	t.wake = make(chan struct{}, 1)
	switch t.protocol {
	case ICMP:
		if t.l == nil {
			return t.openRecvErr()
		}
		id, err := t.l.registerEcho(t)
		if err != nil {
			return err
		}
		t.echoID = id
	case UDP:
		network, unspecified := "udp4", netip.IPv4Unspecified()
		if t.target.Is6() {
			network, unspecified = "udp6", netip.IPv6Unspecified()
		}
		c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(unspecified, 0)))
		if err != nil {
			return fmt.Errorf("opening a UDP socket to send probes from: %w", localOr(err))
		}
		t.conn = c
		t.udpPort = uint16(c.LocalAddr().(*net.UDPAddr).Port)
		if t.l == nil {
			if err := t.openRecvErr(); err != nil {
				c.Close()
				return fmt.Errorf("setting IP_RECVERR on the UDP socket: %w", err)
			}
			return nil
		}
		t.l.registerPort(protoUDP, t.udpPort, t, -1)
	}
	return nil
}

// close ends every probe still in flight and unregisters the trace; after it
// returns, no goroutine of the trace is left and no reply reaches it.
func (t *trace) close() {
	t.mu.Lock()
	files := t.tcpFiles
	t.mu.Unlock()
	for _, f := range files {
		f.SetDeadline(time.Now()) // wakes its goroutine
	}
	t.tcpWait.Wait()
	if t.l == nil {
		t.conn.Close() // ends readQueue
		t.readers.Wait()
		return
	}
	switch t.protocol {
	case ICMP:
		t.l.unregister(t.echoProto(), t.echoID, t)
	case UDP:
		t.l.unregister(protoUDP, t.udpPort, t)
		t.conn.Close()
	case TCP:
		for _, p := range t.tcpPorts {
			t.l.unregister(protoTCP, p, t)
		}
		for _, f := range files {
			f.Close()
		}
	}
}

func (t *trace) echoProto() uint8 {
	if t.target.Is6() {
		return protoICMPv6
	}
	return protoICMP
}

// run sends the rounds and waits for their answers. It returns why the trace
// ended early: a probe that could not be sent, or the context's end; nil when
// every round ran.
func (t *trace) run(ctx context.Context) error {
	for round := 0; round < t.queries; round++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		// The end is looked up before each probe: on a short path the
		// first answers arrive while the round is still being sent, and
		// probes past the destination are only load on it.
		for ttl := 1; ttl <= t.end(); ttl++ {
			if err := t.send(ttl, round); err != nil {
				return err
			}
		}
		until := start.Add(t.hopTimeout)
		if round < t.queries-1 {
			until = start.Add(t.hopTimeout / time.Duration(t.queries))
		}
		if err := t.wait(ctx, round, until); err != nil {
			return err
		}
	}
	t.settle(ctx)
	return nil
}

// errSend wraps a probe that could not be sent: no route from this host, a
// local firewall rule. That is an observation about the path, reported in
// the result, not a failure to observe.
type errSend struct{ err error }

// Error gives the system's reason alone ("no route to host"), without the
// socket addresses Go puts before it.
func (e errSend) Error() string {
	var errno syscall.Errno
	if errors.As(e.err, &errno) {
		return errno.Error()
	}
	return e.err.Error()
}

// send sends the probe of one TTL and round. A full socket buffer (ENOBUFS)
// loses that probe only, like a packet dropped on the way.
func (t *trace) send(ttl, round int) error {
	i := t.index(ttl, round)
	t.mu.Lock()
	t.probes[i].sent = time.Now()
	t.mu.Unlock()
	var err error
	switch {
	case t.protocol == ICMP && t.l == nil:
		err = t.sendEchoDatagram(i, ttl)
	case t.protocol == ICMP:
		err = t.l.sendEcho(t.target, t.echoID, uint16(i), ttl)
	case t.protocol == UDP && t.l == nil:
		err = t.writeRecvErr(payload, ttl, net.UDPAddrFromAddrPort(netip.AddrPortFrom(t.target, uint16(t.port+i))))
	case t.protocol == UDP:
		to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(t.target, uint16(t.port+i)))
		_, _, err = t.conn.WriteMsgUDP(payload, ttlControl(t.target.Is6(), ttl), to)
	case t.protocol == TCP:
		err = t.sendTCP(i, ttl)
	}
	if err == nil {
		return nil
	}
	t.mu.Lock()
	t.probes[i].sent = time.Time{}
	t.mu.Unlock()
	if l := checks.LocalFailure(err); l != nil {
		t.mu.Lock()
		if t.local == nil {
			t.local = l
		}
		t.mu.Unlock()
		if errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EAGAIN) {
			return nil // that probe is lost; the others may still reach the host
		}
		return l
	}
	return errSend{err}
}

// sendTCP starts a non-blocking connect with the TTL set on its own socket:
// the SYN is the probe. The socket is bound before connecting so that its
// port, the key of the ICMP errors about it, is registered before the SYN
// leaves. Every socket stays open until the trace ends, even when its
// handshake is over: closed, its port could go to another trace's probe,
// which would then be credited with a late ICMP error meant for this one.
// A goroutine per probe in flight, parked in the runtime's poller, waits for
// the handshake; there are at most max_hops × queries of them.
func (t *trace) sendTCP(i, ttl int) error {
	family, level, opt := unix.AF_INET, unix.IPPROTO_IP, unix.IP_TTL
	var local, remote unix.Sockaddr
	if t.target.Is6() {
		family, level, opt = unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS
		local, remote = &unix.SockaddrInet6{}, &unix.SockaddrInet6{Port: t.port, Addr: t.target.As16()}
	} else {
		local, remote = &unix.SockaddrInet4{}, &unix.SockaddrInet4{Port: t.port, Addr: t.target.As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening a TCP socket: %w", localOr(err))
	}
	// An abortive close (a RST, no TIME_WAIT) ends a completed handshake:
	// a probe is not a connection the server should keep.
	err = errors.Join(
		unix.SetsockoptInt(fd, level, opt, ttl),
		unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}),
		unix.Bind(fd, local),
	)
	var port uint16
	if err == nil {
		var sa unix.Sockaddr
		sa, err = unix.Getsockname(fd)
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			port = uint16(sa.Port)
		case *unix.SockaddrInet6:
			port = uint16(sa.Port)
		}
	}
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("preparing a TCP socket: %w", err)
	}
	t.l.registerPort(protoTCP, port, t, i)
	t.mu.Lock()
	t.tcpPorts = append(t.tcpPorts, port)
	t.mu.Unlock()
	err = unix.Connect(fd, remote)
	f := os.NewFile(uintptr(fd), "traceroute tcp probe")
	t.mu.Lock()
	t.tcpFiles = append(t.tcpFiles, f)
	deadline := t.probes[i].sent.Add(t.hopTimeout)
	t.mu.Unlock()
	switch {
	case err == nil || errors.Is(err, unix.EINPROGRESS):
		t.tcpWait.Add(1)
		go t.awaitTCP(f, i, deadline)
	case errors.Is(err, unix.ECONNREFUSED):
		t.deliver(answer{probe: i, from: t.target, kind: refused, at: time.Now()})
	default:
		return err
	}
	return nil
}

// awaitTCP waits until the handshake of one probe completes or fails, or its
// hop_timeout passes. A completed handshake or a refusal (a RST) comes from
// the destination. Other failures are ICMP errors, which the listener sees
// itself, with the router's address.
func (t *trace) awaitTCP(f *os.File, i int, deadline time.Time) {
	defer t.tcpWait.Done()
	f.SetDeadline(deadline)
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	var kind answerKind
	rc.Write(func(fd uintptr) bool {
		soErr, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			return true
		case soErr == int(unix.ECONNREFUSED):
			kind = refused
			return true
		case soErr != 0:
			return true
		}
		if _, err := unix.Getpeername(int(fd)); err == nil {
			kind = connected
			return true
		}
		return false // still connecting: wait until writable
	})
	if kind != 0 {
		t.deliver(answer{probe: i, from: t.target, kind: kind, at: time.Now()})
	}
}

// deliver records an answer to one of the trace's probes. It is called by
// the listener's goroutine and by TCP probe goroutines; it never blocks.
func (t *trace) deliver(a answer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := a.probe
	switch t.protocol {
	case ICMP:
		if a.kind == echoReply && a.from != t.target || a.kind != echoReply && a.quotedDst != t.target {
			return
		}
		i = int(a.seq)
	case UDP:
		if a.quotedDst != t.target {
			return
		}
		i = int(a.dport) - t.port
	case TCP:
		if a.kind != connected && a.kind != refused && (a.quotedDst != t.target || int(a.dport) != t.port) {
			return
		}
	}
	if i < 0 || i >= len(t.probes) {
		return
	}
	p := &t.probes[i]
	if p.sent.IsZero() {
		return
	}
	rtt := a.at.Sub(p.sent)
	if rtt > t.hopTimeout {
		return // too late: the probe counts as lost
	}
	// The first answer counts, with one exception: a TCP connect refused
	// may stem from an ICMP port unreachable sent by a firewall on the way
	// (iptables' REJECT does that) rather than from the destination's RST.
	// The same ICMP message reaches the listener, which then knows better.
	if p.answered && !(p.kind == refused && a.kind != connected && a.kind != refused) {
		return
	}
	p.answered, p.from, p.rtt, p.kind, p.code = true, a.from, rtt, a.kind, a.code
	if ttl := i/t.queries + 1; ttl < t.stop && (p.from == t.target || p.kind == unreachable) {
		t.stop = ttl
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// end returns the last TTL worth probing: the first at which the
// destination answered or a router said it is unreachable, else max_hops.
// The caller must not hold t.mu.
func (t *trace) end() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.endLocked()
}

func (t *trace) endLocked() int { return t.stop }

// wait returns when every probe of the round up to the end of the path has
// its answer or its hop_timeout passed, when until is reached, or with the
// context's error when it ends first.
func (t *trace) wait(ctx context.Context, round int, until time.Time) error {
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	for !t.roundDone(round) {
		select {
		case <-t.wake:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (t *trace) roundDone(round int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	end := t.endLocked()
	for ttl := 1; ttl <= end; ttl++ {
		p := &t.probes[t.index(ttl, round)]
		if !p.sent.IsZero() && !p.answered {
			return false
		}
	}
	return true
}

// settle gives the listener a moment to read the ICMP error behind a TCP
// connect refused before the verdict is made (see deliver). The kernel
// queues that message on the raw socket before it fails the connect, so the
// wait is short, and only a trace whose path ends in a refusal pays it.
func (t *trace) settle(ctx context.Context) {
	if t.protocol != TCP {
		return
	}
	t.mu.Lock()
	end := t.endLocked()
	pending := false
	for round := 0; round < t.queries; round++ {
		if p := t.probes[t.index(end, round)]; p.answered && p.kind == refused {
			pending = true
		}
	}
	t.mu.Unlock()
	if !pending {
		return
	}
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
	}
}

// hops makes the result's view of the probes.
func (t *trace) hops() (hops []Hop, reached bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// The path ends where the destination or an unreachable answered;
	// past the last hop that answered at all there is nothing to show.
	stop := t.endLocked()
	end := 0
	for ttl := 1; ttl <= stop; ttl++ {
		for round := 0; round < t.queries; round++ {
			if p := &t.probes[t.index(ttl, round)]; p.answered {
				end = ttl
				reached = reached || ttl == stop && p.from == t.target
			}
		}
	}
	hops = []Hop{}
	for ttl := 1; ttl <= end; ttl++ {
		h := Hop{TTL: ttl, Addresses: []string{}}
		for round := 0; round < t.queries; round++ {
			p := &t.probes[t.index(ttl, round)]
			if !p.answered {
				continue
			}
			h.Replies++
			addr := p.from.String()
			if h.Address == "" {
				h.Address = addr
			}
			if !contains(h.Addresses, addr) {
				h.Addresses = append(h.Addresses, addr)
			}
			ms := math.Round(float64(p.rtt)/float64(time.Microsecond)) / 1000
			if h.RTTMs == nil || ms < *h.RTTMs {
				h.RTTMs = &ms
			}
			if p.kind == unreachable && h.Unreachable == "" && !(t.protocol == UDP && p.from == t.target && p.code == portUnreachable(t.target)) {
				h.Unreachable = icmperr.UnreachableName(p.code, t.target.Is6())
			}
		}
		hops = append(hops, h)
	}
	return hops, reached
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func portUnreachable(target netip.Addr) uint8 {
	if target.Is6() {
		return 4
	}
	return 3
}

// localOr is err with advice when it is this machine's failure (see
// checks.LocalFailure), else err.
func localOr(err error) error {
	if local := checks.LocalFailure(err); local != nil {
		return local
	}
	return err
}
