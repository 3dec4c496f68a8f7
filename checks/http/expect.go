package http

import (
	"fmt"
	"math/big"
	"net"
	"regexp"
	"sort"
	"strings"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// previewRunes is how much of a body a diff line shows: enough to recognise
// the page, short enough to keep the report readable.
const previewRunes = 200

// expectStatus accepts one status or a list of statuses, any of which passes:
// status = 200, or status = [200, 204].
//
// Nearly every http check is judged on its status, so a status that is met
// is told from the result's status attribute alone (statusMet): Expect
// would first decode the whole result, headers, body and certificate, into
// a Result, which for one code costs more than the rest of judging the
// check (about 4 µs and 35 allocations). An unmet status, or one that
// statusMet cannot tell, goes the whole way, so every diff is Expect's.
func expectStatus() checks.Expectation {
	return expectStatusDecoded().MetWhen(statusMet)
}

// statusMet reports whether result's status is among the codes of want,
// as expectStatusDecoded judges it. It answers false whenever it cannot
// tell: a status or a code that is unknown, null, not a whole number in
// range (which statuses would reject, and which the loader does not let
// through), or a want of another type.
func statusMet(want, result cty.Value) bool {
	if !result.IsKnown() || result.IsNull() || !result.Type().IsObjectType() || !result.Type().HasAttribute("status") {
		return false
	}
	got, ok := statusCode(result.GetAttr("status"))
	if !ok {
		return false
	}
	t := want.Type()
	switch {
	case t == cty.Number:
		code, ok := statusCode(want)
		return ok && code == got
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		if !want.IsKnown() || want.IsNull() {
			return false
		}
		met := false
		for it := want.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.IsKnown() {
				continue // as statuses skips it
			}
			code, ok := statusCode(e)
			if !ok {
				return false // statuses rejects the whole list
			}
			met = met || code == got
		}
		return met
	}
	return false
}

// statusCode is v as a status code: a known whole number from 100 to 599.
func statusCode(v cty.Value) (int64, bool) {
	if !v.IsKnown() || v.IsNull() || v.IsMarked() || v.Type() != cty.Number {
		return 0, false
	}
	n, acc := v.AsBigFloat().Int64()
	return n, acc == big.Exact && 100 <= n && n <= 599
}

// expectStatusDecoded is the status expectation judged on the decoded
// result.
func expectStatusDecoded() checks.Expectation {
	return checks.Expect("status", "The status code, or a list of codes any of which passes: 200, [200, 204].", func(want cty.Value, got Result) *checks.Diff {
		codes, _ := statuses(want)
		for _, c := range codes {
			if c.Equals(cty.NumberIntVal(int64(got.Status))).True() {
				return nil
			}
		}
		expected := checks.Show(want)
		if len(codes) != 1 || !want.Type().Equals(cty.Number) {
			expected = "one of " + expected
		}
		return &checks.Diff{Expected: expected, Actual: checks.Literal(got.Status) + redirectNote(got)}
	}).Validated(func(v cty.Value) error {
		_, err := statuses(v)
		return err
	})
}

// statuses returns the codes of a status expectation: a number, or a list,
// tuple or set of numbers, each a status code from 100 to 599.
func statuses(v cty.Value) ([]cty.Value, error) {
	t := v.Type()
	var elems []cty.Value
	switch {
	case t == cty.Number:
		elems = []cty.Value{v}
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, e)
		}
		if len(elems) == 0 {
			return nil, fmt.Errorf("an empty list matches no status; write a code such as 200 or a list such as [200, 204]")
		}
	default:
		return nil, fmt.Errorf("status must be a number such as 200 or a list of numbers such as [200, 204], got %s", t.FriendlyName())
	}
	var codes []cty.Value
	for _, e := range elems {
		if !e.IsKnown() {
			continue
		}
		if e.IsNull() || e.Type() != cty.Number {
			return nil, fmt.Errorf("status must be a number such as 200 or a list of numbers such as [200, 204], got %s", checks.Show(v))
		}
		if err := checks.IntRange(100, 599)(e); err != nil {
			return nil, fmt.Errorf("a status code %v", err)
		}
		codes = append(codes, e)
	}
	return codes, nil
}

