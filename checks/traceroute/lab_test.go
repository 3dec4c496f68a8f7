package traceroute

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
)

// The lab's addresses. Routers answer Time Exceeded from the address of
// the interface that leads back to the client, so r1 shows as its
// client-side address and r2 as the address facing r1.
const (
	r1Addr     = "198.18.0.2"
	r2Addr     = "198.18.0.6"
	serverAddr = "198.18.0.10"
	dropped    = "198.18.1.1"   // on the server; r2 drops what is forwarded to it
	rejected   = "198.18.1.2"   // on the server; r2 rejects it (ICMP port unreachable)
	noRoute    = "198.19.255.1" // the client has an unreachable route to it

	r1Addr6     = "2001:db8:1::2"
	r2Addr6     = "2001:db8:2::1"
	serverAddr6 = "2001:db8:3::2"
	dropped6    = "2001:db8:4::1"
	rejected6   = "2001:db8:4::2"

	// openPort has a listener on the server, on every address.
	openPort = 8080
)

// pathLab is client — r1 — r2 — server, for IPv4 and IPv6:
//
//	client 198.18.0.1/30  r1 198.18.0.2/30
//	r1     198.18.0.5/30  r2 198.18.0.6/30
//	r2     198.18.0.9/30  server 198.18.0.10/30, and 198.18.1.1, 198.18.1.2
//
// (IPv6: 2001:db8:1::/64, 2001:db8:2::/64, 2001:db8:3::/64, 2001:db8:4::/64
// on the server.) The routers and the server do not rate-limit ICMP, which
// the kernel does by default (1 Time Exceeded per second and destination,
// after a burst): the tests send a round of probes every few milliseconds.
// Real routers do rate-limit, which is why queries defaults to 3.
type pathLab struct {
	client, r1, r2, server *lab.Host
}

func newPathLab(t *testing.T) *pathLab {
	t.Helper()
	l := lab.New(t)
	p := &pathLab{client: l.Host("client"), r1: l.Host("r1"), r2: l.Host("r2"), server: l.Host("server")}
	clientIf, r1Left := l.Link(p.client, "198.18.0.1/30", p.r1, "198.18.0.2/30")
	r1Right, r2Left := l.Link(p.r1, "198.18.0.5/30", p.r2, "198.18.0.6/30")
	r2Right, serverIf := l.Link(p.r2, "198.18.0.9/30", p.server, "198.18.0.10/30")
	for _, a := range []struct {
		h         *lab.Host
		cidr, dev string
	}{
		{p.client, "2001:db8:1::1/64", clientIf},
		{p.r1, "2001:db8:1::2/64", r1Left},
		{p.r1, "2001:db8:2::2/64", r1Right},
		{p.r2, "2001:db8:2::1/64", r2Left},
		{p.r2, "2001:db8:3::1/64", r2Right},
		{p.server, "2001:db8:3::2/64", serverIf},
	} {
		a.h.Run(t, "ip", "addr", "add", a.cidr, "dev", a.dev, "nodad")
	}
	for _, a := range []string{dropped + "/32", rejected + "/32", dropped6 + "/128", rejected6 + "/128"} {
		p.server.Run(t, "ip", "addr", "add", a, "dev", "lo")
	}
	for _, r := range []struct {
		h        *lab.Host
		dst, via string
	}{
		{p.client, "198.18.0.0/15", "198.18.0.2"},
		{p.r1, "198.18.0.8/30", "198.18.0.6"},
		{p.r1, "198.18.1.0/24", "198.18.0.6"},
		{p.r2, "198.18.0.0/30", "198.18.0.5"},
		{p.r2, "198.18.1.0/24", "198.18.0.10"},
		{p.server, "198.18.0.0/15", "198.18.0.9"},
		{p.client, "2001:db8::/32", "2001:db8:1::2"},
		{p.r1, "2001:db8:3::/64", "2001:db8:2::1"},
		{p.r1, "2001:db8:4::/64", "2001:db8:2::1"},
		{p.r2, "2001:db8:1::/64", "2001:db8:2::2"},
		{p.r2, "2001:db8:4::/64", "2001:db8:3::2"},
		{p.server, "2001:db8::/32", "2001:db8:3::1"},
	} {
		r.h.Run(t, "ip", "route", "add", r.dst, "via", r.via)
	}
	p.client.Run(t, "ip", "route", "add", "unreachable", noRoute+"/32")
	for _, h := range []*lab.Host{p.r1, p.r2} {
		h.Forwarding(t)
	}
	for _, h := range []*lab.Host{p.r1, p.r2, p.server} {
		h.NoICMPRateLimit(t)
	}
	p.r2.Iptables(t, "-A", "FORWARD", "-d", dropped, "-j", "DROP")
	p.r2.Iptables(t, "-A", "FORWARD", "-d", rejected, "-j", "REJECT")
	lab.RequireBinary(t, "ip6tables", "iptables")
	p.r2.Run(t, "ip6tables", "-w", "5", "-A", "FORWARD", "-d", dropped6, "-j", "DROP")
	p.r2.Run(t, "ip6tables", "-w", "5", "-A", "FORWARD", "-d", rejected6, "-j", "REJECT")

	ln := p.server.Listen(t, "tcp", fmt.Sprintf(":%d", openPort))
	go lab.AcceptAndClose(ln)
	return p
}

