package checks

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// sample has a field of every shape Typed converts itself and of shapes
// it leaves to gocty.
type sample struct {
	Name    string            `cty:"name"`
	Count   int               `cty:"count,optional"`
	Ratio   float64           `cty:"ratio,optional"`
	On      bool              `cty:"on,optional"`
	Tags    []string          `cty:"tags,optional"`
	Headers map[string]string `cty:"headers,optional"`
	Limit   *int              `cty:"limit"`
	Big     int64             `cty:"big,optional"`
}

var sampleDocs = map[string]ArgDoc{
	"name": {Doc: "A name."}, "count": {Doc: "A count."}, "ratio": {Doc: "A ratio."}, "on": {Doc: "A switch."},
	"tags": {Doc: "Tags."}, "headers": {Doc: "Headers."}, "limit": {Doc: "A limit."}, "big": {Doc: "A large number."},
}

// sampleResult is sample as a result: a result's tags have no options.
type sampleResult struct {
	Name    string            `cty:"name"`
	Count   int               `cty:"count"`
	Ratio   float64           `cty:"ratio"`
	On      bool              `cty:"on"`
	Tags    []string          `cty:"tags"`
	Headers map[string]string `cty:"headers"`
	Limit   *int              `cty:"limit"`
	Big     int64             `cty:"big"`
}

func echoSample(_ context.Context, c sample) (sampleResult, error) { return sampleResult(c), nil }

func echo[T any](_ context.Context, c T) (T, error) { return c, nil }