// redirectNote adds the Location of a redirect to the actual status, which
// tells a user who expected 200 where the URL sends them, and says when the
// redirect limit stopped a chain of them.
func redirectNote(r Result) string {
	if r.Location == "" || r.Status < 300 || r.Status > 399 {
		return ""
	}
	note := " (redirect to " + checks.Literal(r.Location)
	if r.Redirects >= MaxRedirects {
		note += fmt.Sprintf(", not followed: %d redirects is the most followed", MaxRedirects)
	}
	return note + ")"
}

func expectBodyContains() checks.Expectation {
	return checks.Expect("body_contains", "A string the body (its first body_limit bytes) must contain.", func(want string, got Result) *checks.Diff {
		if strings.Contains(got.Body, want) {
			return nil
		}
		return &checks.Diff{Field: "body", Expected: "contains " + checks.Literal(want), Actual: preview(got)}
	})
}

func expectBodyMatches() checks.Expectation {
	return checks.Expect("body_matches", "An RE2 regular expression the body (its first body_limit bytes) must match somewhere; (?s) lets . match newlines.", func(want string, got Result) *checks.Diff {
		re, err := regexp.Compile(want)
		if err == nil && re.MatchString(got.Body) {
			return nil
		}
		return &checks.Diff{Field: "body", Expected: "matches " + checks.Literal(want), Actual: preview(got)}
	}).Validated(checks.ValidRegexp)
}

// preview shows the start of the body and its size in a diff.
func preview(r Result) string {
	body := r.Body
	size := fmt.Sprintf("%d bytes", len(body))
	if r.BodyTruncated {
		size = fmt.Sprintf("first %d bytes read, body_limit reached", len(body))
	}
	runes := []rune(body)
	if len(runes) > previewRunes {
		return fmt.Sprintf("%q… (%s)", string(runes[:previewRunes]), size)
	}
	return fmt.Sprintf("%q (%s)", body, size)
}

// Header expectations. Exact values and regular expressions are two
// attributes rather than one with a marker such as "/regex/" inside the
// value, because real header values look like markers: a Location of
// "/login/" is a path, not a pattern.

func expectHeaders() checks.Expectation {
	return checks.Expect("headers", "Headers by name (any case) and the exact value each must have; several values of one header are joined with \", \".", func(want map[string]string, got Result) *checks.Diff {
		return compareHeaders(want, got, "=", func(w, got string) bool { return w == got })
	}).Validated(validHeaderNames)
}

func expectHeadersMatch() checks.Expectation {
	return checks.Expect("headers_match", "Headers by name (any case) and an RE2 regular expression each value must match; \"\" only requires the header to be present.", func(want map[string]string, got Result) *checks.Diff {
		return compareHeaders(want, got, "matches", func(w, got string) bool {
			re, err := regexp.Compile(w)
			return err == nil && re.MatchString(got)
		})
	}).Validated(func(v cty.Value) error {
		if err := validHeaderNames(v); err != nil {
			return err
		}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if !e.IsKnown() || e.IsNull() {
				continue
			}
			if _, err := regexp.Compile(e.AsString()); err != nil {
				return fmt.Errorf("the regular expression for header %q is invalid: %v", k.AsString(), err)
			}
		}
		return nil
	})
}

// compareHeaders checks every expected header and reports the unmet ones
// together in one diff line, each with what was expected and what was sent.
func compareHeaders(want map[string]string, r Result, op string, ok func(want, got string) bool) *checks.Diff {
	have := lowerKeys(r.Headers)
	wanted := lowerKeys(want)
	names := make([]string, 0, len(wanted))
	for name := range wanted {
		names = append(names, name)
	}
	sort.Strings(names)
	var expected, actual []string
	for _, name := range names {
		w := wanted[name]
		got, present := have[name]
		if present && ok(w, got) {
			continue
		}
		expected = append(expected, fmt.Sprintf("%s %s %q", name, op, w))
		if present {
			actual = append(actual, fmt.Sprintf("%s = %q", name, got))
		} else {
			actual = append(actual, name+" absent")
		}
	}
	if len(expected) == 0 {
		return nil
	}
	return &checks.Diff{Field: "headers", Expected: "{ " + strings.Join(expected, ", ") + " }", Actual: "{ " + strings.Join(actual, ", ") + " }"}
}

