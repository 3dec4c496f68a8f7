package traceroute

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/internal/lab"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// TestMain also serves the probes the privilege tests run in a helper
// process as another user (lab.ProbeAs), so the probe sees what nettest run
// by an ordinary user would see.
func TestMain(m *testing.M) {
	lab.ProbeMain(m, Probe)
}

// trace1 runs Probe under a timeout and fails the test on an error.
func trace1(t *testing.T, cfg Config, timeout time.Duration) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := Probe(ctx, cfg)
	if err != nil {
		t.Fatalf("Probe(%+v): %v", cfg, err)
	}
	return r
}

// path writes the hops as traceroute would list them: "a b *".
func path(r Result) string {
	var parts []string
	for _, h := range r.Hops {
		s := h.Address
		if s == "" {
			s = "*"
		}
		if h.Unreachable != "" {
			s += "!" + h.Unreachable
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// checkHops asserts the result's consistency that every user relies on: hop
// numbers count from 1, hop_count is the number of hops, an answered hop has
// an address and an RTT within the hop timeout, a silent one neither.
func checkHops(t *testing.T, r Result, hopTimeout time.Duration) {
	t.Helper()
	if r.HopCount != len(r.Hops) {
		t.Errorf("hop_count %d, but %d hops listed", r.HopCount, len(r.Hops))
	}
	for i, h := range r.Hops {
		if h.TTL != i+1 {
			t.Errorf("hop %d has ttl %d", i+1, h.TTL)
		}
		switch {
		case h.Replies == 0 && (h.Address != "" || h.RTTMs != nil || len(h.Addresses) != 0):
			t.Errorf("hop %d has no replies but address %q, addresses %v, rtt %v", h.TTL, h.Address, h.Addresses, h.RTTMs)
		case h.Replies > 0 && (h.Address == "" || h.RTTMs == nil || len(h.Addresses) == 0 || h.Addresses[0] != h.Address):
			t.Errorf("hop %d has %d replies but address %q, addresses %v, rtt %v", h.TTL, h.Replies, h.Address, h.Addresses, h.RTTMs)
		case h.RTTMs != nil && (*h.RTTMs < 0 || *h.RTTMs > float64(hopTimeout.Milliseconds())):
			t.Errorf("hop %d rtt_ms %v outside 0..%v", h.TTL, *h.RTTMs, hopTimeout.Milliseconds())
		}
	}
}

// A trace to this host's own address is one hop long whatever the
// protocol: the packet never leaves, its TTL is never decremented.
func TestLoopback(t *testing.T) {
	lab.RequireRoot(t)
	open4, open6 := lab.OpenPort(t, "tcp4", "127.0.0.1:0"), lab.OpenPort(t, "tcp6", "[::1]:0")
	closed4, closed6 := lab.ClosedPort(t, "tcp4", "127.0.0.1:0"), lab.ClosedPort(t, "tcp6", "[::1]:0")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"icmp v4", Config{Host: "127.0.0.1"}, "127.0.0.1"},
		{"icmp v6", Config{Host: "::1"}, "::1"},
		{"icmp name", Config{Host: "localhost"}, ""},
		{"udp v4", Config{Host: "127.0.0.1", Protocol: UDP}, "127.0.0.1"},
		{"udp v6", Config{Host: "::1", Protocol: UDP, Port: new(40000)}, "::1"},
		{"tcp v4 open port", Config{Host: "127.0.0.1", Protocol: TCP, Port: &open4}, "127.0.0.1"},
		{"tcp v6 open port", Config{Host: "::1", Protocol: TCP, Port: &open6}, "::1"},
		{"tcp v4 closed port", Config{Host: "127.0.0.1", Protocol: TCP, Port: &closed4}, "127.0.0.1"},
		{"tcp v6 closed port", Config{Host: "::1", Protocol: TCP, Port: &closed6}, "::1"},
		{"one query, one hop", Config{Host: "127.0.0.1", Queries: 1, MaxHops: 1}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := trace1(t, tc.cfg, 5*time.Second)
			want := tc.want
			if want == "" {
				want = r.Address // localhost: whichever address the resolver gave
			}
			if r.Method != MethodRaw {
				t.Errorf("method %q as root, want %q", r.Method, MethodRaw)
			}
			if r.Address != want || !r.Reached || r.HopCount != 1 || path(r) != want || r.Error != "" {
				t.Fatalf("got address %q reached %v hop_count %d path %q error %q; want %q, true, 1, %q, no error",
					r.Address, r.Reached, r.HopCount, path(r), r.Error, want, want)
			}
			queries := tc.cfg.Queries
			if queries == 0 {
				queries = DefaultQueries
			}
			if r.Hops[0].Replies != queries {
				t.Errorf("hop 1 has %d replies, want %d (no loss on loopback)", r.Hops[0].Replies, queries)
			}
			checkHops(t, r, time.Second)
		})
	}
}

