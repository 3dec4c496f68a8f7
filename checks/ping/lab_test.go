package ping

import (
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
)

// probeIn runs Probe in a helper process inside the namespace h, prefixed by
// wrap (lab.AsNobody, …), trying only the given socket kinds (all when empty).
func probeIn(t *testing.T, h *lab.Host, wrap []string, sockets string, c Config, timeout time.Duration) lab.ProbeReply[Result] {
	t.Helper()
	var env []string
	if sockets != "" {
		env = []string{socketsEnv + "=" + sockets}
	}
	return lab.ProbeAs[Result](t, h, wrap, env, timeout, c)
}

// socketRuns are the two ways the lab tests ping: as root, which the
// socket kinds narrowed to raw make use the shared raw socket, and as user
// nobody with an ICMP datagram socket.
var socketRuns = []struct {
	kind string
	wrap []string
}{{raw, nil}, {datagram, lab.AsNobody}}

// allowDatagram lets every group open ICMP datagram sockets in h: the
// sysctl is per network namespace, so the machine's own stays untouched.
func allowDatagram(t *testing.T, h *lab.Host) {
	h.Run(t, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
}

// TestNoPermission: without a datagram socket allowed and without CAP_NET_RAW
// the check errors, and the message names the three ways out. It runs in a
// fresh namespace, whose ping_group_range is the kernel's "1 0" (nobody may),
// whatever the machine's own says.
func TestNoPermission(t *testing.T) {
	l := lab.New(t)
	h := l.Host("noperm")
	lab.RequireBinary(t, "setpriv", "util-linux")
	tests := []struct {
		name  string
		wrap  []string
		group string
	}{
		{"user nobody", lab.AsNobody, "group 65534"},
		{"root without CAP_NET_RAW", lab.AsRootWithoutNetRaw, "group 0"},
	}
	for _, tt := range tests {
		for _, host := range []string{"127.0.0.1", "::1"} {
			t.Run(tt.name+" "+host, func(t *testing.T) {
				reply := probeIn(t, h, tt.wrap, "", cfg(host), 3*time.Second)
				want := "no permission to send ICMP echo requests: unprivileged ICMP sockets are not allowed for " + tt.group +
					` (net.ipv4.ping_group_range is "1 0") and raw ICMP sockets need root or CAP_NET_RAW. ` +
					"Fix it in one of three ways: run nettest as root; " +
					"or give the binary the capability: sudo setcap cap_net_raw+ep $(which nettest); " +
					`or allow unprivileged ping for every group: sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"`
				if reply.Error != want {
					t.Errorf("got error %q\nwant %q", reply.Error, want)
				}
			})
		}
	}
	// The same process may ping as soon as the namespace allows datagram
	// sockets: the error's third remedy works.
	allowDatagram(t, h)
	t.Run("user nobody after the sysctl", func(t *testing.T) {
		reply := probeIn(t, h, lab.AsNobody, "", cfg("127.0.0.1"), 3*time.Second)
		if reply.Error != "" {
			t.Fatalf("error: %s", reply.Error)
		}
		checkAnswered(t, reply.Result, "127.0.0.1", DefaultPackets)
	})
}

// TestLab pings across a veth link: an address that answers, one whose echo
// requests the server's firewall drops, and one no host has. Each case runs
// with each kind of socket, the datagram one as user nobody.
func TestLab(t *testing.T) {
	l := lab.New(t)
	client, server := l.Host("client"), l.Host("server")
	l.Link(client, "198.18.7.1/24", server, "198.18.7.2/24")
	l.Link(client, "2001:db8:7::1/64", server, "2001:db8:7::2/64")
	server.Run(t, "ip", "addr", "add", "198.18.7.3/32", "dev", "lo")
	server.Run(t, "ip", "addr", "add", "2001:db8:7::3/128", "dev", "lo")
	client.Run(t, "ip", "route", "add", "198.18.7.3/32", "via", "198.18.7.2")
	client.Run(t, "ip", "route", "add", "2001:db8:7::3/128", "via", "2001:db8:7::2")
	server.Iptables(t, "-A", "INPUT", "-d", "198.18.7.3", "-p", "icmp", "--icmp-type", "echo-request", "-j", "DROP")
	lab.RequireBinary(t, "ip6tables", "iptables")
	server.Run(t, "ip6tables", "-w", "5", "-A", "INPUT", "-d", "2001:db8:7::3", "-p", "ipv6-icmp", "--icmpv6-type", "echo-request", "-j", "DROP")
	client.Hosts(t, "198.18.7.2 server.lab", "2001:db8:7::2 server.lab")
	allowDatagram(t, client)

	const timeout = 1500 * time.Millisecond
	tests := []struct {
		name    string
		cfg     Config
		address string
		answers bool
		// For the silent cases: the error field, and whether the check
		// must wait for the whole timeout (nothing tells it the
		// requests are lost) or ends after the last request.
		errText     string
		waitTimeout bool
	}{
		{"server", cfg("198.18.7.2"), "198.18.7.2", true, "", false},
		{"server over IPv6", cfg("2001:db8:7::2"), "2001:db8:7::2", true, "", false},
		{"server by name", with(cfg("server.lab"), func(c *Config) { c.Family = new("ip4") }), "198.18.7.2", true, "", false},
		{"server by name, IPv6", with(cfg("server.lab"), func(c *Config) { c.Family = new("ip6") }), "2001:db8:7::2", true, "", false},
		{"echo requests dropped", cfg("198.18.7.3"), "198.18.7.3", false, "", true},
		{"echo requests dropped, IPv6", cfg("2001:db8:7::3"), "2001:db8:7::3", false, "", true},
		{"no host at the address", cfg("198.18.7.4"), "198.18.7.4", false, "", true},
		{"no host at the address, IPv6", cfg("2001:db8:7::4"), "2001:db8:7::4", false, "", true},
		{"no route to the address", cfg("198.19.0.1"), "198.19.0.1", false,
			"sending echo request: network is unreachable (no route to the address)", false},
		{"no route to the address, IPv6", cfg("2001:db8:99::1"), "2001:db8:99::1", false,
			"sending echo request: network is unreachable (no route to the address)", false},
	}
	for _, sock := range socketRuns {
		t.Run(sock.kind, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					// Each kind of socket asks for its own absent host: the
					// client gives up resolving an address after 3 s and
					// then answers further requests to it at once with an
					// ICMP "host unreachable" of its own, which would make
					// the second kind to try see a refusal, not silence.
					if sock.kind == datagram && (strings.HasSuffix(tt.address, ".4") || strings.HasSuffix(tt.address, "::4")) {
						tt.address = tt.address[:len(tt.address)-1] + "5"
						tt.cfg.Host = tt.address
					}
					reply := probeIn(t, client, sock.wrap, sock.kind, tt.cfg, timeout)
					if reply.Error != "" {
						t.Fatalf("error: %s", reply.Error)
					}
					if tt.answers {
						checkAnswered(t, reply.Result, tt.address, DefaultPackets)
						return
					}
					r := reply.Result
					if r.Address != tt.address || r.Sent != DefaultPackets || r.Received != 0 || r.LossPercent != 100 || r.Reachable || r.Error != tt.errText {
						t.Errorf("got address %q sent %d received %d loss %v%% reachable %v error %q, want %q, 3, 0, 100%%, false, %q",
							r.Address, r.Sent, r.Received, r.LossPercent, r.Reachable, r.Error, tt.address, tt.errText)
					}
					if r.RTTMinMs != nil || r.RTTAvgMs != nil || r.RTTMaxMs != nil || r.RTTStddevMs != nil {
						t.Errorf("RTT fields set without a reply: %+v", r)
					}
					if r.Unreachable != "" || r.UnreachableFrom != "" {
						t.Errorf("an ICMP error reported where none came: unreachable %q from %q", r.Unreachable, r.UnreachableFrom)
					}
					// It waits for the replies until the timeout, and no longer;
					// refused requests need no waiting.
					lo, hi := timeout-100*time.Millisecond, timeout+time.Second
					if !tt.waitTimeout {
						lo, hi = 2*200*time.Millisecond, timeout-200*time.Millisecond
					}
					if reply.Elapsed < lo || reply.Elapsed > hi {
						t.Errorf("took %v with a timeout of %v, want %v to %v", reply.Elapsed, timeout, lo, hi)
					}
				})
			}
		})
	}

	t.Run("a name that does not resolve", func(t *testing.T) {
		// Nothing listens on port 53 in the namespace: the query is refused at once.
		client.Resolv(t, "127.0.0.1")
		reply := probeIn(t, client, nil, "", cfg("nothere.lab"), 3*time.Second)
		if !strings.HasPrefix(reply.Error, `cannot resolve host "nothere.lab": `) ||
			!strings.HasSuffix(reply.Error, "; check the name, /etc/hosts and /etc/resolv.conf, or use an IP address") {
			t.Errorf("got error %q", reply.Error)
		}
	})
}

