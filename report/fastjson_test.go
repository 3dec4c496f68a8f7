package report

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
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

// writeNumber writes what big.Float's Text('f', -1) writes for the numbers
// of results: integers (ports, counts) and durations in milliseconds to the
// microsecond, however long.
func TestWriteNumber(t *testing.T) {
	check := func(f *big.Float) {
		t.Helper()
		var b bytes.Buffer
		writeNumber(&b, f)
		if want := f.Text('f', -1); b.String() != want {
			t.Fatalf("writeNumber(%s, prec %d) = %s, want %s", f.Text('g', 20), f.Prec(), b.String(), want)
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for k := int64(-2000); k < 20_000; k++ {
		check(new(big.Float).SetInt64(k))
		check(new(big.Float).SetFloat64(float64(k) / 1000))
	}
	for range 10_000 {
		k := rnd.Int64N(1 << 53)
		check(new(big.Float).SetInt64(k))
		check(new(big.Float).SetInt64(-k))
		check(new(big.Float).SetFloat64(float64(k)))
		check(new(big.Float).SetFloat64(float64(k) / 1000))
		check(new(big.Float).SetFloat64(float64(rnd.Int64N(1e12)) / 1000))
		check(new(big.Float).SetFloat64(rnd.NormFloat64()))
	}
	for _, s := range []string{"0", "-0", "1e40", "0.1", "1e-7", "9007199254740993", "123456789012345678901234567890", "3.14159265358979323846264338327950288"} {
		f, _, err := big.ParseFloat(s, 10, 512, big.ToNearestEven)
		if err != nil {
			t.Fatal(err)
		}
		check(f)
		check(new(big.Float).SetPrec(53).Set(f))
		check(new(big.Float).SetPrec(64).Set(f))
	}
	check(new(big.Float).SetFloat64(math.Copysign(0, -1)))
	check(new(big.Float).SetFloat64(1 << 60))
	check(new(big.Float).SetFloat64(0.125))
}

// writeInt and writeFloat write a Go result's numbers as writeNumber
// writes their cty values.
func TestWriteIntAndFloat(t *testing.T) {
	checkInt := func(n int64) {
		t.Helper()
		var got, want bytes.Buffer
		writeInt(&got, n)
		writeNumber(&want, cty.NumberIntVal(n).AsBigFloat())
		if got.String() != want.String() {
			t.Fatalf("writeInt(%d) = %s, want %s", n, got.String(), want.String())
		}
	}
	checkFloat := func(x float64) {
		t.Helper()
		var got, want bytes.Buffer
		writeFloat(&got, x)
		writeNumber(&want, cty.NumberFloatVal(x).AsBigFloat())
		if got.String() != want.String() {
			t.Fatalf("writeFloat(%v) = %s, want %s", x, got.String(), want.String())
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for k := int64(-2000); k < 20_000; k++ {
		checkInt(k)
		checkFloat(float64(k))
		checkFloat(float64(k) / 1000)
	}
	for range 10_000 {
		k := rnd.Int64N(1 << 62)
		checkInt(k)
		checkInt(-k)
		checkFloat(float64(k))
		checkFloat(float64(k) / 1000)
		checkFloat(float64(rnd.Int64N(1e12)) / 1000)
		checkFloat(rnd.NormFloat64())
		checkFloat(rnd.NormFloat64() * 1e30)
		checkFloat(math.Float64frombits(rnd.Uint64() &^ (0x7ff << 52))) // subnormals and tiny numbers
	}
	for _, n := range []int64{math.MaxInt64, math.MinInt64, 1 << 53, -1 << 53, 1<<53 - 1, -(1<<53 - 1), 1<<53 + 1} {
		checkInt(n)
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1 << 53, 1<<53 + 2, -(1 << 53), 1e21, 1e-7, 0.1, 0.0005, 9007199254740.993, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		checkFloat(x)
	}
}
