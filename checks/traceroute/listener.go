package traceroute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/icmperr"
	"github.com/nettest/nettest/checks/internal/netx"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Every trace of a process, whatever its protocol, learns about its probes
// through ICMP: Time Exceeded from the routers on the way, Echo Reply or
// Destination Unreachable from the end. Only a raw ICMP socket receives those
// for UDP and TCP probes, and a raw socket receives every ICMP message that
// reaches the host. If each trace opened its own, N parallel traces would
// each read the replies of all the others: N² work for the kernel and for us.
// So there is one raw socket per network namespace and address family,
// shared by all the traces running in it, and one goroutine reading it that
// hands each reply to its trace by a key (an ICMP echo identifier, or the
// source port of a UDP or TCP probe) in one map look-up.

// Transport protocol numbers, as they appear in the quoted IP header of an
// ICMP error.
const (
	protoICMP   = icmperr.ProtoICMP
	protoTCP    = icmperr.ProtoTCP
	protoUDP    = icmperr.ProtoUDP
	protoICMPv6 = icmperr.ProtoICMPv6
)

// What an ICMP message (or a TCP handshake) said about a probe.
type answerKind uint8

const (
	timeExceeded answerKind = iota + 1 // a router on the way
	echoReply                          // the destination answered the echo request
	unreachable                        // Destination Unreachable, with a code
	connected                          // the TCP handshake completed
	refused                            // the TCP connect failed with ECONNREFUSED
)

// answer is one reply matched to one probe.
type answer struct {
	probe int // index into trace.probes, or -1: derive it from port or seq
	from  netip.Addr
	kind  answerKind
	code  uint8 // ICMP code of an unreachable
	seq   uint16
	dport uint16
	// quotedDst is the destination of the probe as quoted in an ICMP error;
	// invalid for echo replies and TCP results.
	quotedDst netip.Addr
	at        time.Time
}

// routeKey names the owner of a reply: proto is the transport of the probe
// and id its ICMP echo identifier (protoICMP, protoICMPv6) or its local
// source port (protoUDP, protoTCP).
type routeKey struct {
	proto uint8
	id    uint16
}

// route is where the replies with one key go. probe is the probe's index
// when the key belongs to a single probe (a TCP socket), -1 when the trace
// must tell its probes apart by the sequence number or destination port.
type route struct {
	trace *trace
	probe int
}

// listenerKey tells the shared listeners apart. A raw socket belongs to the
// network namespace of the thread that created it; a caller that switched
// its thread into another namespace must not be handed a socket of the
// first.
type listenerKey struct {
	netns uint64
	v6    bool
}

// listener is the shared raw ICMP socket of one namespace and family. It also
// sends the ICMP echo requests of every trace, each with its own TTL as
// ancillary data, so that ICMP traces need no socket of their own.
type listener struct {
	key  listenerKey
	conn *net.IPConn
	refs int // guarded by listenersMu

	mu     sync.Mutex
	routes map[routeKey]route
	nextID uint16
}

var (
	listenersMu sync.Mutex
	listeners   = map[listenerKey]*listener{}
)

// errNoPrivilege is wrapped by the error returned when the raw socket cannot
// be opened for lack of privilege.
var errNoPrivilege = errors.New("no privilege for a raw ICMP socket")

// acquire returns the listener of the calling thread's namespace for the
// family, opening it on first use. Each acquire is paired with a release.
func acquire(v6 bool) (*listener, error) {
	key := listenerKey{netns: currentNetns(), v6: v6}
	listenersMu.Lock()
	defer listenersMu.Unlock()
	if l := listeners[key]; l != nil {
		l.refs++
		return l, nil
	}
	l, err := openListener(key)
	if err != nil {
		return nil, err
	}
	l.refs = 1
	listeners[key] = l
	go l.read()
	return l, nil
}

