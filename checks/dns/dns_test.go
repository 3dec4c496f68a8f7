package dns

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// ask runs the probe the way the runner does: with the check's timeout as
// the context's deadline.
func ask(t *testing.T, cfg Config, timeout time.Duration) (Result, error) {
	t.Helper()
	if cfg.Type == "" {
		cfg.Type = "A"
	}
	if cfg.Protocol == "" {
		cfg.Protocol = "udp"
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return Probe(ctx, cfg)
}

// verdict judges a result with the registered kind's expectations, as the
// runner does with an expect block, and returns the diff lines.
func verdict(t *testing.T, r Result, expect map[string]cty.Value) []checks.Diff {
	t.Helper()
	kind, ok := checks.Lookup("dns")
	if !ok {
		t.Fatal("the dns kind is not registered")
	}
	v, err := gocty.ToCtyValue(r, kind.Result)
	if err != nil {
		t.Fatal(err)
	}
	return kindtest.Verdict(t, "dns", v, expect)
}

func strs(ss ...string) cty.Value {
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	if len(vals) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	return cty.ListVal(vals)
}

// TestRecords asks the zone server for every supported type and checks the
// whole result a user can reference.
func TestRecords(t *testing.T) {
	_, addr := startZone(t)
	tests := []struct {
		name string
		cfg  Config
		want Result
	}{
		{"A, several answers, TTL is the lowest", Config{Name: "api.example.test", Type: "A"},
			Result{Name: "api.example.test.", Type: "A", Rcode: "NOERROR", Answers: []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"}, TTL: 60, Authoritative: true}},
		{"AAAA", Config{Name: "api.example.test.", Type: "AAAA"},
			Result{Name: "api.example.test.", Type: "AAAA", Rcode: "NOERROR", Answers: []string{"2001:db8::10"}, TTL: 300, Authoritative: true}},
		{"CNAME", Config{Name: "www.example.test", Type: "CNAME"},
			Result{Name: "www.example.test.", Type: "CNAME", Rcode: "NOERROR", Answers: []string{"api.example.test."}, TTL: 120, Authoritative: true}},
		{"A through a CNAME counts only the addresses", Config{Name: "www.example.test", Type: "A"},
			Result{Name: "www.example.test.", Type: "A", Rcode: "NOERROR", Answers: []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"}, TTL: 60, Authoritative: true}},
		{"names come back in lower case", Config{Name: "MIXED.example.test", Type: "CNAME"},
			Result{Name: "mixed.example.test.", Type: "CNAME", Rcode: "NOERROR", Answers: []string{"api.example.test."}, TTL: 300, Authoritative: true}},
		{"MX", Config{Name: "example.test", Type: "MX"},
			Result{Name: "example.test.", Type: "MX", Rcode: "NOERROR", Answers: []string{"10 mail.example.test.", "20 backup.example.test."}, TTL: 3600, Authoritative: true}},
		{"type in lower case", Config{Name: "example.test", Type: "ns"},
			Result{Name: "example.test.", Type: "NS", Rcode: "NOERROR", Answers: []string{"ns1.example.test.", "ns2.example.test."}, TTL: 3600, Authoritative: true}},
		{"PTR of an IPv4 address", Config{Name: "192.0.2.10", Type: "PTR"},
			Result{Name: "10.2.0.192.in-addr.arpa.", Type: "PTR", Rcode: "NOERROR", Answers: []string{"api.example.test."}, TTL: 300, Authoritative: true}},
		{"PTR of an IPv6 address", Config{Name: "2001:db8::10", Type: "PTR"},
			Result{Name: "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", Type: "PTR", Rcode: "NOERROR", Answers: []string{"api.example.test."}, TTL: 300, Authoritative: true}},
		{"PTR of an in-addr.arpa name", Config{Name: "10.2.0.192.in-addr.arpa", Type: "PTR"},
			Result{Name: "10.2.0.192.in-addr.arpa.", Type: "PTR", Rcode: "NOERROR", Answers: []string{"api.example.test."}, TTL: 300, Authoritative: true}},
		{"SRV", Config{Name: "_sip._tcp.example.test", Type: "SRV"},
			Result{Name: "_sip._tcp.example.test.", Type: "SRV", Rcode: "NOERROR", Answers: []string{"10 60 5060 sip.example.test."}, TTL: 300, Authoritative: true}},
		{"SOA", Config{Name: "example.test", Type: "SOA"},
			Result{Name: "example.test.", Type: "SOA", Rcode: "NOERROR", Answers: []string{"ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"}, TTL: 3600, Authoritative: true}},
		{"TXT strings are joined", Config{Name: "example.test", Type: "TXT"},
			Result{Name: "example.test.", Type: "TXT", Rcode: "NOERROR", Answers: []string{"v=spf1 ip4:192.0.2.0/24 -all"}, TTL: 300, Authoritative: true}},
		{"CAA", Config{Name: "example.test", Type: "CAA"},
			Result{Name: "example.test.", Type: "CAA", Rcode: "NOERROR", Answers: []string{`0 issue "letsencrypt.org"`}, TTL: 300, Authoritative: true}},
		{"NXDOMAIN is an observation", Config{Name: "nope.example.test", Type: "A"},
			Result{Name: "nope.example.test.", Type: "A", Rcode: "NXDOMAIN", Answers: []string{}, Authoritative: true}},
		{"a name without the asked type: NOERROR, no answers", Config{Name: "www.example.test", Type: "MX"},
			Result{Name: "www.example.test.", Type: "MX", Rcode: "NOERROR", Answers: []string{}, Authoritative: true}},
		{"SERVFAIL", Config{Name: "servfail.example.test"},
			Result{Name: "servfail.example.test.", Type: "A", Rcode: "SERVFAIL", Answers: []string{}}},
		{"REFUSED", Config{Name: "refused.example.test"},
			Result{Name: "refused.example.test.", Type: "A", Rcode: "REFUSED", Answers: []string{}}},
		{"over TCP", Config{Name: "api.example.test", Type: "AAAA", Protocol: "tcp"},
			Result{Name: "api.example.test.", Type: "AAAA", Protocol: "tcp", Rcode: "NOERROR", Answers: []string{"2001:db8::10"}, TTL: 300, Authoritative: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Server = new(addr)
			tc.cfg.RecursionDesired = true
			got, err := ask(t, tc.cfg, 3*time.Second)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			want := tc.want
			want.Server = addr
			if want.Protocol == "" {
				want.Protocol = "udp"
			}
			want.AnswerCount = len(want.Answers)
			got.RecursionAvailable = false
			if !reflect.DeepEqual(got, want) {
				t.Errorf("result\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestTruncatedAnswerIsAskedAgainOverTCP: a UDP answer with TC set is asked
// again over TCP; the result is the full TCP answer.
func TestTruncatedAnswerIsAskedAgainOverTCP(t *testing.T) {
	z, addr := startZone(t)
	r, err := ask(t, Config{Name: "big.example.test", Server: new(addr), RecursionDesired: true}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Protocol != "tcp" || r.Truncated || r.AnswerCount != bigAnswer || r.Rcode != "NOERROR" {
		t.Errorf("got protocol %q, truncated %v, %d answers, %s; want tcp, false, %d, NOERROR", r.Protocol, r.Truncated, r.AnswerCount, r.Rcode, bigAnswer)
	}
	want := []string{"udp big.example.test. A", "tcp big.example.test. A"}
	if got := z.received(); !reflect.DeepEqual(got, want) {
		t.Errorf("server saw %q, want %q", got, want)
	}
}

// TestTruncatedAnswerWithoutTCP: when the server does not speak TCP, the
// truncated UDP answer is what the check reports.
func TestTruncatedAnswerWithoutTCP(t *testing.T) {
	addr := serve(t, "127.0.0.1", "0", newZoneServer(t), false)
	r, err := ask(t, Config{Name: "big.example.test", Server: new(addr), RecursionDesired: true}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Protocol != "udp" || !r.Truncated || r.AnswerCount != 0 {
		t.Errorf("got protocol %q, truncated %v, %d answers; want udp, true, 0", r.Protocol, r.Truncated, r.AnswerCount)
	}
}

// TestRecursionDesired: the RD flag goes out as configured.
func TestRecursionDesired(t *testing.T) {
	for _, rd := range []bool{true, false} {
		seen := make(chan bool, 1)
		addr := serve(t, "127.0.0.1", "0", replyWith(func(req, _ *miekg.Msg) { seen <- req.RecursionDesired }), false)
		if _, err := ask(t, Config{Name: "example.test", Server: new(addr), RecursionDesired: rd}, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		if got := <-seen; got != rd {
			t.Errorf("recursion_desired = %v sent RD = %v", rd, got)
		}
	}
}

// TestExpectations judges real answers with expect attributes as users
// write them, and shows the diff lines they read.
func TestExpectations(t *testing.T) {
	_, addr := startZone(t)
	tests := []struct {
		name   string
		cfg    Config
		expect map[string]cty.Value
		diffs  []checks.Diff
	}{
		{"exact set, any order", Config{Name: "api.example.test"},
			map[string]cty.Value{"rcode": cty.StringVal("NOERROR"), "answers": strs("192.0.2.12", "192.0.2.10", "192.0.2.11")}, nil},
		{"exact set, one missing", Config{Name: "api.example.test"},
			map[string]cty.Value{"answers": strs("192.0.2.12", "192.0.2.10")},
			[]checks.Diff{{Field: "answers", Expected: `["192.0.2.12", "192.0.2.10"]`, Actual: `["192.0.2.10", "192.0.2.11", "192.0.2.12"]`}}},
		{"exact set, one extra expected", Config{Name: "www.example.test", Type: "CNAME"},
			map[string]cty.Value{"answers": strs("api.example.test.", "lb.example.test.")},
			[]checks.Diff{{Field: "answers", Expected: `["api.example.test.", "lb.example.test."]`, Actual: `["api.example.test."]`}}},
		{"names match without the trailing dot and in any case", Config{Name: "example.test", Type: "MX"},
			map[string]cty.Value{"answers": strs("20 Backup.Example.Test", "10  mail.example.test")}, nil},
		{"IPv6 addresses match in any spelling", Config{Name: "api.example.test", Type: "AAAA"},
			map[string]cty.Value{"answers": strs("2001:DB8:0::10")}, nil},
		{"contains a subset", Config{Name: "api.example.test"},
			map[string]cty.Value{"contains": strs("192.0.2.11")}, nil},
		{"contains, one missing", Config{Name: "api.example.test"},
			map[string]cty.Value{"contains": strs("192.0.2.11", "192.0.2.99")},
			[]checks.Diff{{Field: "answers", Expected: `contains ["192.0.2.11", "192.0.2.99"]`, Actual: `["192.0.2.10", "192.0.2.11", "192.0.2.12"] (missing "192.0.2.99")`}}},
		{"TXT compared as text", Config{Name: "example.test", Type: "TXT"},
			map[string]cty.Value{"answers": strs("v=spf1 ip4:192.0.2.0/24 -all")}, nil},
		{"TXT spaces are part of the text", Config{Name: "padded.example.test", Type: "TXT"},
			map[string]cty.Value{"answers": strs(" padded ")}, nil},
		{"TXT text without its spaces", Config{Name: "padded.example.test", Type: "TXT"},
			map[string]cty.Value{"answers": strs("padded")},
			[]checks.Diff{{Field: "answers", Expected: `["padded"]`, Actual: `[" padded "]`}}},
		{"NXDOMAIN expected, in lower case", Config{Name: "nope.example.test"},
			map[string]cty.Value{"rcode": cty.StringVal("nxdomain"), "answers": strs()}, nil},
		{"rcode mismatch", Config{Name: "nope.example.test"},
			map[string]cty.Value{"rcode": cty.StringVal("NOERROR"), "min_answers": cty.NumberIntVal(1)},
			[]checks.Diff{
				{Field: "rcode", Expected: `"NOERROR"`, Actual: `"NXDOMAIN"`},
				{Field: "answer_count", Expected: "at least 1", Actual: "0"},
			}},
		{"answer count bounds", Config{Name: "api.example.test"},
			map[string]cty.Value{"min_answers": cty.NumberIntVal(2), "max_answers": cty.NumberIntVal(2)},
			[]checks.Diff{{Field: "answer_count", Expected: "at most 2", Actual: "3"}}},
		{"TTL bounds and the AA flag", Config{Name: "api.example.test"},
			map[string]cty.Value{"min_ttl": cty.NumberIntVal(300), "max_ttl": cty.NumberIntVal(3600), "authoritative": cty.False},
			[]checks.Diff{
				{Field: "ttl", Expected: "at least 300", Actual: "60"},
				{Field: "authoritative", Expected: "false", Actual: "true"},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Server = new(addr)
			tc.cfg.RecursionDesired = true
			r, err := ask(t, tc.cfg, 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := verdict(t, r, tc.expect); !reflect.DeepEqual(got, tc.diffs) {
				t.Errorf("diffs\n got %+v\nwant %+v", got, tc.diffs)
			}
		})
	}
}

// TestNoAnswerIsAnError: a server that drops queries, or a port where
// nothing listens, is an error naming the server, and the probe ends at
// the timeout.
func TestNoAnswerIsAnError(t *testing.T) {
	drop := dropper(t, "127.0.0.1:0")
	closed := closedPort(t)
	tests := []struct {
		name     string
		cfg      Config
		timeout  time.Duration
		contains string // a regular expression
	}{
		{"dropped over UDP", Config{Name: "api.example.test", Server: new(drop)}, 300 * time.Millisecond,
			// The probe starts a moment after the deadline was set: the
			// time it reports may be a step below the timeout.
			"^no answer from " + regexp.QuoteMeta(drop) + " over udp within (300|250)ms; check that a DNS server runs there"},
		{"nothing listens on the UDP port", Config{Name: "api.example.test", Server: new(closed)}, 2 * time.Second,
			"^" + regexp.QuoteMeta(closed+" refused the query over udp (ICMP port unreachable): no DNS server listens there")},
		{"nothing listens on the TCP port", Config{Name: "api.example.test", Server: new(closed), Protocol: "tcp"}, 2 * time.Second,
			"^" + regexp.QuoteMeta(closed+" refused the connection over tcp: no DNS server listens there")},
		{"an IP address asked for A", Config{Name: "192.0.2.10", Server: new(drop)}, time.Second,
			"^" + regexp.QuoteMeta(`name "192.0.2.10" is an IP address, which has no A record; set type = "PTR"`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r, err := ask(t, tc.cfg, tc.timeout)
			if err == nil {
				t.Fatalf("no error; result %+v", r)
			}
			if !regexp.MustCompile(tc.contains).MatchString(err.Error()) {
				t.Errorf("error %q does not match %q", err, tc.contains)
			}
			if took := time.Since(start); took > tc.timeout+2*time.Second {
				t.Errorf("took %v with a timeout of %v", took, tc.timeout)
			}
		})
	}
}

// TestCancel: Ctrl-C ends a query waiting for a server that never answers.
func TestCancel(t *testing.T) {
	// Over UDP the wait is cut into slices between which the probe looks
	// at the context; over TCP the context ends the wait itself.
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			defer c.Close() // read nothing, answer nothing
		}
	}()
	for _, c := range []struct{ protocol, server string }{{"udp", dropper(t, "127.0.0.1:0")}, {"tcp", tcp.Addr().String()}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := Probe(ctx, Config{Name: "api.example.test", Type: "A", Server: new(c.server), Protocol: c.protocol})
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("%s: error %v, want it to say interrupted", c.protocol, err)
		}
		if took := time.Since(start); took > 100*time.Millisecond+2*interruptPoll {
			t.Errorf("%s: took %v, cancelled after 100ms", c.protocol, took)
		}
		cancel()
	}
}

// TestValidation: the messages a user sees at load time for bad arguments.
func TestValidation(t *testing.T) {
	kind, _ := checks.Lookup("dns")
	tests := []struct {
		arg, value string
		err        string // "" when valid
	}{
		{"type", "MX", ""},
		{"type", "aaaa", ""},
		{"type", "ANY", `"ANY" is not a supported record type; use one of A, AAAA, CNAME, MX, NS, PTR, SRV, SOA, TXT, CAA`},
		{"name", "api.example.test.", ""},
		{"name", "192.0.2.10", ""},
		{"name", "2001:db8::1", ""},
		{"name", "", `"" is not a domain name`},
		{"name", "a b.example", `"a b.example" is not a domain name`},
		{"name", "a..b", `"a..b" is not a domain name`},
		{"name", strings.Repeat("x", 64) + ".example", "is not a domain name (each label at most 63 characters, 255 in all)"},
		{"server", "192.0.2.53", ""},
		{"server", "192.0.2.53:5353", ""},
		{"server", "ns1.example.test", ""},
		{"server", "2001:db8::53", ""},
		{"server", "[2001:db8::53]:53", ""},
		{"server", "192.0.2.53:0", `the port of "192.0.2.53:0" must be a whole number from 1 to 65535`},
		{"server", "192.0.2.53:dns", `the port of "192.0.2.53:dns" must be a whole number from 1 to 65535`},
		{"server", ":53", `":53" does not name a host`},
		{"server", "", "the server must not be empty"},
		{"server", "udp://192.0.2.53", `is not host:port`},
		{"protocol", "tcp", ""},
		{"protocol", "tls", `"tls" is not one of "udp", "tcp"`},
	}
	for _, tc := range tests {
		t.Run(tc.arg+"="+tc.value, func(t *testing.T) {
			a, ok := kind.Arg(tc.arg)
			if !ok || a.Validate == nil {
				t.Fatalf("argument %s has no validator", tc.arg)
			}
			err := a.Validate(cty.StringVal(tc.value))
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("rejected: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want it to say %q", err, tc.err)
			}
		})
	}
	rcode, _ := kind.Expectation("rcode")
	for _, ok := range []string{"NOERROR", "nxdomain", "ServFail", "REFUSED", "NOTIMP"} {
		if err := rcode.Validate(cty.StringVal(ok)); err != nil {
			t.Errorf("rcode %q rejected: %v", ok, err)
		}
	}
	if err := rcode.Validate(cty.StringVal("NOTFOUND")); err == nil || !strings.Contains(err.Error(), `"NOTFOUND" is not a DNS response code`) {
		t.Errorf("rcode NOTFOUND: %v", err)
	}
}

// TestReverseToAddr: reverse names read back into addresses, for the hosts
// file's PTR answers.
func TestReverseToAddr(t *testing.T) {
	for _, ip := range []string{"192.0.2.10", "127.0.0.1", "2001:db8::10", "::1", "fe80::1:2:3:4"} {
		rev := absolute(ip, "PTR")
		got, ok := reverseToAddr(rev)
		if !ok || got.String() != ip {
			t.Errorf("reverseToAddr(%q) = %v, %v; want %s", rev, got, ok, ip)
		}
	}
	for _, bad := range []string{"example.test.", "1.2.3.in-addr.arpa.", "x.2.0.192.in-addr.arpa.", "1.0.ip6.arpa."} {
		if got, ok := reverseToAddr(bad); ok {
			t.Errorf("reverseToAddr(%q) = %v, want no address", bad, got)
		}
	}
}

// TestIPv6Server: a server written as [address]:port, over both transports.
func TestIPv6Server(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	pc.Close()
	addr := serve(t, "::1", "0", newZoneServer(t), true)
	for _, proto := range []string{"udp", "tcp"} {
		r, err := ask(t, Config{Name: "api.example.test", Type: "AAAA", Server: new(addr), Protocol: proto, RecursionDesired: true}, 3*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		if r.Server != addr || r.Protocol != proto || !reflect.DeepEqual(r.Answers, []string{"2001:db8::10"}) {
			t.Errorf("%s: got %s over %s %q", proto, r.Server, r.Protocol, r.Answers)
		}
	}
}

// BenchmarkProbe measures one A query to a server on loopback, the cost a
// suite of thousands of dns checks pays per check.
func BenchmarkProbe(b *testing.B) {
	_, addr := startZone(b)
	cfg := Config{Name: "api.example.test", Type: "A", Server: &addr, Protocol: "udp", RecursionDesired: true}
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if _, err := Probe(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}

// TestOnlyTheAnswerToTheQuestion: a packet that is not the response to this
// query (the query echoed back with QR = 0, another ID, another question,
// bytes that do not parse) is ignored while waiting for the real answer
// (RFC 5452 §9.1), over UDP and TCP; when no real answer comes, the check
// errors and names what it ignored.
func TestOnlyTheAnswerToTheQuestion(t *testing.T) {
	junk := func(w miekg.ResponseWriter, req *miekg.Msg) {
		echo := req.Copy() // QR = 0: the query itself
		w.WriteMsg(echo)
		other := new(miekg.Msg)
		other.SetReply(req)
		other.Id = req.Id + 1
		other.Answer = []miekg.RR{mustRR(t, "api.example.test. 60 IN A 192.0.2.66")}
		w.WriteMsg(other)
		wrongQ := new(miekg.Msg)
		wrongQ.SetReply(req)
		wrongQ.Question[0].Name = "evil.example.test."
		wrongQ.Answer = []miekg.RR{mustRR(t, "evil.example.test. 60 IN A 192.0.2.66")}
		w.WriteMsg(wrongQ)
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			w.Write([]byte{1, 2, 3})
		}
	}
	honest := serve(t, "127.0.0.1", "0", miekg.HandlerFunc(func(w miekg.ResponseWriter, req *miekg.Msg) {
		junk(w, req)
		m := new(miekg.Msg)
		m.SetReply(req)
		m.Answer = []miekg.RR{mustRR(t, "api.example.test. 60 IN A 192.0.2.10")}
		w.WriteMsg(m)
	}), true)
	liar := serve(t, "127.0.0.1", "0", miekg.HandlerFunc(junk), true)
	for _, proto := range []string{"udp", "tcp"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := Probe(ctx, Config{Name: "api.example.test", Type: "A", Server: &honest, Protocol: proto, RecursionDesired: true})
		cancel()
		if err != nil || res.Rcode != "NOERROR" || len(res.Answers) != 1 || res.Answers[0] != "192.0.2.10" {
			t.Errorf("%s: the real answer after junk: %+v, %v", proto, res, err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
		res, err = Probe(ctx, Config{Name: "api.example.test", Type: "A", Server: &liar, Protocol: proto, RecursionDesired: true})
		cancel()
		if err == nil {
			t.Errorf("%s: a server that sends no real answer passed: %+v", proto, res)
			continue
		}
		for _, want := range []string{"no answer from", "a query, not a response (QR = 0)", "a response with ID",
			"a response to another question (evil.example.test. A, not api.example.test. A)"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: the error lacks %q: %v", proto, want, err)
			}
		}
	}
}

func mustRR(t *testing.T, s string) miekg.RR {
	rr, err := miekg.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// isAddress, which tells most names from addresses without parsing them,
// is netip.ParseAddr's answer.
func TestIsAddressIsParseAddr(t *testing.T) {
	for _, name := range []string{"192.0.2.1", "::1", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0", "FE80::1%Eth0", "fe80::1%",
		"c0.bench.test", "dead.beef", "abc", "1.2.3", "1.2.3.4.5", "", ".", ":", "192.0.2.1.", "example.test", "a:b"} {
		_, err := netip.ParseAddr(name)
		if got := isAddress(name); got != (err == nil) {
			t.Errorf("isAddress(%q) = %t, ParseAddr says %v", name, got, err)
		}
	}
}

// A server written as IP:port is dialled as written, which is what
// splitting and joining it gives; anything else goes that way.
func TestServerAddressOfIPAndPort(t *testing.T) {
	for _, server := range []string{"127.0.0.1:53", "127.0.0.1:053", "[::1]:5353", "[fe80::1%lo]:53", "127.0.0.1", "::1", "127.0.0.1:0", "[::1]:70000", "127.0.0.1:x"} {
		got, gerr := serverAddress(context.Background(), server)
		want, werr := "", error(nil)
		if host, port, err := splitServer(server); err != nil {
			werr = err
		} else {
			want = net.JoinHostPort(host, port)
		}
		if got != want || (gerr == nil) != (werr == nil) {
			t.Errorf("serverAddress(%q) = %q, %v; splitting gives %q, %v", server, got, gerr, want, werr)
		}
	}
}
