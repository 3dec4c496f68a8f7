package report

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// fastJSON writes exactly what the general path writes, or declines.
func TestFastJSONIsCtyJSON(t *testing.T) {
	strs := []string{"", "open", `a "quoted" \\ path`, "<b>&amp;</b>", "tab\there\nnew", "\x00\x1f\x7f", "é ü 日本", "\u2028\u2029", "a\xffb", strings.Repeat("x", valueLimit+10), strings.Repeat("é", valueLimit)}
	var vals []cty.Value
	for _, s := range strs {
		vals = append(vals, cty.ObjectVal(map[string]cty.Value{
			"s": cty.StringVal(s), s + "key": cty.NumberIntVal(1),
			"list": cty.ListVal([]cty.Value{cty.StringVal(s), cty.NullVal(cty.String)}),
			"map":  cty.MapVal(map[string]cty.Value{s: cty.StringVal(s), "b": cty.StringVal("x")}),
		}))
	}
	vals = append(vals,
		cty.EmptyObjectVal,
		cty.ObjectVal(map[string]cty.Value{"n": cty.NumberFloatVal(0.1), "i": cty.NumberIntVal(-7), "big": cty.MustParseNumberVal("1e40"), "t": cty.True, "f": cty.False, "null": cty.NullVal(cty.Number)}),
		cty.ObjectVal(map[string]cty.Value{"empty": cty.ListValEmpty(cty.String), "emap": cty.MapValEmpty(cty.String), "nl": cty.NullVal(cty.List(cty.String))}),
		cty.ObjectVal(map[string]cty.Value{"inf": cty.PositiveInfinity}),
		cty.ObjectVal(map[string]cty.Value{"secret": cty.StringVal("x").Mark("sensitive")}),
		cty.ObjectVal(map[string]cty.Value{"unknown": cty.UnknownVal(cty.String)}),
		cty.ObjectVal(map[string]cty.Value{"set": cty.SetVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a")})}),
		cty.ObjectVal(map[string]cty.Value{"nested": cty.ObjectVal(map[string]cty.Value{"a": cty.True})}),
		cty.ObjectVal(map[string]cty.Value{"hops": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"ttl": cty.NumberIntVal(1)})})}),
		cty.ObjectVal(map[string]cty.Value{"dyn": cty.NullVal(cty.DynamicPseudoType)}),
	)
	fast := 0
	for _, v := range vals {
		got, ok := fastJSON(v)
		if !ok {
			continue
		}
		fast++
		p := plain(v)
		want, err := ctyjson.Marshal(p, p.Type())
		if err != nil {
			t.Errorf("fastJSON wrote %s for %#v, which the general path cannot write: %v", got, v, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("fastJSON(%#v)\n = %s\nwant %s", v, got, want)
		}
	}
	if fast < len(strs)+3 {
		t.Errorf("only %d of %d values took the fast path", fast, len(vals))
	}
	for _, v := range vals[len(vals)-7:] {
		if _, ok := fastJSON(v); ok {
			t.Errorf("fastJSON took %#v, which it should leave to the general path", v)
		}
	}
}
