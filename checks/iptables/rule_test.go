package iptables

import (
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{in: "-p tcp --dport 80", want: []string{"-p", "tcp", "--dport", "80"}},
		{in: `-m comment --comment "hello world" -j ACCEPT`, want: []string{"-m", "comment", "--comment", "hello world", "-j", "ACCEPT"}},
		{in: `--comment 'it''s' -j ACCEPT`, want: []string{"--comment", "its", "-j", "ACCEPT"}},
		{in: `--comment "say \"hi\"" `, want: []string{"--comment", `say "hi"`}},
		{in: `--log-prefix a\ b`, want: []string{"--log-prefix", "a b"}},
		{in: "  \t", want: nil},
		{in: `--comment "open`, err: "unterminated double quote"},
		{in: `--comment 'open`, err: "unterminated single quote"},
	}
	for _, tt := range tests {
		ts, err := split(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("split(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("split(%q): %v", tt.in, err)
			continue
		}
		if got := words(ts); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSameRule shows which spellings nettest takes for the rule iptables
// lists: a rule written as a user would, against the line iptables -S
// prints for the rule that is installed.
func TestSameRule(t *testing.T) {
	tests := []struct {
		written, listed string
		same            bool
	}{
		{"-p tcp --dport 80 -j REDIRECT --to-ports 8080", "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", true},
		{"--protocol tcp --destination-port 80 --jump REDIRECT --to-port 8080", "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", true},
		{"-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", true},
		{"-p tcp --dport 81 -j REDIRECT --to-ports 8080", "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", false},
		{"-p tcp --dport 80 -j REDIRECT --to-ports 8081", "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", false},
		{"-p tcp --dport 22 -j REJECT", "-p tcp -m tcp --dport 22 -j REJECT --reject-with icmp-port-unreachable", true},
		{"-p tcp --dport 22 -j REJECT", "-p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset", false},
		{"-p tcp --dport 22 -j DROP", "-p tcp -m tcp --dport 22 -j REJECT --reject-with icmp-port-unreachable", false},
		{`-m comment --comment 'hello world' -p tcp --syn -j LOG --log-prefix "x y"`,
			`-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "hello world" -j LOG --log-prefix "x y"`, true},
		{`-m comment --comment "hello" -j ACCEPT`, `-m comment --comment "hello world" -j ACCEPT`, false},
		{"-s 10.1.2.3 -p 6 ! --dport 87 -j REDIRECT", "-s 10.1.2.3/32 -p tcp -m tcp ! --dport 87 -j REDIRECT", true},
		{"-s 10.1.2.3 -p tcp --dport 87 -j REDIRECT", "-s 10.1.2.3/32 -p tcp -m tcp ! --dport 87 -j REDIRECT", false},
		{"--source 10.0.0.0/255.0.0.0 -j DROP", "-s 10.0.0.0/8 -j DROP", true},
		{"-s 10.0.0.7/8 -j DROP", "-s 10.0.0.0/8 -j DROP", true},
		{"-p tcp --dport 8000-8080 -j ACCEPT", "-p tcp -m tcp --dport 8000:8080 -j ACCEPT", true},
		{"-i eth0 -j ACCEPT", "-i eth1 -j ACCEPT", false},
		{"-p tcp -j ACCEPT", "! -p tcp -j ACCEPT", false},
		{"-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", true},
		{"-p tcp -m multiport --dports 80,443 -j ACCEPT", "-p tcp -m multiport --dports 80,443 -j ACCEPT", true},
		{"-p tcp --dport 80 -j DNAT --to 127.0.0.1:8080", "-p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:8080", true},
		{"-j MYCHAIN", "-g MYCHAIN", false},
	}
	for _, tt := range tests {
		_, w, err := parseUserRule(tt.written, false)
		if err != nil {
			t.Errorf("parsing %q: %v", tt.written, err)
			continue
		}
		l := parseListing("X", []string{"-A X " + tt.listed}, false)
		if len(l.rules) != 1 || l.rules[0].err != nil {
			t.Errorf("parsing listed %q: %+v", tt.listed, l.rules)
			continue
		}
		if same := w.key() == l.rules[0].parsed.key(); same != tt.same {
			t.Errorf("%q vs listed %q: same = %v, want %v\n written key: %s\n listed key:  %s", tt.written, tt.listed, same, tt.same, w.key(), l.rules[0].parsed.key())
		}
	}
}

// TestInvalidRules lists rules the loader refuses, each with the message a
// user reads.
func TestInvalidRules(t *testing.T) {
	tests := []struct{ rule, err string }{
		{"", "the rule is empty"},
		{"-A INPUT -p tcp -j ACCEPT", "write the rule without -A and the chain"},
		{"-t nat -p tcp -j ACCEPT", "the table goes in the table argument"},
		{"tcp --dport 80", `"tcp" is not an option`},
		{"--dport 80 -j ACCEPT", "--dport needs a match first"},
		{"-p tcp --dport 80 -j", "-j needs one target"},
		{"-m -j ACCEPT", "-m needs one match name"},
		{`-m comment --comment "x -j ACCEPT`, "unterminated double quote"},
		{"-p tcp -j ACCEPT !", `"!" at the end`},
	}
	for _, tt := range tests {
		err := validRule(cty.StringVal(tt.rule))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("validRule(%q) = %v, want an error containing %q", tt.rule, err, tt.err)
		}
	}
}

func TestParseListing(t *testing.T) {
	// The counters sit before -j in legacy mode; go-iptables moves those of
	// nf_tables mode ("[3:180] -A …") to the end of the line.
	lines := []string{
		"-P PREROUTING ACCEPT -c 0 0",
		"-A PREROUTING -p tcp -m tcp --dport 80 -c 3 180 -j REDIRECT --to-ports 8080",
		`-A PREROUTING -m comment --comment "a -c 1 2 b" -j ACCEPT -c 5 300`,
		"-A PREROUTING",
		"-A OTHER -j DROP",
	}
	l := parseListing("PREROUTING", lines, false)
	if l.policy != "ACCEPT" || !l.builtin {
		t.Errorf("policy = %q, builtin = %v; want ACCEPT, true", l.policy, l.builtin)
	}
	want := []struct {
		text           string
		packets, bytes int64
	}{
		{"-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", 3, 180},
		{`-m comment --comment "a -c 1 2 b" -j ACCEPT`, 5, 300},
		{"", 0, 0},
	}
	if len(l.rules) != len(want) {
		t.Fatalf("got %d rules, want %d: %+v", len(l.rules), len(want), l.rules)
	}
	for i, w := range want {
		r := l.rules[i]
		if r.err != nil || r.text != w.text || r.parsed.packets != w.packets || r.parsed.bytes != w.bytes {
			t.Errorf("rule %d = %q (%d packets, %d bytes, err %v), want %q (%d, %d)", i, r.text, r.parsed.packets, r.parsed.bytes, r.err, w.text, w.packets, w.bytes)
		}
	}
	user := parseListing("WEB", []string{"-N WEB", "-A WEB -j ACCEPT"}, false)
	if user.policy != "" || user.builtin || len(user.rules) != 1 {
		t.Errorf("user chain: %+v", user)
	}
}

// TestForwardMatches shows which listed rules count as forwarding tcp port
// 80 to port 8080 (or what the case names).
func TestForwardMatches(t *testing.T) {
	local := func(ip net.IP) bool { return ip.Equal(net.ParseIP("198.18.0.2")) }
	fwd := forward{protocol: "tcp", from: 80, to: 8080}
	to := func(addr string) forward { f := fwd; f.toAddress = normalIP(addr); return f }
	tests := []struct {
		name string
		f    forward
		rule string
		want bool
	}{
		{"redirect", fwd, "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", true},
		{"redirect as a user writes it", fwd, "-p tcp --destination-port 80 -j REDIRECT --to-port 8080", true},
		{"dnat port only", fwd, "-p tcp -m tcp --dport 80 -j DNAT --to-destination :8080", true},
		{"dnat to loopback", fwd, "-p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:8080", true},
		{"dnat to a local address", fwd, "-p tcp -m tcp --dport 80 -j DNAT --to-destination 198.18.0.2:8080", true},
		{"dnat to another host", fwd, "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.5:8080", false},
		{"dnat to the named host", to("10.0.0.5"), "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.5:8080", true},
		{"dnat into a range holding the named host", to("10.0.0.5"), "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1-10.0.0.9:8080", true},
		{"dnat to another host than named", to("10.0.0.6"), "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.5:8080", false},
		{"redirect when an address is named", to("127.0.0.1"), "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080", false},
		{"dnat keeping the port", fwd, "-p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1", false},
		{"dnat port range", fwd, "-p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:8000-8100", true},
		{"source port range", fwd, "-p tcp -m tcp --dport 79:81 -j REDIRECT --to-ports 8080", true},
		{"open range", fwd, "-p tcp -m tcp --dport :1024 -j REDIRECT --to-ports 8080", true},
		{"range without the port", fwd, "-p tcp -m tcp --dport 81:90 -j REDIRECT --to-ports 8080", false},
		{"multiport", fwd, "-p tcp -m multiport --dports 443,80 -j REDIRECT --to-ports 8080", true},
		{"multiport range, target range", fwd, "-p tcp -m multiport --dports 70:90 -j REDIRECT --to-ports 8080-8090", true},
		{"multiport without the port", fwd, "-p tcp -m multiport --dports 443,8443 -j REDIRECT --to-ports 8080", false},
		{"negated port", fwd, "-p tcp -m tcp ! --dport 80 -j REDIRECT --to-ports 8080", false},
		{"negated other port", fwd, "-p tcp -m tcp ! --dport 81 -j REDIRECT --to-ports 8080", true},
		{"every tcp port", fwd, "-p tcp -j REDIRECT --to-ports 8080", true},
		{"other protocol", fwd, "-p udp -m udp --dport 80 -j REDIRECT --to-ports 8080", false},
		{"other target port", fwd, "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9090", false},
		{"redirect keeping the port", fwd, "-p tcp -m tcp --dport 80 -j REDIRECT", false},
		{"redirect keeping the port, same port", forward{protocol: "tcp", from: 80, to: 80}, "-p tcp -m tcp --dport 80 -j REDIRECT", true},
		{"not a forward", fwd, "-p tcp -m tcp --dport 80 -j ACCEPT", false},
		{"more conditions", fwd, "-s 198.18.0.0/24 -i veth0 -p tcp -m tcp --dport 80 -m comment --comment web -j REDIRECT --to-ports 8080", true},
		{"ipv6 dnat", fwd, "-p tcp -m tcp --dport 80 -j DNAT --to-destination [::1]:8080", true},
		{"ipv6 dnat to the named host", to("2001:db8::1"), "-p tcp -m tcp --dport 80 -j DNAT --to-destination [2001:db8::1]:8080", true},
		{"ipv6 dnat without a port", forward{protocol: "tcp", from: 80, to: 80, toAddress: normalIP("2001:db8::1")}, "-p tcp -m tcp --dport 80 -j DNAT --to-destination 2001:db8::1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := split(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			r, err := parseRule(ts, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.f.matches(r, local); got != tt.want {
				t.Errorf("forward %+v, rule %q: matches = %v, want %v", tt.f, tt.rule, got, tt.want)
			}
		})
	}
}

