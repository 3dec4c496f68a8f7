// Package capture keeps a packet capture of every check that did not pass
// (nettest test --capture=DIR): the check's own packets, in a pcapng file
// that Wireshark and tcpdump -r open, with a comment on each packet naming
// the check and the attempt.
//
// It captures in pure Go with Linux packet sockets (AF_PACKET, which takes
// CAP_NET_RAW). Each flow a probe reports through checks.ReportFlow gets a
// socket of its own with a classic BPF filter built from the flow, so the
// kernel hands over that flow's packets (both ways, on every interface, and
// the ICMP errors quoting it) and drops everything else before it is
// copied. The packets wait in the socket until the attempt ends; then they
// join the check's ring, which is written out if the check fails or errors
// and dropped the moment it passes.
package capture

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
)

// Bounds on what one check keeps: its ring holds the newest packets up to
// these limits, which are also the limits of its file. Each attempt brings
// at most what its sockets' receive buffers held.
const (
	maxPacketsPerCheck = 4096
	maxBytesPerCheck   = 2 << 20
)

// PermissionError is the refusal of a packet socket: the process lacks
// CAP_NET_RAW.
type PermissionError struct{ Err error }

func (e *PermissionError) Error() string {
	return "capturing packets needs the CAP_NET_RAW capability (" + e.Err.Error() + "): run nettest as root, " +
		"or grant the binary the capability once with `sudo setcap cap_net_raw+ep $(command -v nettest)`"
}

func (e *PermissionError) Unwrap() error { return e.Err }

// Recorder captures the flows of every check of a run and writes the
// captures of the checks that did not pass into a directory. It implements
// runner.Recorder; one Recorder serves one run.
type Recorder struct {
	dir      string
	loopback []int
	clock    *socket // keeps the kernel's packet timestamps on

	mu     sync.Mutex
	checks map[string]*record
	names  map[string]bool // file names given out in this run
}

// NewRecorder returns a recorder writing into dir, which it creates if need
// be. It fails with a *PermissionError when the process may not capture.
func NewRecorder(dir string) (*Recorder, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the capture directory: %w", err)
	}
	r := &Recorder{dir: dir, loopback: loopbackIndexes(), checks: map[string]*record{}, names: map[string]bool{}}
	r.clock = enableTimestamps()
	return r, nil
}

// Close releases what the recorder holds for the whole run.
func (r *Recorder) Close() {
	r.clock.release()
	closeIdle()
}

// record is what one check captured so far, over its attempts.
type record struct {
	mu      sync.Mutex
	packets []packet
	bytes   int
	dropped int      // by the kernel (buffer full) or by the ring
	flows   []string // the flows' names, here and at vantages
	note    string   // why a flow could not be captured
	current *attempt // the attempt in flight, if any
	done    bool
}

// addFlow notes a flow's name once (attempts differ in their local port
// only).
func (rec *record) addFlow(name string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Contains(rec.flows, name) {
		rec.flows = append(rec.flows, name)
	}
}

// packet is one captured packet, starting at its IP header.
type packet struct {
	data     []byte
	length   int // on the wire, when data was cut
	at       time.Time
	iface    string // the interface it crossed; at a vantage "vantage/name"
	inbound  bool
	outgoing bool
	comment  string
}

// attempt is one attempt of a check: the sockets of the flows it reported.
type attempt struct {
	rec       *record
	comment   string
	sensitive bool

	mu      sync.Mutex
	sockets map[checks.Flow]*socket
	remote  []packet // brought back from vantages (Attach)
	failed  error    // the first flow that could not be captured
	closed  bool
}

// StartAttempt returns ctx with a flow observer that opens a socket for
// each flow the probe reports.
func (r *Recorder) StartAttempt(ctx context.Context, a runner.Attempt) context.Context {
	r.mu.Lock()
	rec := r.checks[a.Address]
	if rec == nil {
		rec = &record{}
		r.checks[a.Address] = rec
	}
	r.mu.Unlock()
	at := &attempt{rec: rec, sensitive: a.Sensitive, sockets: map[checks.Flow]*socket{},
		comment: fmt.Sprintf("%s attempt %d of %d", a.Address, a.Number, a.Of)}
	rec.mu.Lock()
	rec.current = at
	rec.mu.Unlock()
	ctx = context.WithValue(ctx, attemptKey{}, at)
	return checks.WithFlowObserver(ctx, func(f checks.Flow) { r.open(at, f) })
}

func (r *Recorder) open(at *attempt, f checks.Flow) { openFlow(at, f, r.loopback) }

// openFlow opens a socket for flow f of the attempt, once per flow.
func openFlow(at *attempt, f checks.Flow, loopback []int) {
	at.mu.Lock()
	defer at.mu.Unlock()
	if at.closed {
		return
	}
	if _, seen := at.sockets[f]; seen {
		return
	}
	s, err := openSocket(f, loopback)
	if err != nil {
		if at.failed == nil {
			at.failed = fmt.Errorf("%s: %w", f, err)
		}
		return
	}
	at.sockets[f] = s
	at.rec.addFlow(f.String())
}

type attemptKey struct{}

// EndAttempt moves the packets of the attempt's flows into the check's
// ring and closes their sockets.
func (r *Recorder) EndAttempt(ctx context.Context) {
	if at, ok := ctx.Value(attemptKey{}).(*attempt); ok {
		at.end()
	}
}

