package checks

import (
	"context"
	"fmt"
	"net/netip"
)

// WatchSpec says which packets a witness watches for where it is: packets
// of Protocol arriving for Dst, and when Payload is set, only those that
// carry exactly those bytes (the datagram the check sent, told apart from
// other traffic to the same port). The source is not compared: NAT on the
// way may rewrite it.
type WatchSpec struct {
	Protocol string         `json:"protocol"`
	Dst      netip.AddrPort `json:"dst"`
	Payload  []byte         `json:"payload,omitempty"`
}

// Witness is a Prober that can also watch for packets arriving at its
// place: a vantage at a check's destination (the udp check's witness).
type Witness interface {
	// StartWatch returns once the place watches for the packets of spec;
	// the check may send from then on.
	StartWatch(ctx context.Context, spec WatchSpec) (Watch, error)
}

// Watch is one armed watch.
type Watch interface {
	// Wait returns whether a packet of the watch arrived: at once when one
	// did, otherwise when ctx ends. It ends the watch.
	Wait(ctx context.Context) (seen bool, err error)
}

type vantagesKey struct{}

// WithVantages returns ctx under which a probe can reach the Prober of a
// vantage by name (WitnessAt). The runner sets it around probes when the
// run has vantages.
func WithVantages(ctx context.Context, prober func(name string) Prober) context.Context {
	return context.WithValue(ctx, vantagesKey{}, prober)
}

// WitnessAt returns the witness of the named vantage, or an error that
// says why there is none.
func WitnessAt(ctx context.Context, vantage string) (Witness, error) {
	prober, ok := ctx.Value(vantagesKey{}).(func(string) Prober)
	if !ok || prober == nil {
		return nil, fmt.Errorf("witness = vantage.%s cannot be reached from here: a check with a witness runs where nettest was started (no from), and the vantage must be declared in the suite", vantage)
	}
	w, ok := prober(vantage).(Witness)
	if !ok {
		return nil, fmt.Errorf("vantage %s cannot be a witness", vantage)
	}
	return w, nil
}