// TestTypedAgainstGocty decodes and encodes with Typed's own conversions
// and compares with what gocty makes of the same values: the fast path must
// not change a value.
func TestTypedAgainstGocty(t *testing.T) {
	limit := 7
	in := sample{Name: "web", Count: 3, Ratio: 0.25, On: true, Tags: []string{"a", "b"},
		Headers: map[string]string{"Accept": "*/*"}, Limit: &limit, Big: 1 << 40}
	typ := sampleType(t)
	if !typ.Equals(TypeOf[sampleResult]()) {
		t.Fatalf("arguments %s, result %s", typ.GoString(), TypeOf[sampleResult]().GoString())
	}
	args, err := gocty.ToCtyValue(sampleResult(in), typ)
	if err != nil {
		t.Fatal(err)
	}
	p := Typed(sample{}, echoSample)
	got, err := p.Call(context.Background(), args)
	if err != nil {
		t.Fatal(err)
	}
	if !got.RawEquals(args) {
		t.Errorf("Typed round trip gave\n%s\nwant\n%s", Show(got), Show(args))
	}
	var back sampleResult
	if err := gocty.FromCtyValue(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.Name != in.Name || back.Count != in.Count || back.Ratio != in.Ratio || !back.On || *back.Limit != 7 || back.Big != in.Big || back.Headers["Accept"] != "*/*" || len(back.Tags) != 2 {
		t.Errorf("gocty reads back %+v, want %+v", back, in)
	}
}

// sampleType is sample's object type; gocty cannot derive it from the
// struct itself, since it takes "count,optional" for the attribute's name.
func sampleType(t *testing.T) cty.Type {
	t.Helper()
	k, err := derive(Kind{Name: "sample", Docs: sampleDocs, Probe: Typed(sample{}, func(context.Context, sample) (struct {
		OK bool `cty:"ok"`
	}, error) {
		return struct {
			OK bool `cty:"ok"`
		}{}, nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	return k.ArgsType()
}

func TestArgumentsDerivedFromConfig(t *testing.T) {
	type config struct {
		Host    string  `cty:"host"`
		Port    int     `cty:"port,optional"`
		Family  *string `cty:"family"`
		Retries int     `cty:"retries,optional"`
	}
	type result struct {
		OK bool `cty:"ok"`
	}
	k, err := derive(Kind{Name: "t", Docs: map[string]ArgDoc{
		"host": {Doc: "Host."}, "port": {Doc: "Port.", Validate: ValidPort}, "family": {Doc: "Family."}, "retries": {Doc: "Retries."},
	}, Probe: Typed(config{Port: 80}, func(context.Context, config) (result, error) { return result{}, nil })})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name     string
		typ      cty.Type
		required bool
		def      cty.Value
	}{
		{"host", cty.String, true, cty.NilVal},
		{"port", cty.Number, false, cty.NumberIntVal(80)},
		{"family", cty.String, false, cty.NilVal},
		{"retries", cty.Number, false, cty.NumberIntVal(0)},
	}
	if len(k.Args) != len(want) {
		t.Fatalf("got %d arguments, want %d", len(k.Args), len(want))
	}
	for i, w := range want {
		a := k.Args[i]
		if a.Name != w.name || !a.Type.Equals(w.typ) || a.Required != w.required || (a.Default == cty.NilVal) != (w.def == cty.NilVal) || (w.def != cty.NilVal && !a.Default.RawEquals(w.def)) {
			t.Errorf("argument %d = %s %s required=%v default=%s, want %s %s required=%v default=%s",
				i, a.Name, a.Type.FriendlyName(), a.Required, Show(a.Default), w.name, w.typ.FriendlyName(), w.required, Show(w.def))
		}
	}
	if k.Args[1].Validate == nil || k.Args[1].Doc != "Port." {
		t.Error("port lost its doc or validator")
	}
	if !k.Result.Equals(cty.Object(map[string]cty.Type{"ok": cty.Bool})) {
		t.Errorf("result type %s", k.Result.FriendlyName())
	}
}

// TestRegisterRefusesMismatches lists the mistakes Register panics on; each
// used to decode silently as a zero value or go undocumented.
func TestRegisterRefusesMismatches(t *testing.T) {
	type result struct {
		OK bool `cty:"ok"`
	}
	type other struct {
		OK bool `cty:"ok"`
	}
	probe := func(defaults any) Probe {
		switch d := defaults.(type) {
		case struct {
			Host string `cty:"host,optinal"`
		}:
			return Typed(d, echoResult[struct {
				Host string `cty:"host,optinal"`
			}, result])
		case struct {
			Host string
		}:
			return Typed(d, echoResult[struct{ Host string }, result])
		case struct {
			Host string `cty:"host"`
		}:
			return Typed(d, echoResult[struct {
				Host string `cty:"host"`
			}, result])
		}
		panic("unexpected")
	}
	type hostOnly = struct {
		Host string `cty:"host"`
	}
	hostDoc := map[string]ArgDoc{"host": {Doc: "Host."}}
	tests := []struct {
		name string
		kind Kind
		want string
	}{
		{"no probe", Kind{Name: "x"}, "needs a probe"},
		{"a tag option typo", Kind{Name: "x", Docs: hostDoc, Probe: probe(struct {
			Host string `cty:"host,optinal"`
		}{})}, `unknown cty tag option "optinal"`},
		{"a field without a tag", Kind{Name: "x", Docs: hostDoc, Probe: probe(struct{ Host string }{})}, "has no cty tag"},
		{"an argument without docs", Kind{Name: "x", Probe: probe(hostOnly{})}, `argument "host" (field Host) has no entry in Docs`},
		{"docs for no argument", Kind{Name: "x", Docs: map[string]ArgDoc{"host": {}, "hots": {}}, Probe: probe(hostOnly{})}, `Docs has an entry for "hots"`},
		{"a default for a required argument", Kind{Name: "x", Docs: hostDoc, Probe: probe(hostOnly{Host: "a"})}, `argument "host" is required`},
		{"arguments by hand", Kind{Name: "x", Docs: hostDoc, Args: []Arg{{Name: "host"}}, Probe: probe(hostOnly{})}, "derived"},
		{"an expectation twice", Kind{Name: "x", Docs: hostDoc, Probe: probe(hostOnly{}), Expect: []Expectation{
			Equal("ok", cty.Bool, ""), Equal("ok", cty.Bool, "")}}, `expectation "ok" declared twice`},
		{"an expectation over another result", Kind{Name: "x", Docs: hostDoc, Probe: probe(hostOnly{}), Expect: []Expectation{
			Expect("ok", "", func(bool, other) *Diff { return nil })}}, `expectation "ok" compares a checks.other`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("Register did not panic")
				}
				if msg, _ := r.(string); !strings.Contains(msg, tt.want) {
					t.Errorf("panic %q, want it to contain %q", r, tt.want)
				}
			}()
			Register(tt.kind)
		})
	}
}

// A kind registered with RegisterFunc is made when it is first looked up,
// once, and refuses what Register refuses then; its name is known before.
func TestRegisterFuncMakesTheKindWhenLookedUp(t *testing.T) {
	type cfg struct {
		Host string `cty:"host"`
	}
	type result struct {
		OK bool `cty:"ok"`
	}
	t.Cleanup(func() { // the broken ones would panic in a later Kinds()
		mu.Lock()
		defer mu.Unlock()
		for _, name := range []string{"lazy_test", "lazy_test_misnamed", "lazy_test_broken"} {
			delete(registry, name)
		}
	})
	made := 0
	RegisterFunc("lazy_test", func() Kind {
		made++
		return Kind{Name: "lazy_test", Docs: map[string]ArgDoc{"host": {Doc: "Host."}}, Probe: Typed(cfg{}, echoResult[cfg, result])}
	})
	if !slices.Contains(Names(), "lazy_test") || made != 0 {
		t.Fatalf("registered: in Names %t, made %d times before a lookup", slices.Contains(Names(), "lazy_test"), made)
	}
	k1, ok1 := Lookup("lazy_test")
	k2, ok2 := Lookup("lazy_test")
	if !ok1 || !ok2 || k1 != k2 || made != 1 || len(k1.Args) != 1 || k1.Args[0].Name != "host" {
		t.Fatalf("Lookup twice: %v %v, the same kind %t, made %d times, args %v", ok1, ok2, k1 == k2, made, k1.Args)
	}
	for _, tt := range []struct {
		name, want string
		kind       Kind
	}{
		{"lazy_test_misnamed", `registered as "lazy_test_misnamed" is named "other"`, Kind{Name: "other"}},
		{"lazy_test_broken", "needs a probe", Kind{Name: "lazy_test_broken"}},
	} {
		RegisterFunc(tt.name, func() Kind { return tt.kind })
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, tt.want) {
					t.Errorf("Lookup(%q) panicked with %q, want it to contain %q", tt.name, msg, tt.want)
				}
			}()
			Lookup(tt.name)
		}()
	}
	func() {
		defer func() {
			if msg, _ := recover().(string); !strings.Contains(msg, "registered twice") {
				t.Errorf("a second RegisterFunc of a name panicked with %q", msg)
			}
		}()
		RegisterFunc("lazy_test", func() Kind { return Kind{} })
	}()
}

