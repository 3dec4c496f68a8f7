package schema

import (
	"fmt"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// toset's fast path gives exactly what cty's toset gives, marks and
// unknowns included, and cty's own errors where it does not apply.
func TestToSetIsCtys(t *testing.T) {
	ctys := stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType))
	for _, v := range []cty.Value{
		cty.TupleVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a"), cty.StringVal("b")}),
		cty.TupleVal([]cty.Value{cty.NumberIntVal(2), cty.NumberIntVal(1)}),
		cty.TupleVal([]cty.Value{cty.True}),
		cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1)}),
		cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
		cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("s").Mark(sensitiveMark)}),
		cty.TupleVal([]cty.Value{cty.StringVal("a")}).Mark(sensitiveMark),
		cty.TupleVal([]cty.Value{cty.ListValEmpty(cty.String)}),
		cty.EmptyTupleVal,
		cty.NullVal(cty.Tuple([]cty.Type{cty.String})),
		cty.UnknownVal(cty.Tuple([]cty.Type{cty.String})),
		cty.ListVal([]cty.Value{cty.StringVal("a")}),
		cty.StringVal("not a collection"),
	} {
		want, wantErr := ctys.Call([]cty.Value{v})
		got, err := toSetFunc.Call([]cty.Value{v})
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || (err == nil && !got.RawEquals(want)) {
			t.Errorf("toset(%#v) = %#v, %v; want %#v, %v", v, got, err, want, wantErr)
		}
	}
}
