// Package icmperr reads ICMP error messages — Destination Unreachable and
// Time Exceeded — for the kinds that report them (ping, traceroute): which
// packet of ours each is about, and what to call it in a result.
//
// An ICMP error quotes the IP header and at least the first eight bytes of
// the packet that caused it (RFC 792; ICMPv6 quotes as much as fits in the
// minimum MTU): enough for the ports of a UDP or TCP probe, and for the
// identifier and sequence number of an echo request.
package icmperr

import (
	"fmt"
	"net/netip"
)

// Transport protocol numbers, as they appear in a quoted IP header.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// ICMP types of the messages this package knows.
const (
	TypeUnreachable4  = 3
	TypeTimeExceeded4 = 11
	TypeUnreachable6  = 1
	TypeTimeExceeded6 = 3
	TypeEchoRequest4  = 8
	TypeEchoRequest6  = 128
)

// Quoted is the packet an ICMP error is about, as the error quotes it.
type Quoted struct {
	// Proto is the transport protocol of the quoted packet.
	Proto uint8
	// Dst is the quoted packet's destination.
	Dst netip.Addr
	// Transport is the quoted transport header and what follows of it,
	// at least eight bytes.
	Transport []byte
}

// ParseQuoted reads the quoted packet of an ICMP error, b being the error's
// body after its eight-byte ICMP header. It is false when what is quoted is
// not an IP packet of the family or is cut short of eight transport bytes.
// An IPv6 packet with extension headers before its transport header is not
// ours (nettest sends none) and is refused too.
func ParseQuoted(b []byte, v6 bool) (Quoted, bool) {
	var q Quoted
	if v6 {
		if len(b) < 40 || b[0]>>4 != 6 {
			return q, false
		}
		q.Proto = b[6]
		q.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		q.Transport = b[40:]
	} else {
		if len(b) < 20 || b[0]>>4 != 4 {
			return q, false
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return q, false
		}
		q.Proto = b[9]
		q.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		q.Transport = b[ihl:]
	}
	if len(q.Transport) < 8 {
		return q, false
	}
	return q, true
}

// UnreachableName says in a word or two why a Destination Unreachable was
// sent, from its code: "network", "host", "port", "prohibited", …
func UnreachableName(code uint8, v6 bool) string {
	if v6 {
		switch code {
		case 0:
			return "no route"
		case 1, 5, 6:
			return "prohibited"
		case 3:
			return "address"
		case 4:
			return "port"
		}
		return fmt.Sprintf("code %d", code)
	}
	switch code {
	case 0, 6, 11:
		return "network"
	case 1, 7, 12:
		return "host"
	case 2:
		return "protocol"
	case 3:
		return "port"
	case 4:
		return "fragmentation needed"
	case 9, 10, 13:
		return "prohibited"
	}
	return fmt.Sprintf("code %d", code)
}