func echoResult[C, R any](context.Context, C) (R, error) {
	var r R
	return r, nil
}

// shared is both the configuration and the result of a probe, as an echo
// kind's would be; a cache keyed by the Go type alone handed the encoder the
// decoder's fields, without attribute types, and a list failed to encode.
type shared struct {
	Name  string   `cty:"name"`
	Names []string `cty:"names"`
}

func TestOneStructAsConfigAndResult(t *testing.T) {
	k, err := derive(Kind{Name: "shared", Docs: map[string]ArgDoc{"name": {}, "names": {}}, Probe: Typed(shared{}, echo[shared])})
	if err != nil {
		t.Fatal(err)
	}
	args := cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("a"), "names": cty.ListVal([]cty.Value{cty.StringVal("b")})})
	got, err := k.Probe.Call(context.Background(), args)
	if err != nil {
		t.Fatal(err)
	}
	if !got.RawEquals(args) {
		t.Errorf("got %s, want %s", Show(got), Show(args))
	}
}

func TestExpectOverGoTypes(t *testing.T) {
	type result struct {
		State string `cty:"state"`
		Open  bool   `cty:"open"`
	}
	e := Expect("open", "", func(want bool, got result) *Diff {
		if got.Open == want {
			return nil
		}
		return &Diff{Expected: Literal(want), Actual: Literal(got.Open) + " (" + got.State + ")"}
	})
	if !e.Type.Equals(cty.Bool) {
		t.Errorf("type %s, want bool", e.Type.FriendlyName())
	}
	closed := cty.ObjectVal(map[string]cty.Value{"state": cty.StringVal("closed"), "open": cty.False, "duration_ms": cty.NumberIntVal(3)})
	if d := e.Compare(cty.False, closed); d != nil {
		t.Errorf("met expectation gave %+v", d)
	}
	want := Diff{Field: "open", Expected: "true", Actual: "false (closed)"}
	if d := e.Compare(cty.True, closed); d == nil || *d != want {
		t.Errorf("got %+v, want %+v", d, want)
	}
}

