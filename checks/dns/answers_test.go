package dns

import (
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
)

// An expected answer is compared in the form the probe writes answers of
// the asked type: addresses canonical, names absolute and in lower case,
// anything that does not parse as written (trimmed); TXT and CAA values as
// written, spaces and all.
func TestNormalise(t *testing.T) {
	for _, c := range []struct{ qtype, in, want string }{
		{"A", "192.0.2.10", "192.0.2.10"},
		{"A", " 192.0.2.10\t", "192.0.2.10"},
		{"A", "192.0.2.010", "192.0.2.010"},
		{"A", "not an address", "not an address"},
		{"AAAA", "2001:DB8:0::10", "2001:db8::10"},
		{"CNAME", "Api.Example.Test", "api.example.test."},
		{"NS", " ns1.example.test. ", "ns1.example.test."},
		{"PTR", "Host.Example.Test", "host.example.test."},
		{"CNAME", "two Names", "two Names"},
		{"CNAME", "a\u00a0B", "a\u00a0B"},
		{"CNAME", "", ""},
		{"MX", "10  Mail.Example.Test", "10 mail.example.test."},
		{"MX", "10", "10"},
		{"SRV", "0 5 5060 SIP.Example.Test", "0 5 5060 sip.example.test."},
		{"SOA", "NS1.Example.Test Admin.Example.Test 1 2 3 4 5", "ns1.example.test. admin.example.test. 1 2 3 4 5"},
		{"TXT", "  v=spf1  -all ", "  v=spf1  -all "},
		{"TXT", "v=spf1 -all", "v=spf1 -all"},
		{"CAA", `0 issue "CA.example"`, `0 issue "CA.example"`},
		{"CAA", ` 0 issue "ca.example"`, ` 0 issue "ca.example"`},
	} {
		if got := normalise(c.qtype, c.in); got != c.want {
			t.Errorf("normalise(%s, %q) = %q, want %q", c.qtype, c.in, got, c.want)
		}
	}
}

func TestSameSet(t *testing.T) {
	for _, c := range []struct {
		a, b []string
		want bool
	}{
		{[]string{}, []string{}, true},
		{[]string{"192.0.2.1"}, []string{"192.0.2.1"}, true},
		{[]string{"192.0.2.1"}, []string{"192.0.2.2"}, false},
		{[]string{"192.0.2.1"}, []string{}, false},
		{[]string{"b", "a"}, []string{"a", "b"}, true},
		{[]string{"a", "a"}, []string{"a", "b"}, false},
	} {
		if got := sameSet(c.a, c.b); got != c.want {
			t.Errorf("sameSet(%q, %q) = %t, want %t", c.a, c.b, got, c.want)
		}
	}
}

// sameAnswers, which compares one address as written when it is the
// answer, is the set comparison of the normalised expectations, for
// answers as format writes them.
func TestSameAnswersIsSameSetOfNormalised(t *testing.T) {
	answers := map[string][][]string{
		"A":     {{}, {"192.0.2.10"}, {"192.0.2.10", "192.0.2.11"}},
		"AAAA":  {{"2001:db8::10"}, {"1.2.3.4"}}, // a v4-mapped AAAA reads as its IPv4 address
		"CNAME": {{"api.example.test."}},
		"TXT":   {{"v=spf1 -all"}, {" padded "}},
	}
	wants := [][]string{{}, {"192.0.2.10"}, {" 192.0.2.10"}, {"192.0.2.010"}, {"192.0.2.11", "192.0.2.10"},
		{"2001:DB8::10"}, {"2001:db8::10"}, {"::ffff:1.2.3.4"}, {"1.2.3.4"}, {"Api.Example.Test"}, {"api.example.test."},
		{"v=spf1 -all"}, {" padded "}, {"padded"}}
	for qtype, sets := range answers {
		for _, got := range sets {
			for _, want := range wants {
				if a, b := sameAnswers(want, qtype, got), sameSet(normalised(want, qtype), got); a != b {
					t.Errorf("%s: sameAnswers(%q, %q) = %t, sameSet of normalised %t", qtype, want, got, a, b)
				}
			}
		}
	}
}

