// Package vantage runs checks' probes somewhere else: in another network
// namespace, on a host reached over SSH, or wherever a command (kubectl
// exec, docker exec, nsenter) leads. nettest starts itself there as an
// agent (`nettest agent`) and sends it probe requests as JSON lines over the
// agent's standard input; the agent answers on its standard output. Judging,
// retries, timeouts, dependencies, redaction and reports stay in the process
// the user started: a vantage only observes.
//
// One agent and one connection serve each vantage for a whole run, started
// on the first probe that needs it, so a vantage nothing uses is never
// connected to. Closing the agent's standard input ends it, and with it
// everything it ran on the far side.
package vantage

import (
	"encoding/json"
	"time"

	"github.com/nettest/nettest/capture"
	"github.com/nettest/nettest/checks"
)

// protocolVersion changes whenever a message changes incompatibly; the agent
// says its version first and the client refuses an agent of another.
const protocolVersion = 1

// hello is the agent's first line: what it is and where it runs, so the
// client can tell a mismatched agent from a working one.
type hello struct {
	Hello struct {
		Protocol int      `json:"protocol"`
		Version  string   `json:"version"`
		OS       string   `json:"os"`
		Arch     string   `json:"arch"`
		Kinds    []string `json:"kinds"`
		// Time is the agent's clock when it greeted (Unix nanoseconds),
		// from which the client learns how far the two clocks differ.
		Time int64 `json:"time_unix_ns"`
	} `json:"hello"`
}

// request asks the agent for one probe, or (Cancel) to stop one.
type request struct {
	ID   uint64          `json:"id"`
	Kind string          `json:"kind,omitempty"`
	Args json.RawMessage `json:"args,omitempty"`
	// Timeout is how long the probe may take from when the agent reads the
	// request: the time left on the check's clock when it was sent. A
	// duration rather than a deadline, as the two clocks need not agree.
	Timeout time.Duration `json:"timeout_ns,omitempty"`
	// Deadline is the check's deadline on the agent's clock (Unix
	// nanoseconds, converted by the client with the offset the hello
	// showed). The agent ends the probe at the earlier of the two, so a
	// request that waited in a pipe to a busy agent still ends in time.
	Deadline int64 `json:"deadline_unix_ns,omitempty"`
	// CheckTimeout is the check's timeout as written, which probes quote
	// in their messages (checks.WithTimeout).
	CheckTimeout time.Duration `json:"check_timeout_ns,omitempty"`
	Cancel       bool          `json:"cancel,omitempty"`
	// Watch, instead of a probe, asks the agent to witness packets
	// arriving where it runs (a udp check's witness).
	Watch *watchRequest `json:"watch,omitempty"`
	// Capture asks the agent to capture the probe's flows there and send
	// the packets back with the answer (nettest test --capture).
	Capture *captureRequest `json:"capture,omitempty"`
}

// captureRequest is how a probe's flows are captured at the vantage.
type captureRequest struct {
	// HeadersOnly keeps only the packets' headers: the check carries a
	// sensitive value.
	HeadersOnly bool `json:"headers_only,omitempty"`
}

// watchRequest is one step of a witness's watch: Start arms a watch and is
// answered once the agent watches (with its WatchID), Wait is answered when
// a packet of the watch WaitID arrived or the request's timeout ran out,
// and ends that watch. Two requests, so that the check sends its datagram
// only once the far side watches.
type watchRequest struct {
	Start *checks.WatchSpec `json:"start,omitempty"`
	Wait  uint64            `json:"wait,omitempty"`
}

// response answers one request: what the probe saw, or why it saw nothing.
type response struct {
	ID     uint64          `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	// Evidence is what the agent captured during the probe, when asked.
	Evidence *capture.Evidence `json:"evidence,omitempty"`
	// WatchID answers a watch's Start; Seen its Wait.
	WatchID uint64 `json:"watch_id,omitempty"`
	Seen    bool   `json:"seen,omitempty"`
}