// Each protocol, each family: a path through two routers, one that a
// router drops and one that it rejects.
func TestLabPaths(t *testing.T) {
	p := newPathLab(t)
	type want struct {
		path    string // hops as traceroute lists them, "!" marks an unreachable
		reached bool
		error   string // part of the result's error
	}
	through := want{r1Addr + " " + r2Addr + " " + serverAddr, true, ""}
	through6 := want{r1Addr6 + " " + r2Addr6 + " " + serverAddr6, true, ""}
	drop := want{r1Addr + " " + r2Addr, false, "no answer from " + dropped + " within 30 hops"}
	drop6 := want{r1Addr6 + " " + r2Addr6, false, "no answer from " + dropped6 + " within 30 hops"}
	reject := want{r1Addr + " " + r2Addr + " " + r2Addr + "!port", false, "hop 3 (" + r2Addr + ") answered destination unreachable (port)"}
	reject6 := want{r1Addr6 + " " + r2Addr6 + " " + r2Addr6 + "!port", false, "hop 3 (" + r2Addr6 + ") answered destination unreachable (port)"}
	var cases []struct {
		name string
		cfg  Config
		want want
	}
	add := func(name string, cfg Config, w want) {
		cases = append(cases, struct {
			name string
			cfg  Config
			want want
		}{name, cfg, w})
	}
	for _, proto := range []string{ICMP, UDP, TCP} {
		var port *int
		if proto == TCP {
			port = new(openPort)
		}
		add(proto+" v4 through", Config{Host: serverAddr, Protocol: proto, Port: port}, through)
		add(proto+" v6 through", Config{Host: serverAddr6, Protocol: proto, Port: port}, through6)
		add(proto+" v4 dropped", Config{Host: dropped, Protocol: proto, Port: port}, drop)
		add(proto+" v6 dropped", Config{Host: dropped6, Protocol: proto, Port: port}, drop6)
		add(proto+" v4 rejected", Config{Host: rejected, Protocol: proto, Port: port}, reject)
		add(proto+" v6 rejected", Config{Host: rejected6, Protocol: proto, Port: port}, reject6)
	}
	add("tcp closed port", Config{Host: serverAddr, Protocol: TCP, Port: new(openPort + 1)}, through)
	add("a router as destination", Config{Host: r2Addr}, want{r1Addr + " " + r2Addr, true, ""})
	add("max_hops short of the destination", Config{Host: serverAddr, MaxHops: 2}, want{r1Addr + " " + r2Addr, false, "no answer from " + serverAddr + " within 2 hops"})
	add("one query", Config{Host: serverAddr, Queries: 1}, through)
	for _, proto := range []string{ICMP, UDP, TCP} {
		add(proto+" no route from here", Config{Host: noRoute, Protocol: proto}, want{"", false, "sending a probe to " + noRoute + " failed: no route to host"})
	}

	// Root traces with the shared raw socket; nobody, without privileges,
	// with IP_RECVERR on each trace's own socket (ICMP datagram sockets,
	// allowed for every group in the client's namespace, for icmp probes).
	p.client.Run(t, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
	lab.RequireBinary(t, "setpriv", "util-linux")
	for _, who := range []struct {
		name   string
		wrap   []string
		method string
	}{{"root", nil, MethodRaw}, {"nobody", lab.AsNobody, MethodRecvErr}} {
		for _, tc := range cases {
			if who.wrap != nil && tc.cfg.Protocol == TCP {
				continue // tcp probes need the raw socket (TestWithoutPrivilege)
			}
			t.Run(who.name+"/"+tc.name, func(t *testing.T) {
				tc.cfg.HopTimeout = "300ms"
				start := time.Now()
				var r Result
				if who.wrap == nil {
					var err error
					if r, err = lab.Probe(p.client, 5*time.Second, Probe, tc.cfg); err != nil {
						t.Fatal(err)
					}
				} else {
					reply := lab.ProbeAs[Result](t, p.client, who.wrap, nil, 5*time.Second, tc.cfg)
					if reply.Error != "" {
						t.Fatal(reply.Error)
					}
					r = reply.Result
				}
				took := time.Since(start)
				if r.Method != who.method {
					t.Errorf("method %q, want %q", r.Method, who.method)
				}
				if path(r) != tc.want.path || r.Reached != tc.want.reached || !strings.Contains(r.Error, tc.want.error) || (tc.want.error == "") != (r.Error == "") {
					t.Fatalf("got path %q reached %v error %q, want %q, %v, error containing %q", path(r), r.Reached, r.Error, tc.want.path, tc.want.reached, tc.want.error)
				}
				checkHops(t, r, 300*time.Millisecond)
				queries := tc.cfg.Queries
				if queries == 0 {
					queries = DefaultQueries
				}
				for _, h := range r.Hops {
					if h.Replies != queries {
						t.Errorf("hop %d: %d of %d queries answered; nothing limits ICMP in this lab", h.TTL, h.Replies, queries)
					}
				}
				// A trace waits at most hop_timeout/queries per round and
				// hop_timeout for the last: under 2 × hop_timeout.
				if took > 2*time.Second {
					t.Errorf("the trace took %v with a hop_timeout of 300ms", took)
				}
			})
		}
	}
}

// Parallel traces from one namespace share its raw socket; each gets the
// answers to its own probes, for paths of different lengths and endings.
func TestLabConcurrentTraces(t *testing.T) {
	p := newPathLab(t)
	targets := []struct {
		cfg  Config
		path string
	}{
		{Config{Host: serverAddr}, r1Addr + " " + r2Addr + " " + serverAddr},
		{Config{Host: r2Addr, Protocol: UDP}, r1Addr + " " + r2Addr},
		{Config{Host: r1Addr, Protocol: TCP, Port: new(openPort)}, r1Addr},
		{Config{Host: dropped, Protocol: UDP}, r1Addr + " " + r2Addr},
		{Config{Host: rejected, Protocol: TCP, Port: new(openPort)}, r1Addr + " " + r2Addr + " " + r2Addr + "!port"},
		{Config{Host: serverAddr6, Protocol: UDP}, r1Addr6 + " " + r2Addr6 + " " + serverAddr6},
	}
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		target := targets[i%len(targets)]
		target.cfg.HopTimeout = "500ms"
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := lab.Probe(p.client, 5*time.Second, Probe, target.cfg)
			if err != nil {
				errs <- err.Error()
			} else if path(r) != target.path {
				errs <- fmt.Sprintf("%s %s: path %q, want %q", target.cfg.Protocol, target.cfg.Host, path(r), target.path)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The check's timeout bounds the whole trace: a path that goes silent is
// cut at the deadline, with the hops seen so far.
func TestLabDeadline(t *testing.T) {
	p := newPathLab(t)
	start := time.Now()
	r, err := lab.Probe(p.client, 500*time.Millisecond, Probe, Config{Host: dropped, HopTimeout: "10s"})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > 3*time.Second {
		t.Errorf("the trace took %v with a timeout of 500ms", took)
	}
	if path(r) != r1Addr+" "+r2Addr || r.Reached || !strings.Contains(r.Error, "the check's timeout ended the trace") {
		t.Errorf("got path %q reached %v error %q, want the two routers, false and the timeout named", path(r), r.Reached, r.Error)
	}
}

// The nettest binary in the client's namespace, as a user runs it: the
// expectations of the issue, judged and reported in --json.
func TestLabSuite(t *testing.T) {
	p := newPathLab(t)
	suite := fmt.Sprintf(`
traceroute "server" {
  host = %[1]q
  expect {
    reached  = true
    max_hops = 3
    via      = [%[2]q, %[3]q]
  }
  assert {
    condition     = self.hop_count == 3 && self.hops[2].address == %[1]q
    error_message = "the server is not hop 3"
  }
}

traceroute "wrong_via" {
  host = %[1]q
  expect {
    via = [%[2]q, "198.18.9.9"]
  }
}

traceroute "too_long" {
  host = %[1]q
  expect {
    max_hops = 2
  }
}

traceroute "dropped" {
  host        = %[4]q
  protocol    = "udp"
  hop_timeout = "300ms"
  expect {
    reached = false
    via     = [%[3]q]
  }
}

traceroute "dropped_expected_reached" {
  host        = %[4]q
  hop_timeout = "300ms"
  expect {
    reached = true
  }
}
`, serverAddr, r1Addr, r2Addr, dropped)
	results, _, code, out := p.client.Nettest(t, lab.SuiteDir(t, map[string]string{"path.nettest.hcl": suite}))
	if code != 1 {
		t.Fatalf("exit code %d, want 1 (some checks fail)\n%s", code, out)
	}
	got := map[string]string{}
	for _, res := range results {
		got[res.Address] = fmt.Sprintf("%s %s %v", res.Status, res.Message, res.TextDiffs())
	}
	want := map[string]string{
		"traceroute.server":                   "pass  []",
		"traceroute.wrong_via":                `fail  [{hops via ["198.18.0.2", "198.18.9.9"] ["198.18.0.2", "198.18.0.6", "198.18.0.10"] (no "198.18.9.9" after "198.18.0.2")}]`,
		"traceroute.too_long":                 "fail  [{hop_count at most 2 3}]",
		"traceroute.dropped":                  "pass  []",
		"traceroute.dropped_expected_reached": "fail  [{reached true false}]",
	}
	for addr, w := range want {
		if got[addr] != w {
			t.Errorf("%s:\n got %s\nwant %s", addr, got[addr], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d results, want %d:\n%s", len(got), len(want), out)
	}
}

// The nettest binary run by user nobody in the client's namespace: a udp
// trace through the two routers passes without any privilege, and says it
// ran through IP_RECVERR; an icmp trace does too where ping_group_range
// allows it.
func TestLabSuiteAsNobody(t *testing.T) {
	p := newPathLab(t)
	lab.RequireBinary(t, "setpriv", "util-linux")
	p.client.Run(t, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
	suite := fmt.Sprintf(`
traceroute "server_udp" {
  host     = %[1]q
  protocol = "udp"
  expect {
    reached  = true
    max_hops = 3
    via      = [%[2]q, %[3]q]
  }
  assert {
    condition     = self.method == "recverr"
    error_message = "not traced through IP_RECVERR"
  }
}

traceroute "server_icmp_v6" {
  host = %[4]q
  expect {
    reached = true
    via     = [%[5]q, %[6]q]
  }
}
`, serverAddr, r1Addr, r2Addr, serverAddr6, r1Addr6, r2Addr6)
	results, _, code, out := p.client.NettestVia(t, lab.AsNobody, lab.SuiteDir(t, map[string]string{"path.nettest.hcl": suite}))
	if code != 0 || len(results) != 2 {
		t.Fatalf("exit code %d with %d results, want 0 and 2\n%s", code, len(results), out)
	}
}