// end drains and closes the attempt's sockets, once.
func (at *attempt) end() {
	at.mu.Lock()
	if at.closed {
		at.mu.Unlock()
		return
	}
	at.closed = true
	sockets := at.sockets
	at.sockets = nil
	pkts := at.remote
	at.remote = nil
	at.mu.Unlock()

	dropped := 0
	for _, s := range sockets {
		p, d := s.drain()
		s.close()
		pkts = append(pkts, p...)
		dropped += d
	}
	// Sockets are drained one after the other: put the packets back in
	// the order they passed. (A vantage's packets carry its clock, which
	// may differ from this one's.)
	slices.SortStableFunc(pkts, func(a, b packet) int { return a.at.Compare(b.at) })
	rec := at.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.current == at {
		rec.current = nil
	}
	if rec.done {
		return
	}
	rec.dropped += dropped
	for _, p := range pkts {
		if at.sensitive {
			p.data = p.data[:headerLength(p.data)]
		}
		if p.comment == "" {
			p.comment = at.comment
		}
		rec.packets = append(rec.packets, p)
		rec.bytes += len(p.data)
	}
	// The ring: the oldest packets go first.
	drop := 0
	for len(rec.packets)-drop > maxPacketsPerCheck || rec.bytes > maxBytesPerCheck {
		rec.bytes -= len(rec.packets[drop].data)
		drop++
	}
	if drop > 0 {
		rec.packets = append(rec.packets[:0:0], rec.packets[drop:]...)
		rec.dropped += drop
	}
	if at.failed != nil && rec.note == "" {
		rec.note = "not captured: " + at.failed.Error()
	}
}

// Finish writes the check's capture when it failed or errored and returns
// the file's path; for any other verdict it drops what was captured and
// returns "". A check that reported no flow (a kind that sends nothing, or
// a probe that failed before sending) leaves no file either.
func (r *Recorder) Finish(o runner.Outcome) string {
	r.mu.Lock()
	rec := r.checks[o.Address]
	delete(r.checks, o.Address)
	r.mu.Unlock()
	if rec == nil {
		return ""
	}
	rec.mu.Lock()
	current := rec.current
	rec.mu.Unlock()
	if current != nil {
		current.end() // the watchdog gave up on a probe still in flight
	}
	rec.mu.Lock()
	rec.done = true
	packets, flows, dropped, note := rec.packets, rec.flows, rec.dropped, rec.note
	rec.packets = nil
	rec.mu.Unlock()
	if (o.Status != runner.Fail && o.Status != runner.Error) || len(flows) == 0 {
		return ""
	}
	path := filepath.Join(r.dir, r.fileName(o.Address))
	if err := r.write(path, o, flows, packets, dropped, note); err != nil {
		fmt.Fprintf(os.Stderr, "nettest: writing the capture of %s: %v\n", o.Address, err)
		return ""
	}
	return path
}

// fileName is the address made safe for a file name, unique in the run:
// tcp.web["80"] becomes tcp.web_80_.pcapng.
func (r *Recorder) fileName(address string) string {
	var b strings.Builder
	for _, c := range address {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteRune(c)
		default:
			if s := b.String(); !strings.HasSuffix(s, "_") {
				b.WriteByte('_')
			}
		}
	}
	base := strings.Trim(b.String(), "._")
	if base == "" {
		base = "check"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	name := base + ".pcapng"
	for n := 2; r.names[name]; n++ {
		name = fmt.Sprintf("%s-%d.pcapng", base, n)
	}
	r.names[name] = true
	return name
}

// write writes one check's pcapng file: a section whose comment says what
// the check was and what it captured, an interface block per interface the
// packets passed, and the packets, each with its attempt as comment and its
// direction.
func (r *Recorder) write(path string, o runner.Outcome, names []string, packets []packet, dropped int, note string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	comment := fmt.Sprintf("nettest: %s (%s at %s:%d), %d of %d attempts; flows: %s",
		o.Address, o.Status, o.File, o.Line, o.AttemptsMade, o.AttemptsAllowed, strings.Join(names, ", "))
	if dropped > 0 {
		comment += fmt.Sprintf("; %d packets not kept (buffer or ring full)", dropped)
	}
	if note != "" {
		comment += "; " + note
	}
	w := newPcapngWriter(f, comment)
	// The first interface is described before any packet, so that even a
	// file without packets has one (tcpdump refuses a file without).
	first := "any"
	if len(packets) > 0 {
		first = packets[0].iface
	}
	w.addInterface(first)
	for _, p := range packets {
		w.writePacket(p)
	}
	if err := w.flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var interfaceNames sync.Map // index → name, in this process's namespace

// interfaceName is the name of interface index i.
func interfaceName(i int) string {
	if name, ok := interfaceNames.Load(i); ok {
		return name.(string)
	}
	name := fmt.Sprintf("if%d", i)
	if ifc, err := net.InterfaceByIndex(i); err == nil {
		name = ifc.Name
	}
	interfaceNames.Store(i, name)
	return name
}

// headerLength is how much of an IP packet its headers take: the IP header,
// the TCP or UDP header, and for an ICMP error the quoted headers. Checks
// with a sensitive argument keep only this much of each packet.
func headerLength(b []byte) int {
	if len(b) < 1 {
		return 0
	}
	ip, proto := 0, byte(0)
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return len(b)
		}
		ip, proto = int(b[0]&0x0f)*4, b[9]
	case 6:
		if len(b) < 40 {
			return len(b)
		}
		ip, proto = 40, b[6]
	default:
		return min(len(b), 20)
	}
	n := ip
	switch proto {
	case protoTCP:
		if len(b) >= ip+13 {
			n += int(b[ip+12]>>4) * 4
		} else {
			n += 20
		}
	case protoUDP:
		n += 8
	case protoICMP, protoICMPv6:
		// The ICMP header and the quoted packet's headers, which say
		// which flow the error is about.
		n += 8
		if len(b) > n {
			n += headerLength(b[n:])
		}
	}
	return min(n, len(b))
}