// TestValidate lists the combinations of arguments that are refused, with
// the message a user reads.
func TestValidate(t *testing.T) {
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	tests := []struct {
		name  string
		cfg   Config
		table string
		err   string
	}{
		{name: "chain only", cfg: Config{Chain: "INPUT"}, table: "filter"},
		{name: "rule", cfg: Config{Chain: "INPUT", Rule: s("-j ACCEPT")}, table: "filter"},
		{name: "forward defaults to nat", cfg: Config{Chain: "PREROUTING", Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080)}, table: "nat"},
		{name: "forward in nat", cfg: Config{Table: s("nat"), Chain: "OUTPUT", Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080)}, table: "nat"},
		{name: "both forms", cfg: Config{Chain: "PREROUTING", Rule: s("-j ACCEPT"), FromPort: n(80)},
			err: "give either rule, or protocol, from_port and to_port (a port forward), not both"},
		{name: "incomplete forward", cfg: Config{Chain: "PREROUTING", FromPort: n(80)},
			err: "a port forward needs protocol, from_port and to_port; protocol and to_port missing"},
		{name: "forward in filter", cfg: Config{Table: s("filter"), Chain: "PREROUTING", Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080)},
			err: `a port forward is read from the nat table (REDIRECT and DNAT live there), not "filter"`},
		{name: "forward in INPUT", cfg: Config{Chain: "INPUT", Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080)},
			err: "a port forward lives in PREROUTING (arriving packets), OUTPUT (local ones) or a chain they jump to, not INPUT"},
		{name: "ipv6 address for ipv4", cfg: Config{Chain: "PREROUTING", Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080), ToAddress: s("::1")},
			err: "to_address ::1 is not an IPv4 address; set ipv6 = true to read the IPv6 rules"},
		{name: "bad rule", cfg: Config{Chain: "INPUT", Rule: s("-A INPUT -j ACCEPT")}, err: "write the rule without -A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planFor(tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.table != tt.table {
				t.Errorf("table = %q, want %q", p.table, tt.table)
			}
		})
	}
}