// release drops one reference; the last one closes the socket, which ends
// the reading goroutine. Nothing lingers between runs.
func (l *listener) release() {
	listenersMu.Lock()
	defer listenersMu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(listeners, l.key)
		l.conn.Close()
	}
}

func openListener(key listenerKey) (*listener, error) {
	network, address := "ip4:icmp", "0.0.0.0"
	if key.v6 {
		network, address = "ip6:ipv6-icmp", "::"
	}
	pc, err := net.ListenPacket(network, address)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%w: %v", errNoPrivilege, err)
		}
		if local := checks.LocalFailure(err); local != nil {
			err = local
		}
		return nil, fmt.Errorf("opening a raw ICMP socket: %w", err)
	}
	conn := pc.(*net.IPConn)
	icmperr.GrowReadBuffer(conn, readBuffer)
	l := &listener{key: key, conn: conn, routes: map[routeKey]route{}, nextID: uint16(rand.N(1 << 16))}
	// Only three kinds of message concern a trace; the kernel drops the
	// others (echo requests to this host, neighbour discovery, …) before
	// they reach us.
	if err := icmperr.FilterRaw(conn, key.v6); err != nil {
		conn.Close()
		return nil, fmt.Errorf("setting the ICMP filter of the raw socket: %w", err)
	}
	return l, nil
}

// readBuffer is the receive buffer asked for the shared socket: the answers
// to a round of many parallel traces arrive in a burst, and what does not
// fit is lost. 4 MiB holds about 4000 of them.
const readBuffer = 4 << 20

// currentNetns identifies the network namespace of the calling thread by the
// inode of its namespace file. Without /proc every caller shares one key,
// which is right as long as nobody switches namespaces.
func currentNetns() uint64 {
	fi, err := os.Stat("/proc/thread-self/ns/net")
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// registerEcho reserves a free ICMP echo identifier for t. Identifiers start
// at a random value so that two processes tracing at once rarely pick the
// same; the destination address is checked too, so even then replies are not
// confused unless both trace the same host.
func (l *listener) registerEcho(t *trace) (uint16, error) {
	proto := uint8(protoICMP)
	if l.key.v6 {
		proto = protoICMPv6
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for range 1 << 16 {
		id := l.nextID
		l.nextID++
		k := routeKey{proto, id}
		if _, taken := l.routes[k]; !taken {
			l.routes[k] = route{trace: t, probe: -1}
			return id, nil
		}
	}
	return 0, errors.New("all 65536 ICMP echo identifiers are in use by traces of this process")
}

// registerPort routes ICMP errors about packets sent from a local UDP or TCP
// port to t. The port is the kernel's own choice for a socket we hold open,
// so no other socket of this namespace and family uses it meanwhile.
func (l *listener) registerPort(proto uint8, port uint16, t *trace, probe int) {
	l.mu.Lock()
	l.routes[routeKey{proto, port}] = route{trace: t, probe: probe}
	l.mu.Unlock()
}

// unregister forgets a key of t; replies arriving later are dropped.
func (l *listener) unregister(proto uint8, id uint16, t *trace) {
	l.mu.Lock()
	if k := (routeKey{proto, id}); l.routes[k].trace == t {
		delete(l.routes, k)
	}
	l.mu.Unlock()
}

// sendEcho sends an ICMP echo request with the given TTL (hop limit) as
// ancillary data, so that traces sharing the socket do not race on a socket
// option.
func (l *listener) sendEcho(dst netip.Addr, id, seq uint16, ttl int) error {
	b := make([]byte, 8+len(payload))
	if l.key.v6 {
		b[0] = byte(ipv6.ICMPTypeEchoRequest)
	} else {
		b[0] = byte(ipv4.ICMPTypeEcho)
	}
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], payload)
	// The kernel computes the ICMPv6 checksum of raw sockets itself.
	if !l.key.v6 {
		binary.BigEndian.PutUint16(b[2:], netx.Checksum(b))
	}
	_, _, err := l.conn.WriteMsgIP(b, ttlControl(l.key.v6, ttl), &net.IPAddr{IP: dst.AsSlice()})
	return err
}

