package ping

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// socketsEnv narrows the socket kinds the probe tries ("datagram", "raw"),
// to exercise one path; the benchmarks honour it too.
const socketsEnv = "NETTEST_PING_SOCKETS"

// TestMain also serves the probes the lab and privilege tests run in a
// helper process inside a namespace or as another user (lab.ProbeAs), so
// the probe sees exactly what nettest would see there.
func TestMain(m *testing.M) {
	if kinds := os.Getenv(socketsEnv); kinds != "" {
		socketKinds = strings.Split(kinds, ",")
	}
	lab.ProbeMain(m, Probe)
}

// RequirePing skips the test when this process may not send ICMP echo
// requests (not root, no CAP_NET_RAW, ping_group_range excludes its group),
// or fails it when NETTEST_REQUIRE_ROOT=1, as in CI. Exported for the
// package's external tests. It leaves no shared raw socket open, of its own
// or of earlier tests' checks (it stays open for idleClose after the last),
// so that the test's checks open the sockets they use.
func RequirePing(t testing.TB) {
	t.Helper()
	x := newExchange(1, 0)
	ep, err := attach(v4, x)
	if err == nil {
		ep.detach(x)
		closeIdle(v4)
		return
	}
	if os.Getenv("NETTEST_REQUIRE_ROOT") == "1" {
		t.Fatalf("cannot ping, and NETTEST_REQUIRE_ROOT=1 forbids skipping: %v", err)
	}
	t.Skipf("cannot ping from this process: %v", err)
}

// cfg is a Config with the kind's defaults, as the loader would fill them in.
func cfg(host string) Config {
	c := Defaults
	c.Host = host
	return c
}

// checkAnswered asserts what a user sees when every request was answered.
func checkAnswered(t *testing.T, r Result, address string, packets int) {
	t.Helper()
	if r.Address != address || r.Sent != packets || r.Received != packets || r.LossPercent != 0 || !r.Reachable || r.Error != "" {
		t.Errorf("got address %q sent %d received %d loss %v%% reachable %v error %q, want %q, %d, %d, 0%%, true, no error",
			r.Address, r.Sent, r.Received, r.LossPercent, r.Reachable, r.Error, address, packets, packets)
	}
	if r.RTTMinMs == nil || r.RTTAvgMs == nil || r.RTTMaxMs == nil || r.RTTStddevMs == nil {
		t.Fatalf("RTT fields are null although replies came back: %+v", r)
	}
	if !(0 <= *r.RTTMinMs && *r.RTTMinMs <= *r.RTTAvgMs && *r.RTTAvgMs <= *r.RTTMaxMs && *r.RTTStddevMs >= 0) {
		t.Errorf("RTTs out of order: min %v avg %v max %v stddev %v", *r.RTTMinMs, *r.RTTAvgMs, *r.RTTMaxMs, *r.RTTStddevMs)
	}
	// Loopback answers within microseconds; a second means RTTs are computed wrongly.
	if *r.RTTMaxMs > 1000 {
		t.Errorf("max RTT %v ms on loopback", *r.RTTMaxMs)
	}
}