// A result that is still the probe's Go struct is judged as its object
// is: by an expectation's direct way while its Compare is the one it was
// made with (Equal, AtMost, Expect, and MetWhen or Explained of them), and
// by Compare on the object once a kind wrapped Compare in a function of
// its own, so the wrapper's diff is the one reported.
func TestGoResultJudgedAsItsObject(t *testing.T) {
	type config struct{}
	type result struct {
		Open  bool     `cty:"open"`
		State string   `cty:"state"`
		RTT   *float64 `cty:"rtt"`
	}
	wrapped := Equal("state", cty.String, "")
	equal := wrapped.Compare
	wrapped.Compare = func(want, result cty.Value) *Diff {
		d := equal(want, result)
		if d != nil {
			d.Actual += " (wrapped)"
		}
		return d
	}
	explained := Equal("open", cty.Bool, "").Explained(func(d *Diff, field func(string) cty.Value) {
		d.Actual += " (" + field("state").AsString() + ")"
	})
	for _, r := range []result{{Open: true, State: "open", RTT: new(0.25)}, {State: "closed"}} {
		k, err := derive(Kind{Name: "t", Docs: map[string]ArgDoc{}, Probe: Typed(config{}, func(context.Context, config) (result, error) { return r, nil }),
			Expect: []Expectation{wrapped, explained, AtMost("max_rtt", "rtt", ""), Expect("is_open", "", func(want bool, got result) *Diff {
				if got.Open == want {
					return nil
				}
				return &Diff{Expected: Literal(want), Actual: Literal(got.Open) + " " + got.State}
			}).MetWhen(func(want, result cty.Value) bool { return false })}})
		if err != nil {
			t.Fatal(err)
		}
		if k.Expect[0].direct != nil || k.Expect[1].direct == nil || k.Expect[2].direct == nil || k.Expect[3].direct == nil {
			t.Fatalf("direct ways: %v %v %v %v, want only the wrapped one's taken away", k.Expect[0].direct != nil, k.Expect[1].direct != nil, k.Expect[2].direct != nil, k.Expect[3].direct != nil)
		}
		res, err := k.Probe.CallArgs(context.Background(), Args{}, time.Now())
		if err != nil || !res.IsGo() {
			t.Fatalf("the result is not a Go struct (%v)", err)
		}
		obj := ResultOf(res.Value())
		for _, want := range [][]cty.Value{
			{cty.StringVal("open"), cty.True, cty.NumberFloatVal(0.1), cty.True},
			{cty.StringVal("closed"), cty.False, cty.NumberIntVal(1), cty.False},
		} {
			got, wantUnmet := k.JudgeValues(want, res), k.JudgeValues(want, obj)
			if !reflect.DeepEqual(got, wantUnmet) {
				t.Errorf("%+v judged as a Go struct: %+v, as its object: %+v", r, got, wantUnmet)
			}
			for _, u := range got {
				if u.Name == "state" && !strings.HasSuffix(u.Diff.Actual, "(wrapped)") {
					t.Errorf("the wrapped Compare was not used: %+v", u.Diff)
				}
			}
		}
	}
}

// containsMarked is ContainsMarked, for the lists it looks at itself too.
func TestContainsMarked(t *testing.T) {
	secret := cty.StringVal("s").Mark("sensitive")
	long := make([]cty.Value, 20)
	for i := range long {
		long[i] = cty.StringVal("a")
	}
	longMarked := append(append([]cty.Value(nil), long...), secret)
	for _, v := range []cty.Value{cty.ListVal(long), cty.ListVal(longMarked), cty.ListVal(longMarked[4:]), cty.StringVal("a"), secret, cty.ListValEmpty(cty.String), cty.ListVal([]cty.Value{cty.StringVal("a")}),
		cty.ListVal([]cty.Value{cty.StringVal("a"), secret}), cty.ListVal([]cty.Value{cty.StringVal("a")}).Mark("sensitive"),
		cty.NullVal(cty.List(cty.String)), cty.UnknownVal(cty.List(cty.String)), cty.TupleVal([]cty.Value{secret}),
		cty.ListVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2).Mark("sensitive")})} {
		if got, want := containsMarked(v), v.ContainsMarked(); got != want {
			t.Errorf("containsMarked(%#v) = %v, want %v", v, got, want)
		}
	}
}
