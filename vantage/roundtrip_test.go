package vantage

import (
	"fmt"
	"testing"

	"github.com/nettest/nettest/checks"
	_ "github.com/nettest/nettest/checks/all"
	"github.com/zclconf/go-cty/cty"
)

// TestArgsAndResultsRoundTrip sends every registered kind's arguments and
// results through the JSON the agent speaks, filled with made-up values of
// every declared type and with nulls, and requires the very same values,
// types included, back: a probe run at a vantage must see what it would see
// here, and its result must judge the same.
func TestArgsAndResultsRoundTrip(t *testing.T) {
	kinds := checks.Kinds()
	if len(kinds) < 10 {
		t.Fatalf("only %d kinds registered", len(kinds))
	}
	for _, k := range kinds {
		t.Run(k.Name, func(t *testing.T) {
			for _, variant := range []string{"values", "nulls", "defaults"} {
				args := sample(k.ArgsType(), variant)
				if variant == "defaults" {
					attrs := map[string]cty.Value{}
					for _, a := range k.Args {
						attrs[a.Name] = cty.NullVal(a.Type)
						if a.Default != cty.NilVal {
							attrs[a.Name] = a.Default
						}
					}
					args = cty.ObjectVal(attrs)
				}
				b, err := k.MarshalArgs(k.ArgsOf(args))
				if err != nil {
					t.Fatalf("%s args: %v", variant, err)
				}
				backArgs, err := k.UnmarshalArgs(b)
				if err != nil {
					t.Fatalf("%s args: %v\n%s", variant, err, b)
				}
				if back := k.Object(backArgs); !back.RawEquals(args) {
					t.Errorf("%s args changed on the way:\n sent %#v\n  got %#v\n JSON %s", variant, args, back, b)
				}
				if variant == "defaults" {
					continue
				}
				res := sample(k.Result, variant)
				b, err = k.MarshalResult(res)
				if err != nil {
					t.Fatalf("%s result: %v", variant, err)
				}
				back, err := k.UnmarshalResult(b)
				if err != nil {
					t.Fatalf("%s result: %v\n%s", variant, err, b)
				}
				if !back.RawEquals(res) {
					t.Errorf("%s result changed on the way:\n sent %#v\n  got %#v", variant, res, back)
				}
			}
		})
	}
}

// sample makes a value of type t: for "values" every attribute and
// element filled (numbers with fractions and beyond float64's exact
// integers, strings with quotes and non-ASCII), for "nulls" null
// attributes of the top-level object.
func sample(t cty.Type, variant string) cty.Value {
	switch {
	case t.IsObjectType():
		attrs := map[string]cty.Value{}
		for name, at := range t.AttributeTypes() {
			if variant == "nulls" {
				attrs[name] = cty.NullVal(at)
				continue
			}
			attrs[name] = sample(at, variant)
		}
		return cty.ObjectVal(attrs)
	case t == cty.String:
		return cty.StringVal("a \"quoted\" strïng\n\x01")
	case t == cty.Number:
		n, _ := cty.ParseNumberVal("12345678901234567890.125")
		return n
	case t == cty.Bool:
		return cty.True
	case t.IsListType():
		return cty.ListVal([]cty.Value{sample(t.ElementType(), variant), sample(t.ElementType(), variant)})
	case t.IsSetType():
		return cty.SetVal([]cty.Value{sample(t.ElementType(), variant)})
	case t.IsMapType():
		return cty.MapVal(map[string]cty.Value{"k": sample(t.ElementType(), variant)})
	case t.IsTupleType():
		var elems []cty.Value
		for _, et := range t.TupleElementTypes() {
			elems = append(elems, sample(et, variant))
		}
		return cty.TupleVal(elems)
	case t == cty.DynamicPseudoType:
		// An argument of any type: the agent must learn the type too.
		return cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(7), "l": cty.ListVal([]cty.Value{cty.StringVal("x")})})
	}
	panic(fmt.Sprintf("no sample for %s", t.FriendlyName()))
}