// Many traces at once share one raw socket per family; each must get its
// own answers and all of them, whichever protocol the others use.
func TestConcurrentTraces(t *testing.T) {
	lab.RequireRoot(t)
	open := lab.OpenPort(t, "tcp4", "127.0.0.1:0")
	const n = 60
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		cfg := []Config{
			{Host: "127.0.0.1"},
			{Host: "::1"},
			{Host: "127.0.0.1", Protocol: UDP},
			{Host: "::1", Protocol: UDP},
			{Host: "127.0.0.1", Protocol: TCP, Port: &open},
		}[i%5]
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r, err := Probe(ctx, cfg)
			switch {
			case err != nil:
				errs <- fmt.Sprintf("%+v: %v", cfg, err)
			case !r.Reached || r.HopCount != 1 || r.Hops[0].Replies != DefaultQueries || r.Hops[0].Address != cfg.Host:
				errs <- fmt.Sprintf("%s %s: reached %v hops %+v", cfg.Protocol, cfg.Host, r.Reached, r.Hops)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	listenersMu.Lock()
	left := len(listeners)
	listenersMu.Unlock()
	if left != 0 {
		t.Errorf("%d shared listeners still open after every trace ended", left)
	}
}

// What cannot be traced is an error whose text says what to change.
func TestProbeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"port with icmp", Config{Host: "127.0.0.1", Port: new(80)}, `port applies to protocol "udp" and "tcp" only`},
		{"udp ports past 65535", Config{Host: "127.0.0.1", Protocol: UDP, Port: new(65500), MaxHops: 30, Queries: 3}, "udp probes go to ports 65500 to 65589"},
		{"zone", Config{Host: "fe80::1%lo"}, "has a zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Probe(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Without root or CAP_NET_RAW a trace of udp probes runs through
// IP_RECVERR, and so does one of icmp probes where unprivileged ICMP sockets
// are allowed; otherwise the check errors and says what to grant or change.
// It runs in a fresh namespace, whose ping_group_range is the kernel's "1 0"
// (nobody may), whatever the machine's own says.
func TestWithoutPrivilege(t *testing.T) {
	lab.RequireBinary(t, "setpriv", "util-linux")
	h := lab.New(t).Host("unpriv")
	for _, who := range []struct {
		name string
		wrap []string
	}{{"root without CAP_NET_RAW", lab.AsRootWithoutNetRaw}, {"user nobody", lab.AsNobody}} {
		t.Run(who.name, func(t *testing.T) {
			for _, tc := range []struct {
				cfg  Config
				want []string // parts of the error
			}{
				{Config{Host: "127.0.0.1"}, []string{`use protocol = "udp"`, "CAP_NET_RAW", "setcap cap_net_raw+ep", `net.ipv4.ping_group_range (1 0) does not allow`}},
				{Config{Host: "::1", Protocol: TCP, Port: new(80)}, []string{"tcp probes need", `use protocol = "udp"`, "CAP_NET_RAW"}},
			} {
				reply := lab.ProbeAs[Result](t, h, who.wrap, nil, 5*time.Second, tc.cfg)
				for _, want := range tc.want {
					if !strings.Contains(reply.Error, want) {
						t.Errorf("%s %s: error %q does not mention %q", tc.cfg.Protocol, tc.cfg.Host, reply.Error, want)
					}
				}
			}
			for _, cfg := range []Config{{Host: "127.0.0.1", Protocol: UDP}, {Host: "::1", Protocol: UDP}} {
				reply := lab.ProbeAs[Result](t, h, who.wrap, nil, 5*time.Second, cfg)
				if r := reply.Result; reply.Error != "" || !r.Reached || r.Method != MethodRecvErr || path(r) != cfg.Host || r.Hops[0].Replies != DefaultQueries {
					t.Errorf("udp %s: got method %q reached %v path %q error %q %q hops %+v, want recverr, true, %s and %d replies", cfg.Host, r.Method, r.Reached, path(r), r.Error, reply.Error, r.Hops, cfg.Host, DefaultQueries)
				}
			}
		})
	}
	// The remedy for icmp probes that the error names works.
	h.Run(t, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
	for _, host := range []string{"127.0.0.1", "::1"} {
		reply := lab.ProbeAs[Result](t, h, lab.AsNobody, nil, 5*time.Second, Config{Host: host})
		if r := reply.Result; reply.Error != "" || !r.Reached || r.Method != MethodRecvErr || path(r) != host {
			t.Errorf("icmp %s as nobody after the sysctl: got method %q reached %v path %q error %q %q", host, r.Method, r.Reached, path(r), r.Error, reply.Error)
		}
	}
}

// An interrupted run (Ctrl-C) stops a trace at once.
func TestCancelReturnsPromptly(t *testing.T) {
	lab.RequireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	r, err := Probe(ctx, Config{Host: "127.0.0.1", HopTimeout: "10s"})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a cancelled trace took %v to return", took)
	}
	if r.Reached || r.Error != "the run was interrupted before the trace finished" {
		t.Errorf("got reached %v error %q, want false and the reason", r.Reached, r.Error)
	}
}

// result builds the cty result a probe would return, for expectation tests.
func result(t *testing.T, hops ...[]string) cty.Value {
	t.Helper()
	r := Result{Hops: []Hop{}}
	for i, addrs := range hops {
		h := Hop{TTL: i + 1, Addresses: addrs}
		if len(addrs) > 0 {
			h.Address = addrs[0]
		}
		r.Hops = append(r.Hops, h)
	}
	r.HopCount = len(r.Hops)
	v, err := gocty.ToCtyValue(r, checks.TypeOf[Result]())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func list(ss ...string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	var vals []cty.Value
	for _, s := range ss {
		vals = append(vals, cty.StringVal(s))
	}
	return cty.ListVal(vals)
}

func TestVia(t *testing.T) {
	a, b, c := []string{"198.18.0.2"}, []string{"198.18.0.6"}, []string{"198.18.0.10"}
	star := []string{}
	ecmp := []string{"198.18.0.5", "198.18.0.6"}
	for _, tc := range []struct {
		name   string
		hops   [][]string
		via    cty.Value
		actual string // "" when the expectation is met
	}{
		{"adjacent", [][]string{a, b, c}, list("198.18.0.2", "198.18.0.6"), ""},
		{"not adjacent", [][]string{a, b, c}, list("198.18.0.2", "198.18.0.10"), ""},
		{"only the destination", [][]string{a, b, c}, list("198.18.0.10"), ""},
		{"empty", [][]string{a}, list(), ""},
		{"across a silent hop", [][]string{a, star, c}, list("198.18.0.2", "198.18.0.10"), ""},
		{"any router of a balanced hop", [][]string{a, ecmp, c}, list("198.18.0.6"), ""},
		{"written differently", [][]string{{"2001:db8::1"}}, list("2001:DB8:0::1"), ""},
		{"mapped", [][]string{a}, list("::ffff:198.18.0.2"), ""},
		{"absent", [][]string{a, b, c}, list("198.18.9.9"),
			`["198.18.0.2", "198.18.0.6", "198.18.0.10"] (no "198.18.9.9")`},
		{"wrong order", [][]string{a, b, c}, list("198.18.0.6", "198.18.0.2"),
			`["198.18.0.2", "198.18.0.6", "198.18.0.10"] (no "198.18.0.2" after "198.18.0.6")`},
		{"twice, seen once", [][]string{a, b}, list("198.18.0.2", "198.18.0.2"),
			`["198.18.0.2", "198.18.0.6"] (no "198.18.0.2" after "198.18.0.2")`},
		{"stars and balanced hops shown", [][]string{a, star, ecmp}, list("198.18.9.9"),
			`["198.18.0.2", *, "198.18.0.5|198.18.0.6"] (no "198.18.9.9")`},
		{"no hops", nil, list("198.18.0.2"), `[] (no "198.18.0.2")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Via().Compare(tc.via, result(t, tc.hops...))
			switch {
			case tc.actual == "" && d != nil:
				t.Fatalf("unexpected diff %+v", *d)
			case tc.actual != "" && d == nil:
				t.Fatalf("no diff, want actual %s", tc.actual)
			case d != nil && (d.Field != "hops" || d.Expected != "via "+checks.Show(tc.via) || d.Actual != tc.actual):
				t.Fatalf("diff %+v, want field hops, expected %q, actual %s", *d, "via "+checks.Show(tc.via), tc.actual)
			}
		})
	}
}

// BenchmarkParallelTraces measures traces per second on loopback with many
// running at once (32 per core), the shared listener's demultiplexing
// included. Run: go test -bench ParallelTraces ./checks/traceroute/
func BenchmarkParallelTraces(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root for the raw ICMP socket")
	}
	for _, proto := range []string{ICMP, UDP} {
		b.Run(proto, func(b *testing.B) {
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					r, err := Probe(ctx, Config{Host: "127.0.0.1", Protocol: proto})
					cancel()
					if err != nil || !r.Reached {
						b.Errorf("reached %v, error %v %q", r.Reached, err, r.Error)
					}
				}
			})
		})
	}
}

// parse must take what it can from every ICMP message a router may send,
// and nothing from messages that are not about a probe of ours.
func TestParse(t *testing.T) {
	ipv4Header := func(proto byte, options int) []byte {
		h := make([]byte, 20+options)
		h[0] = 0x45 + byte(options/4)
		h[9] = proto
		copy(h[16:20], []byte{198, 18, 0, 10})
		return h
	}
	ipv6Header := func(next byte) []byte {
		h := make([]byte, 40)
		h[0] = 0x60
		h[6] = next
		h[24], h[25], h[39] = 0x20, 0x01, 0x02
		return h
	}
	icmpError := func(typ, code byte, quoted ...[]byte) []byte {
		b := []byte{typ, code, 0, 0, 0, 0, 0, 0}
		for _, q := range quoted {
			b = append(b, q...)
		}
		return b
	}
	udp := []byte{0x12, 0x34, 0x82, 0x9a, 0, 8, 0, 0} // 4660 -> 33434
	echo4 := []byte{8, 0, 0, 0, 0xab, 0xcd, 0, 5}     // id 0xabcd, seq 5
	echo6 := []byte{128, 0, 0, 0, 0xab, 0xcd, 0, 7}   // id 0xabcd, seq 7
	notEcho := []byte{0, 0, 0, 0, 0xab, 0xcd, 0, 5}   // a quoted echo reply
	for _, tc := range []struct {
		name string
		msg  []byte
		v6   bool
		key  routeKey // zero: not ours
		want string
	}{
		{"v4 time exceeded, udp", icmpError(11, 0, ipv4Header(17, 0), udp), false, routeKey{protoUDP, 4660}, "kind 1 dport 33434 dst 198.18.0.10"},
		{"v4 time exceeded, ip options", icmpError(11, 0, ipv4Header(17, 8), udp), false, routeKey{protoUDP, 4660}, "kind 1 dport 33434 dst 198.18.0.10"},
		{"v4 port unreachable, tcp", icmpError(3, 3, ipv4Header(6, 0), udp), false, routeKey{protoTCP, 4660}, "kind 3 code 3 dport 33434 dst 198.18.0.10"},
		{"v4 time exceeded, echo", icmpError(11, 0, ipv4Header(1, 0), echo4), false, routeKey{protoICMP, 0xabcd}, "kind 1 seq 5 dst 198.18.0.10"},
		{"v4 echo reply", []byte{0, 0, 0, 0, 0xab, 0xcd, 0, 9}, false, routeKey{protoICMP, 0xabcd}, "kind 2 seq 9"},
		{"v4 quoted message not an echo request", icmpError(11, 0, ipv4Header(1, 0), notEcho), false, routeKey{}, ""},
		{"v4 reassembly time exceeded", icmpError(11, 1, ipv4Header(17, 0), udp), false, routeKey{}, ""},
		{"v4 quoted header cut short", icmpError(11, 0, ipv4Header(17, 0), udp[:4]), false, routeKey{}, ""},
		{"v4 quoted sctp", icmpError(11, 0, ipv4Header(132, 0), udp), false, routeKey{}, ""},
		{"v4 redirect", icmpError(5, 0, ipv4Header(17, 0), udp), false, routeKey{}, ""},
		{"v4 too short", []byte{11, 0, 0}, false, routeKey{}, ""},
		{"v4 quoted IPv6", icmpError(11, 0, ipv6Header(17), udp), false, routeKey{}, ""},
		{"v6 time exceeded, udp", icmpError(3, 0, ipv6Header(17), udp), true, routeKey{protoUDP, 4660}, "kind 1 dport 33434 dst 2001::2"},
		{"v6 port unreachable, echo", icmpError(1, 4, ipv6Header(58), echo6), true, routeKey{protoICMPv6, 0xabcd}, "kind 3 code 4 seq 7 dst 2001::2"},
		{"v6 echo reply", []byte{129, 0, 0, 0, 0xab, 0xcd, 0, 3}, true, routeKey{protoICMPv6, 0xabcd}, "kind 2 seq 3"},
		{"v6 packet too big", icmpError(2, 0, ipv6Header(17), udp), true, routeKey{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, a, ok := parse(tc.msg, tc.v6)
			if !ok {
				if tc.want != "" {
					t.Fatalf("not parsed, want %v %s", tc.key, tc.want)
				}
				return
			}
			got := fmt.Sprintf("kind %d", a.kind)
			if a.code != 0 {
				got += fmt.Sprintf(" code %d", a.code)
			}
			if a.seq != 0 {
				got += fmt.Sprintf(" seq %d", a.seq)
			}
			if a.dport != 0 {
				got += fmt.Sprintf(" dport %d", a.dport)
			}
			if a.quotedDst.IsValid() {
				got += " dst " + a.quotedDst.String()
			}
			if key != tc.key || got != tc.want {
				t.Fatalf("got %v %s, want %v %s", key, got, tc.key, tc.want)
			}
		})
	}
}
