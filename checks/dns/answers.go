package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	miekg "github.com/miekg/dns"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// format writes one answer the way the documentation promises, close to the
// record data dig prints:
//
//	A, AAAA          192.0.2.10, 2001:db8::10
//	CNAME, NS, PTR   target.example.com.
//	MX               10 mail.example.com.
//	SRV              priority weight port target.example.com.
//	SOA              mname rname serial refresh retry expire minimum
//	TXT              the strings of the record joined with nothing between
//	CAA              0 issue "letsencrypt.org"
//
// Names are absolute (trailing dot) and in lower case, because DNS compares
// names without regard to case and a server may echo any mix of cases.
func format(rr miekg.RR) string {
	switch rr := rr.(type) {
	case *miekg.A:
		return rr.A.String()
	case *miekg.AAAA:
		return rr.AAAA.String()
	case *miekg.CNAME:
		return lowerName(rr.Target)
	case *miekg.NS:
		return lowerName(rr.Ns)
	case *miekg.PTR:
		return lowerName(rr.Ptr)
	case *miekg.MX:
		return fmt.Sprintf("%d %s", rr.Preference, lowerName(rr.Mx))
	case *miekg.SRV:
		return fmt.Sprintf("%d %d %d %s", rr.Priority, rr.Weight, rr.Port, lowerName(rr.Target))
	case *miekg.SOA:
		return fmt.Sprintf("%s %s %d %d %d %d %d", lowerName(rr.Ns), lowerName(rr.Mbox), rr.Serial, rr.Refresh, rr.Retry, rr.Expire, rr.Minttl)
	case *miekg.TXT:
		// SPF and DKIM records longer than 255 bytes are split into several
		// strings that mean their concatenation (RFC 7208, 3.3).
		return strings.Join(rr.Txt, "")
	case *miekg.CAA:
		return fmt.Sprintf("%d %s %s", rr.Flag, rr.Tag, strconv.Quote(rr.Value))
	}
	// Not reached for the supported types; the presentation format is a
	// readable fallback.
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

func lowerName(s string) string {
	return miekg.Fqdn(strings.ToLower(s))
}

// normalise brings an expected answer to the form format gives, so that
// "Mail.Example.com" matches "10 mail.example.com." in an MX answer and
// "2001:DB8::1" matches "2001:db8::1": users write names as they please, the
// comparison is the one DNS itself makes. Text that does not parse is left as
// written, and will show in the diff. TXT and CAA values are text, and
// compared exactly (docs/dns.md): a TXT record may begin or end with a
// space, and "v=spf1 -all " is not "v=spf1 -all".
func normalise(qtype, s string) string {
	if qtype == "TXT" || qtype == "CAA" {
		return s
	}
	s = strings.TrimSpace(s)
	switch qtype {
	case "A", "AAAA":
		if ip, err := netip.ParseAddr(s); err == nil {
			return ip.String()
		}
		return s
	case "CNAME", "NS", "PTR":
		if s != "" && !strings.ContainsFunc(s, unicode.IsSpace) {
			return lowerName(s)
		}
		return s
	case "MX", "SRV", "SOA":
	default:
		return s
	}
	f := strings.Fields(s)
	name := func(i int) {
		if i < len(f) {
			f[i] = lowerName(f[i])
		}
	}
	switch qtype {
	case "MX":
		name(1)
	case "SRV":
		name(3)
	case "SOA":
		name(0)
		name(1)
	}
	return strings.Join(f, " ")
}

// normalised writes the expected answers as the probe writes answers of
// the type it asked (read from the result, since expectations do not see
// the arguments).
func normalised(want []string, qtype string) []string {
	out := make([]string, len(want))
	for i, s := range want {
		out[i] = normalise(qtype, s)
	}
	return out
}

// answersExpectation is met when the answers are exactly the expected set,
// in any order: the order of A records changes from query to query on a
// round-robin server.
//
// Nearly every dns check is judged on its answers, so answers that are met
// are told from the result's type and answers attributes alone (metOn):
// Expect would first decode the whole result into a Result, which costs
// more than the rest of judging the check. Answers that are not met, or
// that metOn cannot tell, go the whole way, so every diff is Expect's.
func answersExpectation() checks.Expectation {
	return metOn(answersExpectationDecoded(), sameAnswers)
}

// containsExpectation is met when every expected answer is among the
// answers, which may hold more; a met one is told as answersExpectation's.
func containsExpectation() checks.Expectation {
	return metOn(containsExpectationDecoded(), func(want []string, qtype string, answers []string) bool {
		for _, s := range want {
			if !slices.Contains(answers, normalise(qtype, s)) {
				return false
			}
		}
		return true
	})
}

// metOn returns e judging first with met on the expected strings and the
// result's type and answers, and with e's own Compare when met is false
// or the values are not plain: a list or set of known strings, and a
// result object with a known string type and a known list of answers, none
// of them marked or null.
func metOn(e checks.Expectation, met func(want []string, qtype string, answers []string) bool) checks.Expectation {
	return e.MetWhen(func(want, result cty.Value) bool {
		if !result.IsKnown() || result.IsNull() || !result.Type().IsObjectType() ||
			!result.Type().HasAttribute("type") || !result.Type().HasAttribute("answers") {
			return false
		}
		qtype := result.GetAttr("type")
		if qtype.Type() != cty.String || !qtype.IsKnown() || qtype.IsNull() || qtype.IsMarked() {
			return false
		}
		w, ok := plainStrings(want)
		if !ok {
			return false
		}
		answers, ok := plainStrings(result.GetAttr("answers"))
		return ok && met(w, qtype.AsString(), answers)
	})
}

// plainStrings is the strings of a known list or set of known strings, in
// the order gocty decodes them into a []string, or false.
func plainStrings(v cty.Value) ([]string, bool) {
	t := v.Type()
	if !t.IsListType() && !t.IsSetType() || !v.IsKnown() || v.IsNull() || v.IsMarked() {
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.Type() != cty.String || !e.IsKnown() || e.IsNull() || e.IsMarked() {
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// answersExpectationDecoded is the answers expectation judged on the
// decoded result.
func answersExpectationDecoded() checks.Expectation {
	return checks.Expect("answers", "The exact set of answers of the asked type, in any order, written as the answers result field shows them; [] requires no answer.",
		func(want []string, got Result) *checks.Diff {
			if sameAnswers(want, got.Type, got.Answers) {
				return nil
			}
			return &checks.Diff{Expected: checks.Literal(want), Actual: checks.Literal(got.Answers)}
		})
}

// containsExpectationDecoded is the contains expectation judged on the
// decoded result.
func containsExpectationDecoded() checks.Expectation {
	return checks.Expect("contains", "Answers that must be among the answers, which may hold others too.", func(want []string, got Result) *checks.Diff {
		var missing []string
		for i, s := range normalised(want, got.Type) {
			if !slices.Contains(got.Answers, s) {
				missing = append(missing, strconv.Quote(want[i]))
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return &checks.Diff{
			Field:    "answers",
			Expected: "contains " + checks.Literal(want),
			Actual:   checks.Literal(got.Answers) + " (missing " + strings.Join(missing, ", ") + ")",
		}
	})
}

// sameAnswers tells whether the expected answers, once normalised, are the
// set of answers. One address written as the probe writes it (as most
// expectations are) is compared as it is: format writes an A or AAAA
// answer as normalise would.
func sameAnswers(want []string, qtype string, answers []string) bool {
	switch {
	case len(want) != len(answers):
		return false
	case len(want) == 1 && want[0] == answers[0] && (qtype == "A" || qtype == "AAAA"):
		return true
	case len(want) == 1:
		return normalise(qtype, want[0]) == answers[0]
	}
	return sameSet(normalised(want, qtype), answers)
}

func sameSet(a, b []string) bool {
	switch {
	case len(a) != len(b):
		return false
	case len(a) == 1:
		return a[0] == b[0] // most expectations are one address
	}
	a, b = sorted(a), sorted(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sorted(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

// rcodeExpectation compares response codes by their value, so "nxdomain"
// and the old spelling "NOTIMPL" work as well.
func rcodeExpectation() checks.Expectation {
	e := checks.Expect("rcode", `The response code: "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP", … (any case).`, func(want string, got Result) *checks.Diff {
		w, ok1 := miekg.StringToRcode[strings.ToUpper(want)]
		g, ok2 := miekg.StringToRcode[got.Rcode]
		if ok1 && ok2 && w == g {
			return nil
		}
		return &checks.Diff{Expected: checks.Literal(want), Actual: checks.Literal(got.Rcode)}
	})
	return e.Validated(validRcode)
}

func validRcode(v cty.Value) error {
	if _, ok := miekg.StringToRcode[strings.ToUpper(v.AsString())]; ok {
		return nil
	}
	return fmt.Errorf("%q is not a DNS response code; use one of \"NOERROR\", \"NXDOMAIN\", \"SERVFAIL\", \"REFUSED\", \"FORMERR\", \"NOTIMP\"", v.AsString())
}

// rcodeName is the mnemonic of a response code, or its number when it has
// none.
func rcodeName(code int) string {
	if s, ok := miekg.RcodeToString[code]; ok {
		return s
	}
	return strconv.Itoa(code)
}
