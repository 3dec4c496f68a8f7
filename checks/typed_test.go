package checks

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

type typedResult struct {
	Name    string            `cty:"name"`
	Count   int               `cty:"count"`
	Ratio   float64           `cty:"ratio"`
	OK      bool              `cty:"ok"`
	Headers map[string]string `cty:"headers"`
	Answers []string          `cty:"answers"`
	Hops    []int             `cty:"hops"`
	RTT     *float64          `cty:"rtt"`
	Via     *string           `cty:"via"`
}

// Typed's own encoding of strings, numbers, bools and maps and lists of
// strings gives exactly the value gocty gives, nil and empty included.
func TestTypedEncodesAsGocty(t *testing.T) {
	for _, r := range []typedResult{
		{},
		{Name: "e\u0301", Headers: map[string]string{}, Answers: []string{}, Hops: []int{}},
		{Name: "web", Count: 3, Ratio: 0.5, OK: true, Headers: map[string]string{"Server": "nginx", "X": ""}, Answers: []string{"b", "a", "a"}, Hops: []int{1, 2}},
		{RTT: new(0.125), Via: new("e\u0301")},
		{RTT: new(0.0), Via: new("")},
	} {
		probe := Typed(struct{}{}, func(context.Context, struct{}) (typedResult, error) { return r, nil })
		got, err := probe.Call(context.Background(), cty.EmptyObjectVal)
		if err != nil {
			t.Fatal(err)
		}
		want, err := gocty.ToCtyValue(r, TypeOf[typedResult]())
		if err != nil {
			t.Fatal(err)
		}
		if !got.RawEquals(want) {
			t.Errorf("encoded %#v\n as %#v,\nwant %#v", r, got, want)
		}
	}
}

// Typed's own decoding gives exactly the struct gocty gives, for the same
// values encoded, nil and empty included; a value it does not decode
// itself (a null element) gets gocty's error.
func TestTypedDecodesAsGocty(t *testing.T) {
	for _, r := range []typedResult{
		{},
		{Name: "e\u0301", Headers: map[string]string{}, Answers: []string{}, Hops: []int{}},
		{Name: "web", Count: 3, Ratio: 0.5, OK: true, Headers: map[string]string{"Server": "nginx", "X": ""}, Answers: []string{"b", "a", "a"}, Hops: []int{1, 2}},
		{RTT: new(0.125), Via: new("e\u0301")},
		{RTT: new(0.0), Via: new("")},
	} {
		v, err := gocty.ToCtyValue(r, TypeOf[typedResult]())
		if err != nil {
			t.Fatal(err)
		}
		var got, want typedResult
		if err := fieldsOf(reflect.TypeFor[typedResult](), cty.NilType).decode(v, reflect.ValueOf(&got).Elem()); err != nil {
			t.Fatal(err)
		}
		if err := gocty.FromCtyValue(v, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decoded %#v\n as %#v,\nwant %#v", v, got, want)
		}
	}
	withNull := cty.ObjectVal(map[string]cty.Value{
		"answers": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.NullVal(cty.String)}),
	})
	var got typedResult
	err := fieldsOf(reflect.TypeFor[typedResult](), cty.NilType).decode(withNull, reflect.ValueOf(&got).Elem())
	if err == nil || !strings.Contains(err.Error(), "answers") {
		t.Errorf("a null element decoded with error %v, want gocty's error naming the attribute", err)
	}
}

// fromCty sets what gocty.FromCtyValue sets, for the values it takes
// without reflection and for those it leaves to gocty.
func TestFromCtyIsGocty(t *testing.T) {
	str := func(ss ...string) cty.Value {
		vals := make([]cty.Value, len(ss))
		for k, s := range ss {
			vals[k] = cty.StringVal(s)
		}
		return cty.ListVal(vals)
	}
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	values := []cty.Value{cty.ListValEmpty(cty.String), str("a"), str("b", "a", "é"), str(many...), str(many[:16]...), cty.NullVal(cty.List(cty.String)),
		cty.ListVal([]cty.Value{cty.StringVal("a"), cty.NullVal(cty.String)}), cty.ListVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
		cty.True, cty.StringVal("x"), cty.NumberIntVal(7), cty.NumberFloatVal(7.5)}
	for _, v := range values {
		var got, want []string
		gerr, werr := fromCty(v, &got), gocty.FromCtyValue(v, &want)
		if (gerr == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("fromCty(%#v) = %#v, %v; gocty gives %#v, %v", v, got, gerr, want, werr)
		}
		var gi, wi int
		gerr, werr = fromCty(v, &gi), gocty.FromCtyValue(v, &wi)
		if (gerr == nil) != (werr == nil) || gi != wi {
			t.Errorf("fromCty(%#v) into an int = %d, %v; gocty gives %d, %v", v, gi, gerr, wi, werr)
		}
	}
	for _, v := range []cty.Value{cty.True, cty.False, cty.NullVal(cty.Bool), cty.StringVal("true"), cty.ListVal([]cty.Value{cty.True})} {
		var got, want bool
		gerr, werr := fromCty(v, &got), gocty.FromCtyValue(v, &want)
		if (gerr == nil) != (werr == nil) || got != want {
			t.Errorf("fromCty(%#v) into a bool = %t, %v; gocty gives %t, %v", v, got, gerr, want, werr)
		}
	}
}

// IsTrue is True for the known, unmarked true alone, and neither panics
// nor is fooled by a value of another type.
func TestIsTrue(t *testing.T) {
	for _, c := range []struct {
		v    cty.Value
		want bool
	}{
		{cty.True, true},
		{cty.BoolVal(true), true},
		{cty.False, false},
		{cty.True.Mark("sensitive"), false},
		{cty.UnknownVal(cty.Bool), false},
		{cty.NullVal(cty.Bool), false},
		{cty.NilVal, false},
		{cty.StringVal("true"), false},
		{cty.ListVal([]cty.Value{cty.True}), false},
		{cty.ObjectVal(map[string]cty.Value{"a": cty.True}), false},
		{cty.MapVal(map[string]cty.Value{"a": cty.True}), false},
	} {
		if got := IsTrue(c.v); got != c.want {
			t.Errorf("IsTrue(%#v) = %t, want %t", c.v, got, c.want)
		}
		if c.v.Type() == cty.Bool && c.v.IsKnown() && !c.v.IsNull() && !c.v.IsMarked() && c.v.True() != c.want {
			t.Errorf("IsTrue(%#v) is not True()", c.v)
		}
	}
}