// TestAnswersMetAsDecoded: the answers and contains expectations, which
// tell met answers from the result's type and answers alone, judge every
// expected value and result as the expectations over the decoded result
// do, met or not, with the same diff: lists and tuples of answers in any
// form and order, values the loader would reject, unknown and marked
// values, results without answers or of another type.
func TestAnswersMetAsDecoded(t *testing.T) {
	strs := func(ss ...string) cty.Value {
		if len(ss) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		vs := make([]cty.Value, len(ss))
		for i, s := range ss {
			vs[i] = cty.StringVal(s)
		}
		return cty.ListVal(vs)
	}
	result := func(qtype string, answers cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal("www.example.test."), "type": cty.StringVal(qtype), "server": cty.StringVal("127.0.0.1:53"),
			"protocol": cty.StringVal("udp"), "rcode": cty.StringVal("NOERROR"), "answers": answers,
			"answer_count": cty.NumberIntVal(int64(answers.LengthInt())), "ttl": cty.NumberIntVal(60),
			"authoritative": cty.True, "recursion_available": cty.False, "truncated": cty.False,
		})
	}
	results := map[string]cty.Value{
		"A one":              result("A", strs("192.0.2.10")),
		"A three":            result("A", strs("192.0.2.10", "192.0.2.11", "192.0.2.12")),
		"A none":             result("A", strs()),
		"AAAA":               result("AAAA", strs("2001:db8::10")),
		"MX":                 result("MX", strs("10 mail.example.test.", "20 backup.example.test.")),
		"CNAME":              result("CNAME", strs("api.example.test.")),
		"TXT":                result("TXT", strs("v=spf1 -all")),
		"null":               cty.NullVal(result("A", strs()).Type()),
		"unknown":            cty.UnknownVal(result("A", strs()).Type()),
		"no answers":         cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("A")}),
		"no type":            cty.ObjectVal(map[string]cty.Value{"answers": strs("192.0.2.10")}),
		"unknown type":       cty.ObjectVal(map[string]cty.Value{"type": cty.UnknownVal(cty.String), "answers": strs("192.0.2.10")}),
		"unknown answers":    cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("A"), "answers": cty.UnknownVal(cty.List(cty.String))}),
		"null answers":       cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("A"), "answers": cty.NullVal(cty.List(cty.String))}),
		"marked answer":      result("A", cty.ListVal([]cty.Value{cty.StringVal("192.0.2.10").Mark("secret")})),
		"marked type":        cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("A").Mark("secret"), "answers": strs("192.0.2.10")}),
		"a set of answers":   result("A", cty.SetVal([]cty.Value{cty.StringVal("192.0.2.10")})),
		"a tuple of answers": result("A", cty.TupleVal([]cty.Value{cty.StringVal("192.0.2.10")})),
		"a number type":      cty.ObjectVal(map[string]cty.Value{"type": cty.NumberIntVal(1), "answers": strs("192.0.2.10")}),
	}
	tuple := func(vs ...cty.Value) cty.Value { return cty.TupleVal(vs) }
	wants := map[string]cty.Value{
		"[192.0.2.10]":              strs("192.0.2.10"),
		"[ 192.0.2.10 ]":            strs(" 192.0.2.10 "),
		"[192.0.2.11]":              strs("192.0.2.11"),
		"three in another order":    strs("192.0.2.12", "192.0.2.10", "192.0.2.11"),
		"two of three":              strs("192.0.2.12", "192.0.2.10"),
		"twice the same":            strs("192.0.2.10", "192.0.2.10"),
		"[]":                        strs(),
		"[2001:DB8:0::10]":          strs("2001:DB8:0::10"),
		"MX in its own case":        strs("20 Backup.Example.Test", "10  mail.example.test"),
		"CNAME without the dot":     strs("Api.Example.Test"),
		"TXT":                       strs("v=spf1 -all"),
		"tuple":                     tuple(cty.StringVal("192.0.2.10")),
		"empty tuple":               cty.EmptyTupleVal,
		"tuple with a number":       tuple(cty.NumberIntVal(1)),
		"set":                       cty.SetVal([]cty.Value{cty.StringVal("192.0.2.10")}),
		"set of three":              cty.SetVal([]cty.Value{cty.StringVal("192.0.2.12"), cty.StringVal("192.0.2.10"), cty.StringVal("192.0.2.11")}),
		"empty set":                 cty.SetValEmpty(cty.String),
		"unknown":                   cty.UnknownVal(cty.List(cty.String)),
		"unknown element":           cty.ListVal([]cty.Value{cty.UnknownVal(cty.String)}),
		"null element":              cty.ListVal([]cty.Value{cty.NullVal(cty.String)}),
		"string":                    cty.StringVal("192.0.2.10"),
		"marked element":            cty.ListVal([]cty.Value{cty.StringVal("192.0.2.10").Mark("secret")}),
		"marked list":               strs("192.0.2.10").Mark("secret"),
		"number":                    cty.NumberIntVal(1),
		"list of numbers":           cty.ListVal([]cty.Value{cty.NumberIntVal(1)}),
		"[192.0.2.10, 192.0.2.99]":  strs("192.0.2.10", "192.0.2.99"),
		"[192.0.2.010] (not canon)": strs("192.0.2.010"),
	}
	met := 0
	for _, e := range []struct {
		name          string
		fast, decoded checks.Expectation
	}{
		{"answers", answersExpectation(), answersExpectationDecoded()},
		{"contains", containsExpectation(), containsExpectationDecoded()},
	} {
		met += kindtest.SameVerdicts(t, e.name, e.fast, e.decoded, wants, results)
	}
	if met < 20 {
		t.Errorf("only %d pairs were met: the table no longer tells the fast path's answers apart", met)
	}
}

// TestAnswersMetWithoutDecoding: met answers cost a few allocations, not
// the decoding of the whole result into a Result.
func TestAnswersMetWithoutDecoding(t *testing.T) {
	r := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("c0.bench.test."), "type": cty.StringVal("A"), "server": cty.StringVal("127.0.0.1:53"),
		"protocol": cty.StringVal("udp"), "rcode": cty.StringVal("NOERROR"), "answers": cty.ListVal([]cty.Value{cty.StringVal("127.0.0.1")}),
		"answer_count": cty.NumberIntVal(1), "ttl": cty.NumberIntVal(0),
		"authoritative": cty.True, "recursion_available": cty.True, "truncated": cty.False,
	})
	want := cty.ListVal([]cty.Value{cty.StringVal("127.0.0.1")})
	allocs := func(e checks.Expectation) float64 {
		return testing.AllocsPerRun(100, func() {
			if e.Compare(want, r) != nil {
				t.Fatal("answers not met")
			}
		})
	}
	fast, decoded := allocs(answersExpectation()), allocs(answersExpectationDecoded())
	if fast > 8 || fast >= decoded {
		t.Errorf("%v allocations to judge met answers (%v on the decoded result), want at most 8", fast, decoded)
	}
}
