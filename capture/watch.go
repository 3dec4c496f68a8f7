package capture

import (
	"bytes"
	"context"
	"net/netip"

	"github.com/nettest/nettest/checks"
)

// Watch watches, where it runs, for packets arriving for one destination:
// the witness of a udp check, run by the agent of a vantage at the check's
// destination. It reads a packet socket, so it sees a datagram as it
// arrives at the interface, before the host's own firewall (netfilter)
// decides its fate, and without binding the port: a port a service already
// uses can be watched too.
type Watch struct {
	spec checks.WatchSpec
	s    *waitSocket
}

// StartWatch arms a watch for spec and returns once the kernel feeds it.
func StartWatch(spec checks.WatchSpec) (*Watch, error) {
	s, err := openWaitSocket(checks.Flow{Protocol: spec.Protocol, Remote: spec.Dst}, loopbackIndexes())
	if err != nil {
		return nil, err
	}
	return &Watch{spec: spec, s: s}, nil
}

// Wait reports whether a packet of the watch arrived: at once if one did
// already, otherwise as soon as one does or when ctx ends. It closes the
// watch.
func (w *Watch) Wait(ctx context.Context) (bool, error) {
	defer w.s.close()
	for {
		pkt, err := w.s.next(ctx)
		if err != nil {
			return false, nil // ctx ended: not seen
		}
		if w.matches(pkt) {
			return true, nil
		}
	}
}

// Close ends the watch without waiting.
func (w *Watch) Close() { w.s.close() }

// matches tells the watched datagram from the rest of the flow's packets
// (the service's replies, ICMP errors): a UDP packet to the destination
// that carries the payload, when one was given.
func (w *Watch) matches(b []byte) bool {
	var dst netip.Addr
	var ip int
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		if b[9] != protoUDP {
			return false
		}
		ip = int(b[0]&0x0f) * 4
		dst = netip.AddrFrom4([4]byte(b[16:20]))
	case len(b) >= 40 && b[0]>>4 == 6:
		if b[6] != protoUDP {
			return false
		}
		ip = 40
		dst = netip.AddrFrom16([16]byte(b[24:40]))
	default:
		return false
	}
	if len(b) < ip+8 || dst != w.spec.Dst.Addr() || int(b[ip+2])<<8|int(b[ip+3]) != int(w.spec.Dst.Port()) {
		return false
	}
	return w.spec.Payload == nil || bytes.Equal(b[ip+8:], w.spec.Payload)
}
