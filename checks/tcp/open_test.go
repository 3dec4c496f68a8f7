package tcp

import (
	"reflect"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// TestOpenMetAsDecoded: the open expectation gives what comparing the
// decoded result gives, for every expected value and result, met or not.
func TestOpenMetAsDecoded(t *testing.T) {
	fast := expectOpen().Compare
	decoded := checks.Expect("open", "", compareOpen).Compare
	result := func(open cty.Value, state string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"host": cty.StringVal("127.0.0.1"), "port": cty.NumberIntVal(80),
			"address": cty.StringVal("127.0.0.1:80"), "open": open, "state": cty.StringVal(state),
			"error": cty.StringVal("connection refused"), "duration_ms": cty.NumberFloatVal(0.5)})
	}
	wants := []cty.Value{cty.True, cty.False, cty.StringVal("true")}
	results := []cty.Value{
		result(cty.True, Open), result(cty.False, Closed), result(cty.False, Filtered),
		result(cty.UnknownVal(cty.Bool), Open), result(cty.NullVal(cty.Bool), Open),
		cty.NullVal(cty.EmptyObject), cty.UnknownVal(cty.EmptyObject), cty.EmptyObjectVal,
	}
	met := 0
	for _, w := range wants {
		for _, r := range results {
			got, gotPanic := call(fast, w, r)
			want, wantPanic := call(decoded, w, r)
			if !reflect.DeepEqual(got, want) || gotPanic != wantPanic {
				t.Errorf("open = %#v on %#v: %+v (panic %v), decoded %+v (panic %v)", w, r, got, gotPanic, want, wantPanic)
			}
			if got == nil {
				met++
			}
		}
	}
	if met == 0 {
		t.Error("no case met open")
	}
}

// call is compare(want, result), and whether it panicked (the decoded
// path does on a result that is not wholly known, which no probe returns).
func call(compare func(want, result cty.Value) *checks.Diff, want, result cty.Value) (d *checks.Diff, panicked bool) {
	defer func() { panicked = recover() != nil }()
	return compare(want, result), false
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