// The router of TestLabUnreachable and what its routes answer.
const (
	routerAddr  = "198.18.1.254"
	routerAddr6 = "2001:db8:1::fe"
)

// TestLabUnreachable pings through a router that refuses: its firewall
// rejects as "host unreachable" and "administratively prohibited", its IPv6
// routing table has unreachable and prohibit routes, a blackhole route
// refuses silently, and a ttl of 1 runs out at it. What comes back is in the result, named, with
// the router's address, for each kind of socket; the ping ends after its
// last request instead of waiting for the timeout, since no reply will come.
//
// The on-link routes lead out of the interface the requests came in by, so
// the router also sends Redirects about them, which must not count: the
// router forwarded those requests.
//
// IPv4 "host unreachable" comes from the firewall, not from an unreachable
// route: the kernel limits the errors an IPv4 unreachable route sends per
// source address (net.ipv4.route.error_burst: 5 at once, then one a second)
// with a setting that is the whole machine's, not the namespace's, and
// NoICMPRateLimit cannot lift it; on a busy machine the test then met
// silence. The firewall's errors obey only the namespace's own ICMP limits,
// which NoICMPRateLimit turns off. The ICMP message is the same.
func TestLabUnreachable(t *testing.T) {
	l := lab.New(t)
	client, router := l.Host("client"), l.Host("router")
	clientIf, routerIf := l.Link(client, "198.18.1.1/24", router, routerAddr+"/24")
	client.Run(t, "ip", "addr", "add", "2001:db8:1::1/64", "dev", clientIf, "nodad")
	router.Run(t, "ip", "addr", "add", routerAddr6+"/64", "dev", routerIf, "nodad")
	client.Run(t, "ip", "route", "add", "198.18.8.0/21", "via", routerAddr)
	client.Run(t, "ip", "route", "add", "2001:db8::/32", "via", routerAddr6)
	for _, r := range [][]string{
		{"198.18.9.0/24", "dev", routerIf},  // rejected by the firewall: host unreachable
		{"198.18.10.0/24", "dev", routerIf}, // rejected by the firewall: prohibited
		{"blackhole", "198.18.11.0/24"},
		{"198.18.12.0/24", "dev", routerIf}, // forwarded: a ttl of 1 runs out
		{"unreachable", "2001:db8:9::/64"},
		{"prohibit", "2001:db8:a::/64"},
		{"2001:db8:c::/64", "dev", routerIf},
	} {
		router.Run(t, append([]string{"ip", "route", "add"}, r...)...)
	}
	router.Iptables(t, "-A", "FORWARD", "-d", "198.18.9.0/24", "-j", "REJECT", "--reject-with", "icmp-host-unreachable")
	router.Iptables(t, "-A", "FORWARD", "-d", "198.18.10.0/24", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited")
	router.Forwarding(t)
	router.NoICMPRateLimit(t)
	allowDatagram(t, client)

	const timeout = 2 * time.Second
	tests := []struct {
		name       string
		cfg        Config
		kind, from string
	}{
		{"firewall rejects: host unreachable", cfg("198.18.9.1"), "host", routerAddr},
		{"firewall rejects", cfg("198.18.10.1"), "prohibited", routerAddr},
		{"ttl runs out at the router", with(cfg("198.18.12.1"), func(c *Config) { c.TTL = new(1) }), "ttl exceeded", routerAddr},
		{"unreachable route, IPv6", cfg("2001:db8:9::1"), "no route", routerAddr6},
		{"prohibit route, IPv6", cfg("2001:db8:a::1"), "prohibited", routerAddr6},
		{"hop limit runs out at the router", with(cfg("2001:db8:c::1"), func(c *Config) { c.TTL = new(1) }), "ttl exceeded", routerAddr6},
		{"blackhole route: silence", cfg("198.18.11.1"), "", ""},
	}
	for _, sock := range socketRuns {
		t.Run(sock.kind, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					reply := probeIn(t, client, sock.wrap, sock.kind, tt.cfg, timeout)
					if reply.Error != "" {
						t.Fatalf("error: %s", reply.Error)
					}
					r := reply.Result
					if r.Sent != tt.cfg.Packets || r.Received != 0 || r.Reachable || r.Unreachable != tt.kind || r.UnreachableFrom != tt.from || r.Error != "" {
						t.Errorf("got sent %d received %d reachable %v unreachable %q from %q error %q, want %d, 0, false, %q from %q, no error",
							r.Sent, r.Received, r.Reachable, r.Unreachable, r.UnreachableFrom, r.Error, tt.cfg.Packets, tt.kind, tt.from)
					}
					// At most three requests 200 ms apart, each refused at once.
					if tt.kind != "" && reply.Elapsed > timeout-500*time.Millisecond {
						t.Errorf("took %v although every request was refused; the timeout is %v", reply.Elapsed, timeout)
					}
				})
			}
		})
	}

	// The user's view: the nettest binary, and the diff it prints.
	t.Run("suite", func(t *testing.T) {
		dir := lab.SuiteDir(t, map[string]string{"ping.nettest.hcl": `
ping "refused" {
  host    = "198.18.9.1"
  timeout = "2s"
  expect {
    reachable = true
  }
}

ping "refused_as_expected" {
  host    = "198.18.10.1"
  timeout = "2s"
  expect {
    reachable = false
  }
  assert {
    condition     = self.unreachable == "prohibited" && self.unreachable_from == "` + routerAddr + `"
    error_message = "the router did not refuse"
  }
}
`})
		for _, who := range []struct {
			name string
			wrap []string
		}{{"root", nil}, {"nobody", lab.AsNobody}} {
			results, _, code, out := client.NettestVia(t, who.wrap, dir)
			got := lab.ByAddress(results)
			refused := got["ping.refused"]
			want := "host unreachable from " + routerAddr
			if code != 1 || refused.Status != "fail" || len(refused.Diffs) != 1 || refused.Diffs[0].ActualText != "false ("+want+")" {
				t.Errorf("as %s: exit code %d, ping.refused %s %+v, want a fail with actual %q\n%s", who.name, code, refused.Status, refused.TextDiffs(), "false ("+want+")", out)
			}
			if r := got["ping.refused_as_expected"]; r.Status != "pass" {
				t.Errorf("as %s: ping.refused_as_expected %s %q %+v\n%s", who.name, r.Status, r.Message, r.TextDiffs(), out)
			}
		}
	})
}
