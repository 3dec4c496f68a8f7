package http

import (
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
)

// TestStatusMetAsDecoded: the status expectation, which tells a met status
// from the result's status alone, judges every expected value and result as
// the expectation over the decoded result does, met or not, with the same
// diff: valid codes and lists, values the loader would reject, unknown
// values, results without a status.
func TestStatusMetAsDecoded(t *testing.T) {
	result := func(status int, location string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"status": num(status), "location": str(location), "redirects": num(0), "url": str("http://127.0.0.1/"),
		})
	}
	results := map[string]cty.Value{
		"200":               result(200, ""),
		"204":               result(204, ""),
		"301 with location": result(301, "/elsewhere"),
		"999":               result(999, ""),
		"null":              cty.NullVal(cty.Object(map[string]cty.Type{"status": cty.Number})),
		"unknown":           cty.UnknownVal(cty.Object(map[string]cty.Type{"status": cty.Number})),
		"no status":         cty.ObjectVal(map[string]cty.Value{"url": str("http://127.0.0.1/")}),
		"unknown status":    cty.ObjectVal(map[string]cty.Value{"status": cty.UnknownVal(cty.Number)}),
		"fractional status": cty.ObjectVal(map[string]cty.Value{"status": cty.NumberFloatVal(200.5)}),
	}
	tuple := func(vs ...cty.Value) cty.Value { return cty.TupleVal(vs) }
	wants := map[string]cty.Value{
		"200":                   num(200),
		"301":                   num(301),
		"404":                   num(404),
		"200.5":                 cty.NumberFloatVal(200.5),
		"99":                    num(99),
		"600":                   num(600),
		"unknown":               cty.UnknownVal(cty.Number),
		"string":                str("200"),
		"[200, 204]":            tuple(num(200), num(204)),
		"list(204)":             cty.ListVal([]cty.Value{num(204)}),
		"set(200, 301)":         cty.SetVal([]cty.Value{num(200), num(301)}),
		"[]":                    cty.EmptyTupleVal,
		"[200, 600]":            tuple(num(200), num(600)),
		"[200, \"x\"]":          tuple(num(200), str("x")),
		"[200, null]":           tuple(num(200), cty.NullVal(cty.Number)),
		"[unknown, 200]":        tuple(cty.UnknownVal(cty.Number), num(200)),
		"[unknown]":             tuple(cty.UnknownVal(cty.Number)),
		"unknown list":          cty.UnknownVal(cty.List(cty.Number)),
		"bool":                  cty.True,
		"map":                   cty.MapVal(map[string]cty.Value{"a": num(200)}),
		"list of huge numbers":  cty.ListVal([]cty.Value{cty.MustParseNumberVal("1e100")}),
		"negative":              num(-200),
		"[204, 200, 200]":       tuple(num(204), num(200), num(200)),
		"list(200) unknown elt": cty.ListVal([]cty.Value{cty.UnknownVal(cty.Number), num(200)}),
	}
	if met := kindtest.SameVerdicts(t, "status", expectStatus(), expectStatusDecoded(), wants, results); met < 10 {
		t.Errorf("only %d pairs were met: the table no longer tells the fast path's answers apart", met)
	}
}

// TestStatusMetWithoutDecoding: a met status costs a few allocations, not
// the decoding of the whole result into a Result.
func TestStatusMetWithoutDecoding(t *testing.T) {
	r := cty.ObjectVal(map[string]cty.Value{
		"status": num(200), "headers": cty.MapVal(map[string]cty.Value{"content-type": str("text/plain"), "date": str("today")}),
		"body": str("ok\n"), "cert_dns_names": cty.ListValEmpty(cty.String), "url": str("http://127.0.0.1/"),
	})
	allocs := func(compare func(want, result cty.Value) *checks.Diff) float64 {
		return testing.AllocsPerRun(100, func() {
			if compare(num(200), r) != nil {
				t.Fatal("status 200 not met")
			}
		})
	}
	fast, decoded := allocs(expectStatus().Compare), allocs(expectStatusDecoded().Compare)
	if fast > 8 || fast > decoded/2 {
		t.Errorf("%v allocations to judge a met status (%v on the decoded result), want at most 8", fast, decoded)
	}
}
