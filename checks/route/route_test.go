package route

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/zclconf/go-cty/cty"
)

// routeLab is a client with two links, to router1 (198.18.1.0/24) and
// router2 (198.18.2.0/24), and routes of every kind in its tables. It has
// no default route, so 198.18.99.0/24 has no route at all.
func routeLab(t *testing.T) (client *lab.Host, if1, if2 string) {
	l := lab.New(t)
	client = l.Host("client")
	if1, _ = l.Link(client, "198.18.1.1/24", l.Host("router1"), "198.18.1.2/24")
	if2, _ = l.Link(client, "198.18.2.1/24", l.Host("router2"), "198.18.2.2/24")
	for _, cmd := range [][]string{
		{"ip", "route", "add", "198.18.50.0/24", "via", "198.18.1.2"},
		// The same prefix through router2, less preferred: chosen only
		// when the lookup is bound to if2.
		{"ip", "route", "add", "198.18.50.0/24", "via", "198.18.2.2", "metric", "100"},
		{"ip", "route", "add", "blackhole", "198.18.60.0/24"},
		{"ip", "route", "add", "prohibit", "198.18.61.0/24"},
		{"ip", "route", "add", "unreachable", "198.18.62.0/24"},
		// A longer prefix inside the blackholed one is routed normally.
		{"ip", "route", "add", "198.18.60.128/25", "via", "198.18.1.2"},
		// Policy routing: packets from 198.18.2.1 use table 100, which has
		// a default route through router2.
		{"ip", "rule", "add", "from", "198.18.2.1", "table", "100"},
		{"ip", "route", "add", "default", "via", "198.18.2.2", "table", "100"},
		{"ip", "-6", "route", "add", "blackhole", "2001:db8:60::/48"},
	} {
		client.Run(t, cmd...)
	}
	return client, if1, if2
}