// ttlControl is the ancillary data that sets the TTL (IPv4) or hop limit
// (IPv6) of the one packet it is sent with, for raw and UDP sockets alike.
// (golang.org/x/net/ipv4 does not send IP_TTL as ancillary data.)
func ttlControl(v6 bool, ttl int) []byte {
	level, typ := unix.IPPROTO_IP, unix.IP_TTL
	if v6 {
		level, typ = unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT
	}
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = int32(level), int32(typ)
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], uint32(ttl))
	return b
}

// payload fills echo requests and UDP probes; its content does not matter,
// its name makes the packets recognisable in a capture.
var payload = []byte("nettest traceroute probe")

// read is the one goroutine per listener. Reads of an IPv4 raw socket
// through net.IPConn come without the IP header, as those of IPv6 do. It parses each message, finds its
// trace with one map look-up and hands it over without blocking: a slow
// trace cannot stall the others.
func (l *listener) read() {
	buf := make([]byte, 1500)
	for {
		n, peer, err := l.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (a full receive queue reported as
			// ENOBUFS, …) loses one message at most: keep reading,
			// without spinning should it persist.
			time.Sleep(time.Millisecond)
			continue
		}
		at := time.Now()
		ip, ok := peer.(*net.IPAddr)
		if !ok {
			continue
		}
		from, ok := netip.AddrFromSlice(ip.IP)
		if !ok {
			continue
		}
		key, a, ok := parse(buf[:n], l.key.v6)
		if !ok {
			continue
		}
		a.from, a.at = from.Unmap(), at
		l.mu.Lock()
		r, found := l.routes[key]
		l.mu.Unlock()
		if found {
			a.probe = r.probe
			r.trace.deliver(a)
		}
	}
}

// parse reads an ICMP message (without its IP header, as raw sockets hand
// them over) and returns the key of the probe it is about.
func parse(b []byte, v6 bool) (routeKey, answer, bool) {
	var a answer
	if len(b) < 8 {
		return routeKey{}, a, false
	}
	typ, code := b[0], b[1]
	echoReplyType, timeExceededType, unreachableType := uint8(0), uint8(11), uint8(3)
	if v6 {
		echoReplyType, timeExceededType, unreachableType = 129, 3, 1
	}
	switch typ {
	case echoReplyType:
		a.kind = echoReply
		a.seq = binary.BigEndian.Uint16(b[6:])
		proto := uint8(protoICMP)
		if v6 {
			proto = protoICMPv6
		}
		return routeKey{proto, binary.BigEndian.Uint16(b[4:])}, a, true
	case timeExceededType:
		if code != 0 { // code 1 is fragment reassembly, not a hop
			return routeKey{}, a, false
		}
		a.kind = timeExceeded
	case unreachableType:
		a.kind, a.code = unreachable, code
	default:
		return routeKey{}, a, false
	}
	q, ok := icmperr.ParseQuoted(b[8:], v6)
	if !ok {
		return routeKey{}, a, false
	}
	proto, rest := q.Proto, q.Transport
	a.quotedDst = q.Dst
	switch proto {
	case protoICMP, protoICMPv6:
		// Only an echo request of ours carries our identifier.
		if (proto == protoICMP && rest[0] != 8) || (proto == protoICMPv6 && rest[0] != 128) {
			return routeKey{}, a, false
		}
		a.seq = binary.BigEndian.Uint16(rest[6:])
		return routeKey{proto, binary.BigEndian.Uint16(rest[4:])}, a, true
	case protoUDP, protoTCP:
		a.dport = binary.BigEndian.Uint16(rest[2:])
		return routeKey{proto, binary.BigEndian.Uint16(rest[0:])}, a, true
	}
	return routeKey{}, a, false
}
