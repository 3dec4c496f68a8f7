package neighbor

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/zclconf/go-cty/cty"
)

// neighborLab is a client joined to a server over IPv4 (198.18.1.0/24) and
// over IPv6 (2001:db8:1::/64, a second link), with a permanent and a noarp
// entry in the client's table. Resolution on the client's IPv4 link gives
// up after one probe 200 ms long instead of three of a second, so that a
// failed resolution does not take three seconds.
type neighborLab struct {
	client     *lab.Host
	if4, if6   string // the client's interfaces
	mac4, mac6 string // the server's MAC addresses on either link
	serverIf4  string
	serverIf6  string
	server     *lab.Host
}

func newNeighborLab(t *testing.T) *neighborLab {
	l := lab.New(t)
	n := &neighborLab{client: l.Host("client"), server: l.Host("server")}
	n.if4, n.serverIf4 = l.Link(n.client, "198.18.1.1/24", n.server, "198.18.1.2/24")
	n.if6, n.serverIf6 = l.Link(n.client, "2001:db8:1::1/64", n.server, "2001:db8:1::2/64")
	n.mac4 = strings.TrimSpace(n.server.Run(t, "cat", "/sys/class/net/"+n.serverIf4+"/address"))
	n.mac6 = strings.TrimSpace(n.server.Run(t, "cat", "/sys/class/net/"+n.serverIf6+"/address"))
	n.client.Run(t, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/neigh/"+n.if4+"/mcast_solicit && echo 200 > /proc/sys/net/ipv4/neigh/"+n.if4+"/retrans_time_ms")
	n.client.Run(t, "ip", "neigh", "add", "198.18.1.50", "lladdr", "02:00:5E:10:00:50", "dev", n.if4, "nud", "permanent")
	n.client.Run(t, "ip", "neigh", "add", "198.18.1.51", "lladdr", "02:00:5e:10:00:51", "dev", n.if4, "nud", "noarp")
	return n
}

func TestNeighbors(t *testing.T) {
	n := newNeighborLab(t)
	// The steps run in order: resolving the server makes its entry appear.
	steps := []struct {
		name    string
		cfg     Config
		timeout time.Duration
		want    Result
	}{
		{name: "absent before any traffic", cfg: Config{Address: "198.18.1.2"},
			want: Result{Address: "198.18.1.2"}},
		{name: "absent on the interface asked for", cfg: Config{Address: "198.18.1.2", Interface: new(n.if4)},
			want: Result{Address: "198.18.1.2", Interface: n.if4}},
		{name: "resolved", cfg: Config{Address: "198.18.1.2", Resolve: true},
			want: Result{Address: "198.18.1.2", Present: true, MAC: n.mac4, State: "reachable", Interface: n.if4}},
		{name: "present once resolved", cfg: Config{Address: "198.18.1.2"},
			want: Result{Address: "198.18.1.2", Present: true, MAC: n.mac4, State: "reachable", Interface: n.if4}},
		{name: "not on another interface", cfg: Config{Address: "198.18.1.2", Interface: new(n.if6)},
			want: Result{Address: "198.18.1.2", Interface: n.if6}},
		{name: "unused address", cfg: Config{Address: "198.18.1.99"},
			want: Result{Address: "198.18.1.99"}},
		// Nobody answers: one probe, 200 ms, then the kernel gives up.
		{name: "unused address resolved", cfg: Config{Address: "198.18.1.99", Resolve: true},
			want: Result{Address: "198.18.1.99", State: "failed", Interface: n.if4}},
		{name: "failed entry stays", cfg: Config{Address: "198.18.1.99"},
			want: Result{Address: "198.18.1.99", State: "failed", Interface: n.if4}},
		{name: "permanent entry", cfg: Config{Address: "198.18.1.50"},
			want: Result{Address: "198.18.1.50", Present: true, MAC: "02:00:5e:10:00:50", State: "permanent", Interface: n.if4}},
		{name: "resolving a permanent entry changes nothing", cfg: Config{Address: "198.18.1.50", Resolve: true},
			want: Result{Address: "198.18.1.50", Present: true, MAC: "02:00:5e:10:00:50", State: "permanent", Interface: n.if4}},
		{name: "noarp entry", cfg: Config{Address: "198.18.1.51"},
			want: Result{Address: "198.18.1.51", Present: true, MAC: "02:00:5e:10:00:51", State: "noarp", Interface: n.if4}},
		{name: "IPv6 absent", cfg: Config{Address: "2001:db8:1::2"},
			want: Result{Address: "2001:db8:1::2"}},
		{name: "IPv6 resolved", cfg: Config{Address: "2001:db8:1:0::2", Resolve: true},
			want: Result{Address: "2001:db8:1::2", Present: true, MAC: n.mac6, State: "reachable", Interface: n.if6}},
		// Not on-link: nothing is sent, nothing appears, no waiting.
		{name: "resolve an address without a route", cfg: Config{Address: "198.18.99.1", Resolve: true},
			want: Result{Address: "198.18.99.1"}},
	}
	for _, s := range steps {
		timeout := s.timeout
		if timeout == 0 {
			timeout = 5 * time.Second
		}
		start := time.Now()
		got, err := lab.Probe(n.client, timeout, Probe, s.cfg)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s:\ngot  %+v\nwant %+v", s.name, got, s.want)
		}
		if elapsed := time.Since(start); elapsed > timeout+time.Second {
			t.Errorf("%s: took %s with a timeout of %s", s.name, elapsed, timeout)
		}
	}
}

