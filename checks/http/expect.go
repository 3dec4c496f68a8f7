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
func expectStatus() checks.Expectation {
	return checks.Expectation{
		Name: "status",
		Type: cty.DynamicPseudoType,
		Doc:  "The status code, or a list of codes any of which passes: 200, [200, 204].",
		Validate: func(v cty.Value) error {
			_, err := statuses(v)
			return err
		},
		Compare: func(want, result cty.Value) *checks.Diff {
			got := checks.Field(result, "status")
			codes, _ := statuses(want)
			for _, c := range codes {
				if got.Type() == cty.Number && got.IsKnown() && !got.IsNull() && got.Equals(c).True() {
					return nil
				}
			}
			expected := checks.Show(want)
			if len(codes) != 1 || !want.Type().Equals(cty.Number) {
				expected = "one of " + expected
			}
			return &checks.Diff{Field: "status", Expected: expected, Actual: checks.Show(got) + redirectNote(result)}
		},
	}
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
func redirectNote(result cty.Value) string {
	loc := checks.Field(result, "location")
	status := checks.Field(result, "status")
	if loc.Type() != cty.String || loc.IsNull() || !loc.IsKnown() || loc.AsString() == "" ||
		status.Type() != cty.Number || status.IsNull() || !status.IsKnown() || !strings.HasPrefix(checks.Show(status), "3") {
		return ""
	}
	note := " (redirect to " + checks.Show(loc)
	if n := checks.Field(result, "redirects"); n.Type() == cty.Number && !n.IsNull() && n.IsKnown() &&
		n.AsBigFloat().Cmp(big.NewFloat(MaxRedirects)) >= 0 {
		note += fmt.Sprintf(", not followed: %d redirects is the most followed", MaxRedirects)
	}
	return note + ")"
}

func expectBodyContains() checks.Expectation {
	return checks.Expectation{
		Name: "body_contains",
		Type: cty.String,
		Doc:  "A string the body (its first body_limit bytes) must contain.",
		Compare: func(want, result cty.Value) *checks.Diff {
			body := stringField(result, "body")
			if strings.Contains(body, want.AsString()) {
				return nil
			}
			return &checks.Diff{Field: "body", Expected: "contains " + checks.Show(want), Actual: preview(result)}
		},
	}
}

func expectBodyMatches() checks.Expectation {
	return checks.Expectation{
		Name:     "body_matches",
		Type:     cty.String,
		Doc:      "An RE2 regular expression the body (its first body_limit bytes) must match somewhere; (?s) lets . match newlines.",
		Validate: checks.ValidRegexp,
		Compare: func(want, result cty.Value) *checks.Diff {
			re, err := regexp.Compile(want.AsString())
			if err == nil && re.MatchString(stringField(result, "body")) {
				return nil
			}
			return &checks.Diff{Field: "body", Expected: "matches " + checks.Show(want), Actual: preview(result)}
		},
	}
}

// preview shows the start of the body and its size in a diff.
func preview(result cty.Value) string {
	body := stringField(result, "body")
	size := fmt.Sprintf("%d bytes", len(body))
	if t := checks.Field(result, "body_truncated"); t.Type() == cty.Bool && !t.IsNull() && t.IsKnown() && t.True() {
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
	return checks.Expectation{
		Name:     "headers",
		Type:     cty.Map(cty.String),
		Doc:      "Headers by name (any case) and the exact value each must have; several values of one header are joined with \", \".",
		Validate: validHeaderNames,
		Compare: func(want, result cty.Value) *checks.Diff {
			return compareHeaders(want, result, "=", func(w, got string) bool { return w == got })
		},
	}
}

func expectHeadersMatch() checks.Expectation {
	return checks.Expectation{
		Name: "headers_match",
		Type: cty.Map(cty.String),
		Doc:  "Headers by name (any case) and an RE2 regular expression each value must match; \"\" only requires the header to be present.",
		Validate: func(v cty.Value) error {
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
		},
		Compare: func(want, result cty.Value) *checks.Diff {
			return compareHeaders(want, result, "matches", func(w, got string) bool {
				re, err := regexp.Compile(w)
				return err == nil && re.MatchString(got)
			})
		},
	}
}

// compareHeaders checks every expected header and reports the unmet ones
// together in one diff line, each with what was expected and what was sent.
func compareHeaders(want, result cty.Value, op string, ok func(want, got string) bool) *checks.Diff {
	have := headerValues(result)
	wanted := map[string]string{}
	for it := want.ElementIterator(); it.Next(); {
		k, w := it.Element()
		if w.IsKnown() && !w.IsNull() {
			wanted[strings.ToLower(k.AsString())] = w.AsString()
		}
	}
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
	return checks.Expectation{
		Name: "headers_absent",
		Type: cty.List(cty.String),
		Doc:  "Header names (any case) the answer must not carry, such as \"x-powered-by\".",
		Validate: func(v cty.Value) error {
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.IsKnown() && !e.IsNull() && !isToken(e.AsString()) {
					return fmt.Errorf("%q is not a header name", e.AsString())
				}
			}
			return nil
		},
		Compare: func(want, result cty.Value) *checks.Diff {
			have := headerValues(result)
			var names, present []string
			for _, n := range checks.Strings(want) {
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
		},
	}
}

// headerValues returns the result's headers as a Go map.
func headerValues(result cty.Value) map[string]string {
	out := map[string]string{}
	h := checks.Field(result, "headers")
	if h.IsNull() || !h.IsKnown() || !h.CanIterateElements() {
		return out
	}
	for it := h.ElementIterator(); it.Next(); {
		k, v := it.Element()
		if v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			out[strings.ToLower(k.AsString())] = v.AsString()
		}
	}
	return out
}

// expectCertDaysLeftMin is met when the server's certificate is valid for at
// least the given number of days; a plain http answer has no certificate and
// does not meet it.
func expectCertDaysLeftMin() checks.Expectation {
	return checks.Expectation{
		Name:     "cert_days_left_min",
		Type:     cty.Number,
		Doc:      "Whole days the server's certificate must still be valid, at least; fails for plain http.",
		Validate: checks.IntRange(0, 100000),
		Compare: func(want, result cty.Value) *checks.Diff {
			expected := "at least " + checks.Show(want)
			if stringField(result, "tls_version") == "" {
				return &checks.Diff{Field: "cert_days_left", Expected: expected, Actual: "no certificate (plain http)"}
			}
			got := checks.Field(result, "cert_days_left")
			if got.Type() == cty.Number && got.IsKnown() && !got.IsNull() && got.AsBigFloat().Cmp(want.AsBigFloat()) >= 0 {
				return nil
			}
			return &checks.Diff{Field: "cert_days_left", Expected: expected,
				Actual: fmt.Sprintf("%s (expires %s)", checks.Show(got), stringField(result, "cert_expiry"))}
		},
	}
}

func stringField(result cty.Value, name string) string {
	v := checks.Field(result, name)
	if v.Type() != cty.String || v.IsNull() || !v.IsKnown() {
		return ""
	}
	return v.AsString()
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
