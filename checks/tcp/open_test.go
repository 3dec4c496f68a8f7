package tcp

import (
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
)

// TestOpenMetAsDecoded: the open expectation gives what comparing the
// decoded result gives, for every expected value and result, met or not.
func TestOpenMetAsDecoded(t *testing.T) {
	result := func(open cty.Value, state string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"host": cty.StringVal("127.0.0.1"), "port": cty.NumberIntVal(80),
			"address": cty.StringVal("127.0.0.1:80"), "open": open, "state": cty.StringVal(state),
			"error": cty.StringVal("connection refused"), "duration_ms": cty.NumberFloatVal(0.5)})
	}
	wants := map[string]cty.Value{"true": cty.True, "false": cty.False, `"true"`: cty.StringVal("true")}
	results := map[string]cty.Value{
		"open": result(cty.True, Open), "closed": result(cty.False, Closed), "filtered": result(cty.False, Filtered),
		"open unknown": result(cty.UnknownVal(cty.Bool), Open), "open null": result(cty.NullVal(cty.Bool), Open),
		"null": cty.NullVal(cty.EmptyObject), "unknown": cty.UnknownVal(cty.EmptyObject), "empty": cty.EmptyObjectVal,
	}
	if met := kindtest.SameVerdicts(t, "open", expectOpen(), checks.Expect("open", "", compareOpen), wants, results); met == 0 {
		t.Error("no case met open")
	}
}

// TestOpenMetWithoutDecoding: a met open is judged without decoding the
// result, which takes a dozen allocations.
func TestOpenMetWithoutDecoding(t *testing.T) {
	fast := expectOpen().Compare
	r := cty.ObjectVal(map[string]cty.Value{"host": cty.StringVal("127.0.0.1"), "port": cty.NumberIntVal(80),
		"address": cty.StringVal("127.0.0.1:80"), "open": cty.True, "state": cty.StringVal(Open),
		"error": cty.StringVal(""), "duration_ms": cty.NumberFloatVal(0.5)})
	if n := testing.AllocsPerRun(100, func() { fast(cty.True, r) }); n > 2 {
		t.Errorf("a met open took %v allocations", n)
	}
}
