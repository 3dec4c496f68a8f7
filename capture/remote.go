package capture

import (
	"context"
	"time"

	"github.com/nettest/nettest/checks"
)

// A check that runs from a vantage probes in nettest's agent there, so its
// packets pass there, not here. When the check's attempt is captured, the
// vantage asks its agent to capture the probe's flows itself (a Session),
// and brings the packets back with the result; Attach adds them to the
// attempt, where they join its file like packets captured here. Their
// interfaces are named "VANTAGE/INTERFACE" and their times are the
// vantage's clock.

// Evidence is what an agent captured during one probe.
type Evidence struct {
	Flows   []string `json:"flows"`
	Packets []Packet `json:"packets,omitempty"`
	// Dropped counts the packets not kept (buffers or the ring full).
	Dropped int `json:"dropped,omitempty"`
	// Note says why a flow could not be captured there.
	Note string `json:"note,omitempty"`
}

// Packet is one captured packet on the wire between agent and client.
type Packet struct {
	Data      []byte    `json:"data"`
	Length    int       `json:"length"`
	At        time.Time `json:"at"`
	Interface string    `json:"interface"`
	// Direction is "in", "out" or "" (unknown).
	Direction string `json:"direction,omitempty"`
}

// Requested reports whether the attempt of ctx is being captured, and
// whether only the packets' headers may be kept (a sensitive check).
func Requested(ctx context.Context) (on, headersOnly bool) {
	at, ok := ctx.Value(attemptKey{}).(*attempt)
	if !ok {
		return false, false
	}
	return true, at.sensitive
}

// Attach adds what the agent of vantage captured to the attempt of ctx.
func Attach(ctx context.Context, vantage string, ev *Evidence) {
	at, ok := ctx.Value(attemptKey{}).(*attempt)
	if !ok || ev == nil {
		return
	}
	for _, f := range ev.Flows {
		at.rec.addFlow(f + " at vantage " + vantage)
	}
	at.mu.Lock()
	defer at.mu.Unlock()
	if at.closed {
		return
	}
	for _, p := range ev.Packets {
		at.remote = append(at.remote, packet{data: p.Data, length: p.Length, at: p.At, iface: vantage + "/" + p.Interface,
			inbound: p.Direction == "in", outgoing: p.Direction == "out", comment: at.comment + " at vantage " + vantage})
	}
	at.rec.mu.Lock()
	at.rec.dropped += ev.Dropped
	if ev.Note != "" && at.rec.note == "" {
		at.rec.note = ev.Note + " (at vantage " + vantage + ")"
	}
	at.rec.mu.Unlock()
}

// Session captures the flows of one probe where it runs: the agent's side
// of a captured check at a vantage.
type Session struct {
	at *attempt
}

// StartSession returns ctx with a flow observer that captures every flow
// the probe reports, and the session that collects them.
func StartSession(ctx context.Context, headersOnly bool) (context.Context, *Session) {
	at := &attempt{rec: &record{}, sensitive: headersOnly, sockets: map[checks.Flow]*socket{}}
	loopback := loopbackIndexes()
	return checks.WithFlowObserver(ctx, func(f checks.Flow) { openFlow(at, f, loopback) }), &Session{at: at}
}

// End stops capturing and returns what was captured.
func (s *Session) End() *Evidence {
	s.at.end()
	rec := s.at.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	ev := &Evidence{Flows: rec.flows, Dropped: rec.dropped, Note: rec.note}
	for _, p := range rec.packets {
		dir := ""
		switch {
		case p.outgoing:
			dir = "out"
		case p.inbound:
			dir = "in"
		}
		ev.Packets = append(ev.Packets, Packet{Data: p.data, Length: p.length, At: p.at, Interface: p.iface, Direction: dir})
	}
	return ev
}