// TestLoopback pings loopback addresses, which every Linux host answers
// (all of 127.0.0.0/8 and ::1), with each argument varied once.
func TestLoopback(t *testing.T) {
	RequirePing(t)
	tests := []struct {
		name    string
		cfg     Config
		address string
	}{
		{"IPv4", cfg("127.0.0.1"), "127.0.0.1"},
		{"IPv6", cfg("::1"), "::1"},
		{"another address of 127/8", cfg("127.0.1.1"), "127.0.1.1"},
		{"a name from /etc/hosts", cfg("localhost"), "127.0.0.1"},
		{"a name with family ip4", with(cfg("localhost"), func(c *Config) { c.Family = new("ip4") }), "127.0.0.1"},
		{"an IPv6 literal with family ip6", with(cfg("::1"), func(c *Config) { c.Family = new("ip6") }), "::1"},
		{"one packet", with(cfg("127.0.0.1"), func(c *Config) { c.Packets = 1 }), "127.0.0.1"},
		{"ten packets 10ms apart", with(cfg("127.0.0.1"), func(c *Config) { c.Packets, c.Interval = 10, "10ms" }), "127.0.0.1"},
		{"ttl 1 (loopback is no hop)", with(cfg("127.0.0.1"), func(c *Config) { c.TTL = new(1) }), "127.0.0.1"},
		{"hop limit 1 over IPv6", with(cfg("::1"), func(c *Config) { c.TTL = new(1) }), "::1"},
		{"empty payload", with(cfg("127.0.0.1"), func(c *Config) { c.Size = 0 }), "127.0.0.1"},
		{"one-byte payload", with(cfg("127.0.0.1"), func(c *Config) { c.Size = 1 }), "127.0.0.1"},
		{"9000-byte payload", with(cfg("::1"), func(c *Config) { c.Size = 9000 }), "::1"},
		{"largest IPv4 payload", with(cfg("127.0.0.1"), func(c *Config) { c.Size = maxSize }), "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r, err := Probe(ctx, tt.cfg)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			checkAnswered(t, r, tt.address, tt.cfg.Packets)
		})
	}
}

func with(c Config, f func(*Config)) Config {
	f(&c)
	return c
}

