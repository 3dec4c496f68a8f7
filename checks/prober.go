package checks

import (
	"context"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Prober carries out one probe of a kind somewhere. The runner calls a
// Prober in the one place it probes, so where a probe runs (here, in another
// network namespace, on a host across SSH) is a choice of Prober, not a
// change to any kind: judging, retries, timeouts and reports stay with the
// runner whatever the Prober.
type Prober interface {
	// Probe observes once, like Kind.Probe, and returns what was seen. An
	// error means nothing could be observed; its text tells the user what
	// to do.
	Probe(ctx context.Context, k *Kind, args Args) (cty.Value, error)
}

// Connector is a Prober that must reach its place before it can probe
// (start an agent there). The runner calls Connect with the run's context
// before it starts a check's clock, so that what is done once for the run
// is not charged to whichever check happens to come first; a Connector
// charges to timeout what it should (a host that does not answer).
type Connector interface {
	Connect(ctx context.Context, timeout time.Duration) error
}

// TimedProber is a Prober that adds duration_ms to what it observed
// itself, the time from start to the probe's return, as WithDuration adds
// it. The runner prefers it to Probe and WithDuration, which make every
// result twice.
type TimedProber interface {
	Prober
	ProbeTimed(ctx context.Context, k *Kind, args Args, start time.Time) (Result, error)
}

// Local probes in this process: the kind's own probe, called directly.
var Local Prober = local{}

type local struct{}

func (local) Probe(ctx context.Context, k *Kind, args Args) (cty.Value, error) {
	r, err := k.Probe.CallArgs(ctx, args, time.Time{})
	return r.Value(), err
}

func (local) ProbeTimed(ctx context.Context, k *Kind, args Args, start time.Time) (Result, error) {
	return k.Probe.CallArgs(ctx, args, start)
}

// ArgsType is the object type of the arguments a probe of k receives: one
// attribute per declared argument, of its declared type.
func (k *Kind) ArgsType() cty.Type {
	attrs := make(map[string]cty.Type, len(k.Args))
	for _, a := range k.Args {
		attrs[a.Name] = a.Type
	}
	return cty.Object(attrs)
}

// MarshalArgs writes a probe's arguments as JSON, to send them to a probe
// in another process. It uses the kind's declared argument types, so an
// argument of any type (cty.DynamicPseudoType) carries its type along and
// UnmarshalArgs gives back the very same value.
func (k *Kind) MarshalArgs(args Args) ([]byte, error) {
	b, err := ctyjson.Marshal(k.Object(args), k.ArgsType())
	if err != nil {
		return nil, fmt.Errorf("encoding the arguments of a %s check: %w", k.Name, err)
	}
	return b, nil
}

// UnmarshalArgs reads what MarshalArgs wrote.
func (k *Kind) UnmarshalArgs(b []byte) (Args, error) {
	v, err := ctyjson.Unmarshal(b, k.ArgsType())
	if err != nil {
		return nil, fmt.Errorf("decoding the arguments of a %s check: %w", k.Name, err)
	}
	return k.ArgsOf(v), nil
}

// MarshalResult writes what a probe of k observed as JSON, with the kind's
// result type.
func (k *Kind) MarshalResult(result cty.Value) ([]byte, error) {
	b, err := ctyjson.Marshal(result, k.Result)
	if err != nil {
		return nil, fmt.Errorf("encoding the result of a %s check: %w", k.Name, err)
	}
	return b, nil
}

// UnmarshalResult reads what MarshalResult wrote.
func (k *Kind) UnmarshalResult(b []byte) (cty.Value, error) {
	v, err := ctyjson.Unmarshal(b, k.Result)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decoding the result of a %s check: %w", k.Name, err)
	}
	return v, nil
}