func TestValidChain(t *testing.T) {
	for chain, want := range map[string]string{
		"INPUT":                         "",
		"DOCKER-USER":                   "",
		"":                              "empty",
		"INPUT -j ACCEPT":               "contains a blank",
		"-A":                            "starts like an option",
		"A_VERY_LONG_CHAIN_NAME_THAT_X": "longer than the 28 characters",
	} {
		err := validChain(cty.StringVal(chain))
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("validChain(%q) = %v, want %q", chain, err, want)
		}
	}
}

// TestPresentDiff shows the diff lines of an unmet present expectation.
func TestPresentDiff(t *testing.T) {
	result := func(present bool, matched string, rules ...string) cty.Value {
		list := cty.ListValEmpty(cty.String)
		if len(rules) > 0 {
			vs := make([]cty.Value, len(rules))
			for i, r := range rules {
				vs[i] = cty.StringVal(r)
			}
			list = cty.ListVal(vs)
		}
		return cty.ObjectVal(map[string]cty.Value{"present": cty.BoolVal(present), "matched": cty.StringVal(matched), "rules": list})
	}
	compare := presentExpectation().Compare
	tests := []struct {
		want   bool
		result cty.Value
		actual string
	}{
		{true, result(true, "-j ACCEPT", "-j ACCEPT"), ""},
		{true, result(false, ""), "false (the chain holds no rules)"},
		{true, result(false, "", "-j A", "-j B"), `false (the chain holds ["-j A", "-j B"])`},
		{true, result(false, "", "-j A", "-j B", "-j C", "-j D", "-j E"), `false (the chain holds ["-j A", "-j B", "-j C"] and 2 more)`},
		{false, result(true, "-j B", "-j A", "-j B"), `true (matched "-j B")`},
	}
	for _, tt := range tests {
		d := compare(cty.BoolVal(tt.want), tt.result)
		switch {
		case tt.actual == "" && d != nil:
			t.Errorf("want %v, result %v: unexpected diff %+v", tt.want, tt.result.GoString(), d)
		case tt.actual != "" && (d == nil || d.Actual != tt.actual || d.Field != "present"):
			t.Errorf("want %v: diff %+v, want actual %q", tt.want, d, tt.actual)
		}
	}
}