func TestRoutes(t *testing.T) {
	client, if1, if2 := routeLab(t)
	tests := []struct {
		name string
		cfg  Config
		want Result
	}{
		{name: "on-link", cfg: Config{Destination: "198.18.1.2"},
			want: Result{Destination: "198.18.1.2", Reachable: true, Type: "unicast", Prefix: "198.18.1.0/24", Table: 254, Interface: if1, Source: "198.18.1.1"}},
		{name: "a prefix stands for its network address", cfg: Config{Destination: "198.18.1.0/24"},
			want: Result{Destination: "198.18.1.0", Reachable: true, Type: "unicast", Prefix: "198.18.1.0/24", Table: 254, Interface: if1, Source: "198.18.1.1"}},
		{name: "via a gateway", cfg: Config{Destination: "198.18.50.7"},
			want: Result{Destination: "198.18.50.7", Reachable: true, Type: "unicast", Prefix: "198.18.50.0/24", Table: 254, Gateway: "198.18.1.2", Interface: if1, Source: "198.18.1.1"}},
		{name: "bound to an interface", cfg: Config{Destination: "198.18.50.7", Interface: new(if2)},
			want: Result{Destination: "198.18.50.7", Reachable: true, Type: "unicast", Prefix: "198.18.50.0/24", Table: 254, Gateway: "198.18.2.2", Interface: if2, Source: "198.18.2.1"}},
		{name: "a local address", cfg: Config{Destination: "198.18.1.1"},
			want: Result{Destination: "198.18.1.1", Reachable: true, Type: "local", Prefix: "198.18.1.1/32", Table: 255, Interface: "lo", Source: "198.18.1.1"}},
		{name: "no route", cfg: Config{Destination: "198.18.99.1"},
			want: Result{Destination: "198.18.99.1"}},
		{name: "policy routing by source", cfg: Config{Destination: "198.18.99.1", Source: new("198.18.2.1")},
			want: Result{Destination: "198.18.99.1", Reachable: true, Type: "unicast", Prefix: "default", Table: 100, Gateway: "198.18.2.2", Interface: if2, Source: "198.18.2.1"}},
		{name: "blackhole", cfg: Config{Destination: "198.18.60.1"},
			want: Result{Destination: "198.18.60.1", Type: "blackhole", Prefix: "198.18.60.0/24", Table: 254}},
		{name: "a longer prefix inside a blackhole", cfg: Config{Destination: "198.18.60.200"},
			want: Result{Destination: "198.18.60.200", Reachable: true, Type: "unicast", Prefix: "198.18.60.128/25", Table: 254, Gateway: "198.18.1.2", Interface: if1, Source: "198.18.1.1"}},
		{name: "prohibit", cfg: Config{Destination: "198.18.61.1"},
			want: Result{Destination: "198.18.61.1", Type: "prohibit", Prefix: "198.18.61.0/24", Table: 254}},
		{name: "unreachable", cfg: Config{Destination: "198.18.62.1"},
			want: Result{Destination: "198.18.62.1", Type: "unreachable", Prefix: "198.18.62.0/24", Table: 254}},
		{name: "IPv6 blackhole", cfg: Config{Destination: "2001:db8:60::1"},
			want: Result{Destination: "2001:db8:60::1", Type: "blackhole", Prefix: "2001:db8:60::/48", Table: 254}},
		{name: "IPv6 no route", cfg: Config{Destination: "2001:db8:99::1"},
			want: Result{Destination: "2001:db8:99::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lab.Probe(client, 5*time.Second, Probe, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRouteErrors(t *testing.T) {
	client, _, _ := routeLab(t)
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{name: "no such interface", cfg: Config{Destination: "198.18.1.2", Interface: new("eth9")},
			err: `no interface named "eth9" in this network namespace (there are: lo, `},
		{name: "source not local", cfg: Config{Destination: "198.18.1.2", Source: new("198.18.77.7")},
			err: "source 198.18.77.7 is not an address of this host"},
		{name: "mixed versions", cfg: Config{Destination: "198.18.1.2", Source: new("2001:db8::1")},
			err: "source 2001:db8::1 and destination 198.18.1.2 are of different IP versions"},
		{name: "not an address", cfg: Config{Destination: "db.example"},
			err: `"db.example" is not an IP address or prefix`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := lab.Probe(client, 5*time.Second, Probe, tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("error = %v (observed %+v), want one starting %q", err, r, tt.err)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	client, if1, _ := routeLab(t)
	kind, _ := checks.Lookup("route")
	probe := func(dest string) cty.Value {
		v, err := lab.Probe(client, 5*time.Second, kind.Probe.Call, cty.ObjectVal(map[string]cty.Value{
			"destination": cty.StringVal(dest), "source": cty.NullVal(cty.String), "interface": cty.NullVal(cty.String),
		}))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	str := cty.StringVal
	tests := []struct {
		name   string
		dest   string
		expect map[string]cty.Value
		diffs  []checks.Diff
	}{
		{name: "on-link met", dest: "198.18.1.2", expect: map[string]cty.Value{
			"reachable": cty.True, "gateway": str(""), "interface": str(if1), "source": str("198.18.1.1"), "prefix": str("198.18.1.0/24"), "type": str("unicast")}},
		{name: "gateway met, spelled differently", dest: "198.18.50.7", expect: map[string]cty.Value{
			"gateway": str("198.18.1.2"), "prefix": str("198.18.50.1/24")}},
		{name: "on-link expected, gateway found", dest: "198.18.50.7", expect: map[string]cty.Value{"gateway": str("")},
			diffs: []checks.Diff{{Field: "gateway", Expected: `""`, Actual: `"198.18.1.2"`}}},
		{name: "no route expected and met", dest: "198.18.99.1", expect: map[string]cty.Value{"reachable": cty.False}},
		{name: "route expected, none found", dest: "198.18.99.1", expect: map[string]cty.Value{"reachable": cty.True, "prefix": str("default")},
			diffs: []checks.Diff{{Field: "reachable", Expected: "true", Actual: "false"}, {Field: "prefix", Expected: `"default"`, Actual: `""`}}},
		{name: "blackhole expected and met", dest: "198.18.60.1", expect: map[string]cty.Value{"reachable": cty.False, "type": str("blackhole")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs := kindtest.Verdict(t, "route", probe(tt.dest), tt.expect)
			if !slices.Equal(diffs, tt.diffs) {
				t.Errorf("diffs = %+v\nwant    %+v", diffs, tt.diffs)
			}
		})
	}
}

// TestLoopbackOnHost reads the machine's own table, which every Linux host
// has the same way for 127.0.0.1.
func TestLoopbackOnHost(t *testing.T) {
	r, err := Probe(context.Background(), Config{Destination: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	// The kernel adds local routes for both 127.0.0.1 and 127.0.0.0/8; the
	// longer one matches. The table it names depends on whether policy
	// rules exist (without them the local and main tables are merged and
	// it says main), so the test does not look at it.
	want := Result{Destination: "127.0.0.1", Reachable: true, Type: "local", Prefix: "127.0.0.1/32", Table: r.Table, Interface: "lo", Source: "127.0.0.1"}
	if r != want {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestValidation(t *testing.T) {
	kind, _ := checks.Lookup("route")
	arg, _ := kind.Arg("destination")
	for _, ok := range []string{"198.18.1.1", "198.18.0.0/15", "2001:db8::1", "::/0"} {
		if err := arg.Validate(cty.StringVal(ok)); err != nil {
			t.Errorf("destination %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "db.example", "198.18.1.1/33", "198.18.1"} {
		if err := arg.Validate(cty.StringVal(bad)); err == nil {
			t.Errorf("destination %q passed validation", bad)
		}
	}
	prefix, _ := kind.Expectation("prefix")
	if err := prefix.Validate(cty.StringVal("10.0.0.0")); err == nil {
		t.Error(`prefix "10.0.0.0" passed validation`)
	}
	typ, _ := kind.Expectation("type")
	if err := typ.Validate(cty.StringVal("via")); err == nil {
		t.Error(`type "via" passed validation`)
	}
}
