package report

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// appendResult writes what encoding/json writes, byte for byte, or
// declines.
func TestResultLineIsEncodingJSON(t *testing.T) {
	texts := []string{"", "connection refused", `a "quoted" \ path`, "<b>&amp;</b>", "tab\there\nnew", "\x00\x1f\x7f", "é ü 日本", "\u2028", "a\xffb", strings.Repeat("x", 3000)}
	observed := cty.ObjectVal(map[string]cty.Value{"open": cty.True, "port": cty.NumberIntVal(80), "duration_ms": cty.NumberFloatVal(0.146), "host": cty.StringVal("<h>&"), "list": cty.ListVal([]cty.Value{cty.StringVal("a")})})
	// One that takes ctyjson's path (a set, a nested object, a sensitive
	// string, an unknown), whose JSON appendResult writes as it is too.
	general := cty.ObjectVal(map[string]cty.Value{"set": cty.SetVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a")}), "nested": cty.ObjectVal(map[string]cty.Value{"a": cty.ListVal([]cty.Value{cty.NumberIntVal(1)})}),
		"secret": cty.StringVal("x").Mark("sensitive"), "unknown": cty.UnknownVal(cty.String), "dyn": cty.NullVal(cty.DynamicPseudoType), "text": cty.StringVal(" a  b \t\n")})
	if _, ok := fastJSON(general); ok {
		t.Fatal("the general result took fastJSON's path")
	}
	outcomes := []runner.Outcome{{Address: "tcp.g", Kind: "tcp", Status: runner.Pass, AttemptsMade: 1, AttemptsAllowed: 1, Result: checks.ResultOf(general)}}
	for _, s := range texts {
		outcomes = append(outcomes,
			runner.Outcome{Address: `tcp.web["` + s + `"]`, Kind: "tcp", File: s, Line: 7, Status: runner.Pass, Duration: 1234567 * time.Nanosecond, AttemptsMade: 1, AttemptsAllowed: 1, Result: checks.ResultOf(observed)},
			runner.Outcome{Address: "tcp.a", Kind: "tcp", Status: runner.Fail, Message: s, Description: s, Tags: []string{"x", s}, DependsOn: []string{"dns.a", s}, Vantage: s, Capture: s,
				Diffs:      []checks.Diff{{Field: "open", Expected: s, Actual: "false (closed)"}, {Field: "assert", Expected: "self.open", Actual: "false: " + s}},
				DiffValues: []schema.DiffValues{{Expected: cty.True, Observed: cty.False}, {Expected: cty.StringVal(s), Observed: cty.NilVal}}, AttemptsMade: 2, AttemptsAllowed: 3},
			runner.Outcome{Address: "tcp.s", Kind: "tcp", Status: runner.Skip, Message: "dependency tcp.a did not pass (" + s + ")", Interrupted: true},
		)
	}
	for _, d := range []time.Duration{0, 1, time.Microsecond, 999, time.Hour, math.MaxInt64, -time.Second} {
		outcomes = append(outcomes, runner.Outcome{Address: "tcp.d", Kind: "tcp", Status: runner.Error, Message: "x", Duration: d})
	}
	fast := 0
	for _, o := range outcomes {
		r := NewResult(o)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		got, ok := appendResult(nil, &r, checks.Result{})
		if !ok {
			if o.Result.Value().RawEquals(general) {
				t.Error("appendResult declined the result of ctyjson's path")
			}
			continue
		}
		fast++
		if string(got) != want.String() {
			t.Errorf("appendResult\n = %s\nwant %s", got, want.String())
		}
		// As the writer calls it: the observed object written into the
		// line, after what is already in the buffer.
		prefix := []byte("previous line\n")
		r = newResult(o)
		got, ok = appendResult(prefix, &r, o.Result)
		if !ok || string(got) != string(prefix)+want.String() {
			t.Errorf("appendResult with the outcome's result (%t)\n = %s\nwant %s", ok, got, string(prefix)+want.String())
		}
	}
	// The general result, the three outcomes of each of the five texts of
	// printable ASCII (quotes and backslashes included: every for_each
	// instance's address has quotes) and the seven durations.
	if fast < 1+5*3+7 {
		t.Errorf("only %d of %d results took the fast path", fast, len(outcomes))
	}
	r := NewResult(outcomes[0])
	r.DurationMS = math.NaN()
	if _, ok := appendResult(nil, &r, checks.Result{}); ok {
		t.Error("appendResult took a NaN duration, which encoding/json refuses")
	}
	r.DurationMS, r.Diffs = 1, nil
	if _, ok := appendResult(nil, &r, checks.Result{}); ok {
		t.Error("appendResult took nil diffs, which encoding/json writes null")
	}
}

// A result that is still the probe's Go struct is written from its fields
// (appendAttrs) as its object is written (fastJSON), for every kind of
// field a result has and the values that are written otherwise: texts to
// escape, to cut and to normalise, numbers past 2^53, nil and empty lists
// and maps.
func TestAttrsAreTheObject(t *testing.T) {
	type config struct{}
	type result struct {
		Text   string            `cty:"text"`
		Open   bool              `cty:"open"`
		Port   int               `cty:"port"`
		Count  int64             `cty:"count"`
		Ratio  float64           `cty:"ratio"`
		RTT    *float64          `cty:"rtt"`
		Via    *string           `cty:"via"`
		Names  []string          `cty:"names"`
		Header map[string]string `cty:"header"`
	}
	texts := []string{"", "open", `a "quoted" \ path`, "<b>&amp;</b>", "tab\there\nnew", "\x00\x1f\x7f", "é ü 日本", "e\u0301", "\u2028", strings.Repeat("x", valueLimit+10), strings.Repeat("e\u0301", valueLimit)}
	var results []result
	for k, s := range texts {
		results = append(results,
			result{Text: s, Open: k%2 == 0, Port: k * 1000, Count: int64(k) << 55, Ratio: float64(k) / 7, RTT: new(float64(k) * 0.125), Via: new(s), Names: []string{s, "b"}, Header: map[string]string{"b": s, "a": "x"}},
			result{Text: s, Port: -k, Count: -1 << 60, Ratio: float64(k) * 1e22, Names: []string{}, Header: map[string]string{}},
			result{Text: s, Ratio: math.Copysign(0, -1)},
		)
	}
	for _, r := range results {
		probe := checks.Typed(config{}, func(context.Context, config) (result, error) { return r, nil })
		res, err := probe.CallArgs(context.Background(), checks.Args{}, time.Now().Add(-1234567*time.Nanosecond))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if !appendAttrs(&buf, res) {
			t.Fatalf("%+v: not written from its fields", r)
		}
		want, ok := fastJSON(res.Value())
		if !ok {
			t.Fatalf("%+v: its object did not take fastJSON's path", r)
		}
		if buf.String() != string(want) {
			t.Errorf("written from its fields\n = %s\nwant %s", buf.String(), want)
		}
		if got := observedJSON(res); string(got) != string(want) {
			t.Errorf("observedJSON\n = %s\nwant %s", got, want)
		}
	}
	// An object is written as it always was.
	if appendAttrs(new(bytes.Buffer), checks.ResultOf(cty.ObjectVal(map[string]cty.Value{"open": cty.True}))) {
		t.Error("appendAttrs wrote a result that is an object")
	}
}
