package checks

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Flow is the traffic of one conversation a probe is about to start: the
// transport protocol and the far end. The packets of a flow are those sent
// to Remote, those coming back from it, and the ICMP errors that quote a
// packet sent to it (from Remote or from any router on the way). A port of
// zero stands for every port of Remote.
//
// Probes report their flows so that the evidence of a check (the packet
// capture of `nettest test --capture`) holds its own packets and nothing
// else, without the runner or the capture knowing any kind.
type Flow struct {
	// Protocol is "tcp", "udp" or "icmp".
	Protocol string
	Remote   netip.AddrPort
	// LocalPort is the flow's own port, when the probe knows it before it
	// sends (0 otherwise). It tells apart the flows of two checks that
	// talk to the same remote port at the same time.
	LocalPort uint16
}

// String is the flow as a person writes it: tcp 127.0.0.1:80.
func (f Flow) String() string {
	return f.Protocol + " " + f.Remote.String()
}

type flowObserverKey struct{}

// FlowObserver is told of each flow a probe is about to start. It returns
// once it is ready to see the flow's first packet.
type FlowObserver func(Flow)

// WithFlowObserver returns a context under which ReportFlow calls observe.
// The runner sets it around one attempt of a check when something (a
// packet capture) wants that attempt's traffic.
func WithFlowObserver(ctx context.Context, observe FlowObserver) context.Context {
	return context.WithValue(ctx, flowObserverKey{}, observe)
}

// ReportFlow tells the observer of ctx, if any, that the probe is about to
// send the first packet of f. A probe calls it before it sends, so that
// nothing of the flow is missed; without an observer it costs a context
// look-up.
func ReportFlow(ctx context.Context, f Flow) {
	if observe, ok := ctx.Value(flowObserverKey{}).(FlowObserver); ok && f.Remote.IsValid() {
		f.Remote = netip.AddrPortFrom(f.Remote.Addr().Unmap(), f.Remote.Port())
		observe(f)
	}
}

// DialControl returns a net.Dialer Control function that reports each
// connection the dialer is about to make as a flow of ctx's observer, or nil
// when ctx has none (a nil Control costs nothing). Kinds that dial through
// net.Dialer (directly or under an HTTP or DNS client) set it, and every
// address the dialer tries is reported with the address it resolved.
//
// To know the flow's local port before the first packet, the socket is
// bound to a port of the kernel's choosing (on every address, so routing
// still picks the source address) before it connects; where that bind is
// refused (every port taken), the flow is reported without its port and the
// connection goes ahead as it would have.
func DialControl(ctx context.Context) func(network, address string, c syscall.RawConn) error {
	if _, ok := ctx.Value(flowObserverKey{}).(FlowObserver); !ok {
		return nil
	}
	return func(network, address string, c syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			host, port, splitErr := net.SplitHostPort(address)
			if splitErr != nil {
				return nil // not an address this can describe: capture what it can
			}
			if ap, err = netip.ParseAddrPort(net.JoinHostPort(strings.SplitN(host, "%", 2)[0], port)); err != nil {
				return nil
			}
		}
		ReportFlow(ctx, Flow{Protocol: strings.TrimRight(network, "46"), Remote: ap, LocalPort: bindAnyPort(c)})
		return nil
	}
}