// TestErrors covers what cannot be pinged at all: an error, not a result.
func TestErrors(t *testing.T) {
	RequirePing(t)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"IPv4 literal asked as IPv6", with(cfg("127.0.0.1"), func(c *Config) { c.Family = new("ip6") }),
			`host "127.0.0.1" has no IPv6 address (it resolves to 127.0.0.1); remove family or change it`},
		{"IPv6 literal asked as IPv4", with(cfg("::1"), func(c *Config) { c.Family = new("ip4") }),
			`host "::1" has no IPv4 address (it resolves to ::1); remove family or change it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := Probe(ctx, tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestDeadlineEndsPing: the check's timeout bounds the whole ping. A ping of
// more packets than fit ends at the deadline with what it saw so far.
func TestDeadlineEndsPing(t *testing.T) {
	RequirePing(t)
	const timeout = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	r, err := Probe(ctx, with(cfg("127.0.0.1"), func(c *Config) { c.Packets, c.Interval = 1000, "20ms" }))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	// Without the deadline the 1000 requests would take 20 s. The margin is
	// wide because a loaded machine may run the probe late; what is tested
	// is that it ends near the deadline, not how near.
	if elapsed > timeout+3*time.Second {
		t.Errorf("took %v with a timeout of %v", elapsed, timeout)
	}
	// About 25 requests fit; a slow machine sends fewer, never more.
	if r.Sent < 1 || r.Sent > 26 {
		t.Errorf("sent %d requests in %v at one per 20ms", r.Sent, timeout)
	}
	// The replies to the last requests may still be on their way (or not
	// yet read, on a loaded machine) at the deadline; at least one came.
	if r.Received < 1 || r.Received > r.Sent || !r.Reachable || r.RTTAvgMs == nil {
		t.Errorf("got %d replies to %d requests on loopback, reachable %v", r.Received, r.Sent, r.Reachable)
	}
}

// TestCancelReturnsPromptly: Ctrl-C cancels the context; the probe returns at
// once with an error, since an interrupted ping proves nothing.
func TestCancelReturnsPromptly(t *testing.T) {
	RequirePing(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := Probe(ctx, with(cfg("127.0.0.1"), func(c *Config) { c.Packets, c.Interval = 100, "100ms" }))
	elapsed := time.Since(start)
	if err == nil || !strings.HasPrefix(err.Error(), "ping of 127.0.0.1 interrupted after ") || !strings.HasSuffix(err.Error(), " of 100 echo requests") {
		t.Errorf("got error %v, want it to say the ping was interrupted", err)
	}
	// Uncancelled, the 100 requests would take 10 s; the margin allows for
	// a loaded machine.
	if elapsed > 3*time.Second {
		t.Errorf("returned %v after the start, 300ms after which it was cancelled", elapsed)
	}
}

// TestConcurrentChecks runs many checks at once against distinct loopback
// addresses: each must count exactly its own replies, although (as root)
// all of them share one raw socket that receives every reply.
func TestConcurrentChecks(t *testing.T) {
	RequirePing(t)
	const n = 300
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		maxUser int
		stop    = make(chan struct{})
		sampled = make(chan struct{})
	)
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			shared.mu.Lock()
			if ep := shared.eps[v4]; ep != nil {
				ep.mu.Lock()
				mu.Lock()
				maxUser = max(maxUser, len(ep.byID))
				mu.Unlock()
				ep.mu.Unlock()
			}
			shared.mu.Unlock()
		}
	}()
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			addr := benchAddr(i)
			r, err := Probe(ctx, cfg(addr))
			switch {
			case err != nil:
				errs <- err
			case r.Address != addr || r.Sent != 3 || r.Received != 3:
				errs <- fmt.Errorf("%s: address %s sent %d received %d", addr, r.Address, r.Sent, r.Received)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if os.Geteuid() == 0 && !datagramAllowed() {
		if maxUser < 2 {
			t.Errorf("at most %d checks used the shared raw socket at once; want many", maxUser)
		}
		if !closesWithin(idleClose + 2*time.Second) {
			t.Errorf("the shared raw socket is still open %s after the last check ended", idleClose+2*time.Second)
		}
	}
}

// TestSharedSocketOutlivesItsLastCheck: checks that follow one another
// share one raw socket even when none overlaps the next, and the socket is
// closed once no check has used it for idleClose.
func TestSharedSocketOutlivesItsLastCheck(t *testing.T) {
	RequirePing(t)
	if os.Geteuid() != 0 || datagramAllowed() {
		t.Skip("this process pings with datagram sockets, one per check")
	}
	defer func(d time.Duration) { idleClose = d }(idleClose)
	idleClose = 300 * time.Millisecond
	var first *endpoint
	for i := range 5 {
		c := cfg(benchAddr(i))
		c.Packets = 1
		r, err := Probe(context.Background(), c)
		if err != nil || r.Received != 1 {
			t.Fatalf("check %d: received %d, error %v", i, r.Received, err)
		}
		shared.mu.Lock()
		ep := shared.eps[v4]
		shared.mu.Unlock()
		if i == 0 {
			first = ep
		}
		if ep == nil || ep != first {
			t.Fatalf("after check %d the shared raw socket is %p, after the first %p: want the first one, still open", i, ep, first)
		}
	}
	if !closesWithin(idleClose + 2*time.Second) {
		t.Errorf("the shared raw socket is still open %s after the last check ended", idleClose+2*time.Second)
	}
}

// closesWithin waits up to d for the shared raw IPv4 socket to be closed
// and tells whether it was.
func closesWithin(d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		shared.mu.Lock()
		open := shared.eps[v4] != nil
		shared.mu.Unlock()
		if !open {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// datagramAllowed tells whether this process may open ICMP datagram sockets.
func datagramAllowed() bool {
	for _, k := range socketKinds {
		if k == datagram {
			ep, err := openDatagram(v4, newExchange(1, 0))
			if err == nil {
				ep.conn.Close()
				return true
			}
		}
	}
	return false
}

// TestReplyMatching: a reply counts once, only for a request this check
// sent, and only with this check's payload.
func TestReplyMatching(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		replies  func(x *exchange) // delivered after requests 0 and 1 were sent
		received int
	}{
		{"one reply", func(x *exchange) { x.reply(0, x.payload, now) }, 1},
		{"a duplicate counts once", func(x *exchange) { x.reply(1, x.payload, now); x.reply(1, x.payload, now) }, 1},
		{"both replies", func(x *exchange) { x.reply(1, x.payload, now); x.reply(0, x.payload, now) }, 2},
		{"a request not sent yet", func(x *exchange) { x.reply(2, x.payload, now) }, 0},
		{"another check's payload", func(x *exchange) { x.reply(0, newExchange(3, DefaultSize).payload, now) }, 0},
		{"a truncated payload", func(x *exchange) { x.reply(0, x.payload[:10], now) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newExchange(3, DefaultSize)
			x.sending(0)
			x.sending(1)
			tt.replies(x)
			if s := x.stats(); s.received != tt.received || s.sent != 2 || s.complete {
				t.Errorf("got sent %d received %d complete %v, want 2, %d, false", s.sent, s.received, s.complete, tt.received)
			}
		})
	}
}

// TestStatistics: RTT statistics as ping computes them.
func TestStatistics(t *testing.T) {
	x := newExchange(4, 8)
	start := time.Now()
	for seq := range 4 {
		x.sending(seq)
		x.sentAt[seq] = start
	}
	for seq, rtt := range []time.Duration{1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond} {
		x.reply(seq, x.payload, start.Add(rtt))
	}
	s := x.stats()
	want := stats{sent: 4, received: 3, min: time.Millisecond, avg: 2 * time.Millisecond, max: 3 * time.Millisecond,
		stddev: 816496} // sqrt(2/3) ms
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	x.sendFailed(3, errors.New("boom"))
	if s := x.stats(); !s.complete || s.err != "sending echo request: boom" {
		t.Errorf("after the last request failed to send: complete %v error %q", s.complete, s.err)
	}
}

// TestICMPErrors: which ICMP messages count as an answer to a request, and
// how they read in the result and the diff.
func TestICMPErrors(t *testing.T) {
	for _, tc := range []struct {
		typ, code byte
		fam       family
		kind      string
	}{
		{3, 0, v4, "network"},
		{3, 1, v4, "host"},
		{3, 3, v4, "port"},
		{3, 13, v4, "prohibited"},
		{3, 4, v4, "fragmentation needed"},
		{11, 0, v4, ttlExceeded},
		{11, 1, v4, ""}, // fragment reassembly: no hop's answer
		{5, 1, v4, ""},  // a Redirect: the request was forwarded
		{12, 0, v4, ""}, // Parameter Problem
		{1, 0, v6, "no route"},
		{1, 1, v6, "prohibited"},
		{1, 3, v6, "address"},
		{3, 0, v6, ttlExceeded},
		{2, 0, v6, ""},   // Packet Too Big
		{137, 0, v6, ""}, // a Redirect
	} {
		if got := errorKind(tc.typ, tc.code, tc.fam); got != tc.kind {
			t.Errorf("%s type %d code %d: got %q, want %q", tc.fam, tc.typ, tc.code, got, tc.kind)
		}
	}

	router := netip.MustParseAddr("198.18.1.254")
	for kind, want := range map[string]string{
		"host":                 "host unreachable from 198.18.1.254",
		"network":              "network unreachable from 198.18.1.254",
		"prohibited":           "administratively prohibited by 198.18.1.254",
		ttlExceeded:            "ttl exceeded at 198.18.1.254",
		"no route":             "no route, said 198.18.1.254",
		"fragmentation needed": "fragmentation needed, said 198.18.1.254",
	} {
		if got := (icmpError{kind: kind, from: router}).phrase(); got != want {
			t.Errorf("%s: got %q, want %q", kind, got, want)
		}
	}
}

// TestReachableDiff: the diff of reachable names the ICMP error that came
// back instead of replies, and says nothing more after silence.
func TestReachableDiff(t *testing.T) {
	refused := Result{Address: "198.18.9.1", Sent: 3, LossPercent: 100, Unreachable: "host", UnreachableFrom: "198.18.1.254"}
	silent := Result{Address: "198.18.9.1", Sent: 3, LossPercent: 100}
	answered := Result{Address: "198.18.9.1", Sent: 3, Received: 3, Reachable: true, Unreachable: "host", UnreachableFrom: "198.18.1.254"}
	for _, tc := range []struct {
		name   string
		r      Result
		want   cty.Value
		actual string // "" when met
	}{
		{"refused", refused, cty.True, "false (host unreachable from 198.18.1.254)"},
		{"silence", silent, cty.True, "false"},
		{"refused as expected", refused, cty.False, ""},
		{"answered despite an error", answered, cty.False, "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := gocty.ToCtyValue(tc.r, checks.TypeOf[Result]())
			if err != nil {
				t.Fatal(err)
			}
			diffs := kindtest.Verdict(t, "ping", v, map[string]cty.Value{"reachable": tc.want})
			switch {
			case tc.actual == "" && len(diffs) != 0:
				t.Errorf("unexpected diffs %+v", diffs)
			case tc.actual != "" && (len(diffs) != 1 || diffs[0].Actual != tc.actual):
				t.Errorf("got diffs %+v, want actual %q", diffs, tc.actual)
			}
		})
	}
}

// TestErrorMatching: an error settles its request once; a reply
// for the same request still counts (a router that complained and
// forwarded anyway), and an error for a request not sent is ignored.
func TestErrorMatching(t *testing.T) {
	router := icmpError{kind: "host", from: netip.MustParseAddr("198.18.1.254")}
	x := newExchange(3, DefaultSize)
	x.sending(0)
	x.sending(1)
	x.refusedBy(0, router)
	x.refusedBy(0, router)
	x.refusedBy(2, router)
	if s := x.stats(); s.received != 0 || s.icmp != router || s.complete {
		t.Errorf("after an error about request 0: %+v", s)
	}
	x.reply(1, x.payload, time.Now())
	x.refusedBy(1, router)
	x.sending(2)
	x.reply(2, x.payload, time.Now())
	if s := x.stats(); s.received != 2 || !s.complete {
		t.Errorf("after replies to 1 and 2: received %d complete %v, want 2, true", s.received, s.complete)
	}
	y := newExchange(1, DefaultSize)
	y.sending(0)
	y.refusedBy(0, router)
	y.reply(0, y.payload, time.Now())
	if s := y.stats(); s.received != 1 || !s.complete {
		t.Errorf("a reply after an error: received %d complete %v, want 1, true", s.received, s.complete)
	}
}

// TestRequestBytes: the request marshalled once and renumbered for each
// send is, byte for byte, the one icmp.Message.Marshal makes for that
// sequence number, checksum included (IPv4; the kernel fills in ICMPv6's).
func TestRequestBytes(t *testing.T) {
	for _, size := range []int{0, 1, DefaultSize, 1471} {
		x := newExchange(3, size)
		x.id = 0xbeef
		x.request, _ = (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: int(x.id), Data: x.payload}}).Marshal(nil)
		for _, seq := range []int{0, 1, 2, 255, 256, 65534} {
			renumber(x.request, seq, v4)
			want, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: int(x.id), Seq: seq, Data: x.payload}}).Marshal(nil)
			if !bytes.Equal(x.request, want) {
				t.Errorf("size %d seq %d: got % x\nwant % x", size, seq, x.request[:8], want[:8])
			}
		}
	}
}

// TestDrainHandsOnReplies: a check that reads the shared raw socket after
// sending hands on the replies it finds, its own and other checks', with
// no reader goroutine; here there is none.
func TestDrainHandsOnReplies(t *testing.T) {
	RequirePing(t)
	if os.Geteuid() != 0 || datagramAllowed() {
		t.Skip("this process pings with datagram sockets, one per check")
	}
	ep, err := openRaw(v4)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.conn.Close()
	xs := make([]*exchange, 3)
	for i := range xs {
		xs[i] = newExchange(1, DefaultSize)
		xs[i].id, xs[i].target = uint16(0x7000+i), netip.MustParseAddr(benchAddr(i))
		ep.byID[xs[i].id] = xs[i]
	}
	for _, x := range xs {
		ep.send(context.Background(), x, 0, x.target, -1)
	}
	// The kernel answers within the send, unless it left the work to its
	// softirq thread on a busy machine: then the replies come a little later.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ep.drain()
		got := 0
		for _, x := range xs {
			got += x.stats().received
		}
		if got == len(xs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drain handed on %d of %d replies", got, len(xs))
		}
	}
}