// TestResolveWithinTimeout: an address that never answers on a link with
// the kernel's default of three probes a second apart, checked with a
// timeout of one second, gives the observation (still incomplete), not an
// error, and does not outlast the timeout.
func TestResolveWithinTimeout(t *testing.T) {
	n := newNeighborLab(t)
	start := time.Now()
	got, err := lab.Probe(n.client, time.Second, Probe, Config{Address: "2001:db8:1::99", Resolve: true})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Address: "2001:db8:1::99", State: "incomplete", Interface: n.if6}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if elapsed > 2*time.Second {
		t.Errorf("the probe returned after %s, long after its 1s timeout", elapsed)
	}
}

func TestErrors(t *testing.T) {
	n := newNeighborLab(t)
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{name: "no such interface", cfg: Config{Address: "198.18.1.2", Interface: new("eth9")},
			err: `no interface named "eth9" in this network namespace (there are: lo, `},
		{name: "link-local without interface", cfg: Config{Address: "fe80::1", Resolve: true},
			err: "fe80::1 is an IPv6 link-local address: set interface"},
		{name: "not an address", cfg: Config{Address: "gw.example"},
			err: `"gw.example" is not an IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := lab.Probe(n.client, 5*time.Second, Probe, tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("error = %v (observed %+v), want one starting %q", err, r, tt.err)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	n := newNeighborLab(t)
	kind, _ := checks.Lookup("neighbor")
	probe := func(addr string, resolve bool) cty.Value {
		v, err := lab.Probe(n.client, 5*time.Second, kind.Probe.Call, cty.ObjectVal(map[string]cty.Value{
			"address": cty.StringVal(addr), "interface": cty.NullVal(cty.String), "resolve": cty.BoolVal(resolve),
		}))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	str := cty.StringVal
	tests := []struct {
		name    string
		addr    string
		resolve bool
		expect  map[string]cty.Value
		diffs   []checks.Diff
	}{
		{name: "resolved server", addr: "198.18.1.2", resolve: true, expect: map[string]cty.Value{
			"present": cty.True, "mac": str(strings.ToUpper(n.mac4)), "state": str("reachable"), "interface": str(n.if4)}},
		{name: "permanent entry, MAC with hyphens", addr: "198.18.1.50", expect: map[string]cty.Value{
			"present": cty.True, "mac": str("02-00-5E-10-00-50"), "state": str("permanent")}},
		{name: "wrong MAC", addr: "198.18.1.50", expect: map[string]cty.Value{"mac": str("02:00:5E:10:00:99")},
			diffs: []checks.Diff{{Field: "mac", Expected: `"02:00:5e:10:00:99"`, Actual: `"02:00:5e:10:00:50"`}}},
		{name: "unused address must be absent", addr: "198.18.1.99", expect: map[string]cty.Value{"present": cty.False}},
		{name: "unused address expected present", addr: "198.18.1.99", expect: map[string]cty.Value{"present": cty.True, "state": str("reachable")},
			diffs: []checks.Diff{{Field: "present", Expected: "true", Actual: "false"}, {Field: "state", Expected: `"reachable"`, Actual: `""`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs := kindtest.Verdict(t, "neighbor", probe(tt.addr, tt.resolve), tt.expect)
			if !slices.Equal(diffs, tt.diffs) {
				t.Errorf("diffs = %+v\nwant    %+v", diffs, tt.diffs)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	kind, _ := checks.Lookup("neighbor")
	tests := []struct {
		name string
		v    func(cty.Value) error
		good []string
		bad  []string
	}{
		{name: "address", v: mustArg(t, kind, "address").Validate,
			good: []string{"198.18.1.2", "2001:db8::1", "fe80::1"}, bad: []string{"", "gw.example", "198.18.1.0/24"}},
		{name: "mac", v: mustExpect(t, kind, "mac").Validate,
			good: []string{"", "02:00:5e:10:00:01", "02-00-5E-10-00-01", "0200.5e10.0001"}, bad: []string{"02:00:5e", "zz:00:5e:10:00:01"}},
		{name: "state", v: mustExpect(t, kind, "state").Validate,
			good: []string{"reachable", "stale", "delay", "probe", "failed", "incomplete", "permanent", "noarp"}, bad: []string{"REACHABLE", "up"}},
	}
	for _, tt := range tests {
		for _, s := range tt.good {
			if err := tt.v(cty.StringVal(s)); err != nil {
				t.Errorf("%s %q: %v", tt.name, s, err)
			}
		}
		for _, s := range tt.bad {
			if err := tt.v(cty.StringVal(s)); err == nil {
				t.Errorf("%s %q passed validation", tt.name, s)
			}
		}
	}
}

func mustArg(t *testing.T, k *checks.Kind, name string) checks.Arg {
	a, ok := k.Arg(name)
	if !ok {
		t.Fatalf("no argument %q", name)
	}
	return a
}

func mustExpect(t *testing.T, k *checks.Kind, name string) checks.Expectation {
	e, ok := k.Expectation(name)
	if !ok {
		t.Fatalf("no expectation %q", name)
	}
	return e
}