func expectHeadersAbsent() checks.Expectation {
	return checks.Expect("headers_absent", "Header names (any case) the answer must not carry, such as \"x-powered-by\".", func(want []string, got Result) *checks.Diff {
		have := lowerKeys(got.Headers)
		var names, present []string
		for _, n := range want {
			n = strings.ToLower(n)
			if v, ok := have[n]; ok {
				names = append(names, n)
				present = append(present, fmt.Sprintf("%s = %q", n, v))
			}
		}
		if len(names) == 0 {
			return nil
		}
		return &checks.Diff{Field: "headers", Expected: "no " + strings.Join(names, ", "), Actual: "{ " + strings.Join(present, ", ") + " }"}
	}).Validated(func(v cty.Value) error {
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsKnown() && !e.IsNull() && !isToken(e.AsString()) {
				return fmt.Errorf("%q is not a header name", e.AsString())
			}
		}
		return nil
	})
}

// lowerKeys returns headers by lower-case name.
func lowerKeys(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = v
	}
	return out
}

// expectCertDaysLeftMin is met when the server's certificate is valid for at
// least the given number of days; a plain http answer has no certificate and
// does not meet it.
func expectCertDaysLeftMin() checks.Expectation {
	return checks.Expect("cert_days_left_min", "Whole days the server's certificate must still be valid, at least; fails for plain http.", func(want int, got Result) *checks.Diff {
		d := &checks.Diff{Field: "cert_days_left", Expected: "at least " + checks.Literal(want)}
		switch {
		case got.TLSVersion == "":
			d.Actual = "no certificate (plain http)"
		case got.CertDaysLeft >= want:
			return nil
		default:
			d.Actual = fmt.Sprintf("%s (expires %s)", checks.Literal(got.CertDaysLeft), got.CertExpiry)
		}
		return d
	}).Validated(checks.IntRange(0, 100000))
}

// Load-time validation of arguments.

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), the
// syntax of methods and header names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validURL accepts absolute http and https URLs. A URL written without its
// scheme gets a message that shows the fix, rather than the parser's
// complaint about a colon in the first path segment.
func validURL(v cty.Value) error {
	s := v.AsString()
	if !strings.Contains(s, "://") {
		return fmt.Errorf("%q is not an absolute URL with scheme http or https; write it whole, such as \"http://%s\"", s, s)
	}
	return checks.ValidURL("http", "https")(v)
}

func validMethod(v cty.Value) error {
	if !isToken(v.AsString()) {
		return fmt.Errorf("%q is not an HTTP method; write one such as \"GET\", \"HEAD\" or \"POST\"", v.AsString())
	}
	return nil
}

func validHeaderNames(v cty.Value) error {
	var bad []string
	for it := v.ElementIterator(); it.Next(); {
		k, _ := it.Element()
		if !isToken(k.AsString()) {
			bad = append(bad, fmt.Sprintf("%q", k.AsString()))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s: not a header name (letters, digits and -, no spaces or colons)", strings.Join(bad, ", "))
	}
	return nil
}

func validRequestHeaders(v cty.Value) error {
	if err := validHeaderNames(v); err != nil {
		return err
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsKnown() && !e.IsNull() && strings.ContainsAny(e.AsString(), "\r\n\x00") {
			return fmt.Errorf("the value of header %q contains a line break or NUL, which HTTP does not allow", k.AsString())
		}
	}
	return nil
}

func validHostHeader(v cty.Value) error {
	s := v.AsString()
	if s == "" || strings.ContainsAny(s, " \t\r\n\x00/?#@") {
		return fmt.Errorf("%q is not a Host header; write a host name with an optional port, such as \"www.example.com\" or \"www.example.com:8080\"", s)
	}
	return nil
}

func validServerName(v cty.Value) error {
	s := v.AsString()
	if s == "" || strings.ContainsAny(s, " \t\r\n\x00/?#@[]") || (strings.Contains(s, ":") && net.ParseIP(s) == nil) {
		return fmt.Errorf("%q is not a TLS server name; write a host name without a port, such as \"www.example.com\"", s)
	}
	return nil
}
