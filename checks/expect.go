package checks

import (
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Equal is met when the result's field equals the expected value. Most
// expectations are this: expect { open = true } compares result.open.
func Equal(field string, typ cty.Type, doc string) Expectation {
	return onField(Expectation{Name: field, Type: typ, Doc: doc}, field, func(want, got cty.Value) *Diff {
		if got.IsKnown() && !got.IsNull() && got.Equals(want).True() {
			return nil
		}
		return &Diff{Field: field, Expected: Show(want), Actual: Show(got)}
	})
}

// onField is e judged by judge on the result's attribute field: on the
// object's (Field), or, for a result that is still the probe's Go struct,
// on that one attribute made from the struct's field.
func onField(e Expectation, field string, judge func(want, got cty.Value) *Diff) Expectation {
	e.Compare = func(want, result cty.Value) *Diff { return judge(want, Field(result, field)) }
	return e.withDirect(func(want cty.Value, r Result) (*Diff, bool) {
		got, ok := r.field(field)
		if !ok {
			return nil, false
		}
		return judge(want, got), true
	})
}

// AtMost is met when the result's numeric field is at most the expected
// number; the expectation's own name (max_rtt_ms) may differ from the field.
func AtMost(name, field, doc string) Expectation {
	return bound(name, field, doc, "at most", func(c int) bool { return c <= 0 })
}

// AtLeast is met when the result's numeric field is at least the expected number.
func AtLeast(name, field, doc string) Expectation {
	return bound(name, field, doc, "at least", func(c int) bool { return c >= 0 })
}

func bound(name, field, doc, phrase string, ok func(int) bool) Expectation {
	return onField(Expectation{Name: name, Type: cty.Number, Doc: doc}, field, func(want, got cty.Value) *Diff {
		if got.Type() == cty.Number && got.IsKnown() && !got.IsNull() && ok(got.AsBigFloat().Cmp(want.AsBigFloat())) {
			return nil
		}
		return &Diff{Field: field, Expected: phrase + " " + Show(want), Actual: Show(got)}
	})
}

// SetEqual is met when the result's list of strings holds exactly the
// expected strings, in any order.
func SetEqual(field, doc string) Expectation {
	return onField(Expectation{Name: field, Type: cty.List(cty.String), Doc: doc}, field, func(want, got cty.Value) *Diff {
		w, g := Strings(want), Strings(got)
		sort.Strings(w)
		sort.Strings(g)
		if strings.Join(w, "\x00") == strings.Join(g, "\x00") && len(w) == len(g) {
			return nil
		}
		return &Diff{Field: field, Expected: Show(want), Actual: Show(got)}
	})
}

// Contains is met when every expected string appears in the result's list
// field (the expectation is named name, the field field).
func Contains(name, field, doc string) Expectation {
	return onField(Expectation{Name: name, Type: cty.List(cty.String), Doc: doc}, field, func(want, got cty.Value) *Diff {
		have := map[string]bool{}
		for _, s := range Strings(got) {
			have[s] = true
		}
		var missing []string
		for _, s := range Strings(want) {
			if !have[s] {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return &Diff{Field: field, Expected: "contains " + Show(want), Actual: Show(got) + " (missing " + strings.Join(quoteAll(missing), ", ") + ")"}
	})
}

// Matches is met when the result's string field matches the expected regular
// expression (RE2 syntax, checked at load time).
func Matches(name, field, doc string) Expectation {
	return onField(Expectation{Name: name, Type: cty.String, Doc: doc, Validate: ValidRegexp}, field, func(want, got cty.Value) *Diff {
		re, err := regexp.Compile(want.AsString())
		if err == nil && got.Type() == cty.String && !got.IsNull() && re.MatchString(got.AsString()) {
			return nil
		}
		return &Diff{Field: field, Expected: "matches " + Show(want), Actual: Show(got)}
	})
}

// Field returns an attribute of a result object, or a null value when the
// object has no such attribute or is itself null.
func Field(obj cty.Value, name string) cty.Value {
	if obj == cty.NilVal || obj.IsNull() || !obj.IsKnown() || !obj.Type().IsObjectType() || !obj.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return obj.GetAttr(name)
}

// Strings returns the known, non-null strings of a list, set or tuple value.
func Strings(v cty.Value) []string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.Type() == cty.String && e.IsKnown() && !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// IsTrue reports whether v is true: known, not null, not marked. It is
// v.True() without its cost where that is checked already: cty's True
// compares v with Equals, which first walks both values for marks, and a
// bool is read for every argument and expectation of every check.
func IsTrue(v cty.Value) bool { return v == cty.True }

// Show writes a value the way a user would write it in HCL: "open", 200,
// true, ["a", "b"], { k = "v" }. Unknown values read "(known after run)",
// null reads null.
func Show(v cty.Value) string {
	if v == cty.NilVal {
		return "null"
	}
	if v.IsMarked() {
		return "(sensitive value)"
	}
	if !v.IsKnown() {
		return "(known after run)"
	}
	if v.IsNull() {
		return "null"
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return fmt.Sprintf("%q", v.AsString())
	case t == cty.Number:
		return formatNumber(v.AsBigFloat())
	case t == cty.Bool:
		if v.True() {
			return "true"
		}
		return "false"
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, Show(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case t.IsMapType() || t.IsObjectType():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			parts = append(parts, k.AsString()+" = "+Show(e))
		}
		if len(parts) == 0 {
			return "{}"
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return v.GoString()
}

func formatNumber(f *big.Float) string {
	if f.IsInt() {
		i, _ := f.Int(nil)
		return i.String()
	}
	x, _ := f.Float64()
	return fmt.Sprintf("%.6g", x)
}

// Validated returns the expectation with a load-time validator, so that a
// kind can declare Equal("state", …).Validated(OneOf(…)) in one expression.
func (e Expectation) Validated(v func(cty.Value) error) Expectation {
	e.Validate = v
	return e
}

// MetWhen returns the expectation judged first by met: when met says the
// expected value is met by the result, that is the verdict, and otherwise
// the expectation's own Compare judges, so every diff is that Compare's.
// met answers false whenever it cannot tell. It is for an expectation
// made with Expect, which decodes the whole result into the kind's Result
// for every check it judges, when the usual verdict (met) can be told from
// an attribute or two: for one status code or one open port, the decoding
// costs more than the rest of judging the check.
func (e Expectation) MetWhen(met func(want, result cty.Value) bool) Expectation {
	compare, current := e.Compare, e.directFor == reflect.ValueOf(e.Compare).Pointer()
	e.Compare = func(want, result cty.Value) *Diff {
		if met(want, result) {
			return nil
		}
		return compare(want, result)
	}
	if current {
		// The same verdicts: the direct way stays.
		e.directFor = reflect.ValueOf(e.Compare).Pointer()
	}
	return e
}

// Explained is e with explain called on each diff e gives, to add what
// else the result tells (why it is what it is); field reads the result's
// attributes, as Field does. Judging a Go result goes through it too, so a
// kind can explain a diff without making every result an object.
func (e Expectation) Explained(explain func(d *Diff, field func(name string) cty.Value)) Expectation {
	compare, direct := e.Compare, e.direct
	current := direct != nil && e.directFor == reflect.ValueOf(compare).Pointer()
	e.Compare = func(want, result cty.Value) *Diff {
		d := compare(want, result)
		if d != nil {
			explain(d, func(name string) cty.Value { return Field(result, name) })
		}
		return d
	}
	if !current {
		e.direct = nil
		return e
	}
	return e.withDirect(func(want cty.Value, r Result) (*Diff, bool) {
		d, ok := direct(want, r)
		if ok && d != nil {
			explain(d, func(name string) cty.Value { v, _ := r.field(name); return v })
		}
		return d, ok
	})
}

// Expect declares an expectation over the kind's own Go types: want is the
// expected value as written in the expect block, decoded into W (its cty
// type is the expectation's type), and got is the probe's result decoded
// into the kind's Result struct R, so a comparison names fields the
// compiler checks instead of guarding cty values. compare returns nil when
// the expectation is met; a Diff whose Field is empty is filled in with
// name. Register checks that R is the result of the kind's probe.
func Expect[W, R any](name, doc string, compare func(want W, got R) *Diff) Expectation {
	rt := reflect.TypeFor[R]()
	result := fieldsOf(rt, cty.NilType)
	judge := func(wantV cty.Value, got *R) *Diff {
		var want W
		if err := fromCty(wantV, &want); err != nil {
			return &Diff{Field: name, Expected: Show(wantV), Actual: "(internal error: " + err.Error() + ")"}
		}
		d := compare(want, *got)
		if d != nil && d.Field == "" {
			d.Field = name
		}
		return d
	}
	return Expectation{Name: name, Type: TypeOf[W](), Doc: doc, result: rt,
		Compare: func(wantV, resultV cty.Value) *Diff {
			var got R
			if resultV != cty.NilVal && resultV.IsKnown() && !resultV.IsNull() {
				if err := result.decode(resultV, reflect.ValueOf(&got).Elem()); err != nil {
					return &Diff{Field: name, Expected: Show(wantV), Actual: "(internal error: " + err.Error() + ")"}
				}
			}
			return judge(wantV, &got)
		},
	}.withDirect(func(wantV cty.Value, res Result) (*Diff, bool) {
		r, ok := res.goValue().(*R)
		if !ok {
			return nil, false
		}
		return judge(wantV, r), true
	})
}

// fromCty is gocty.FromCtyValue, with the expected values most
// expectations have (a bool, a string, a whole number, a list of strings:
// answers) set without reflection: they are decoded for every check that is judged.
func fromCty(v cty.Value, into any) error {
	if v.IsKnown() && !v.IsNull() && !v.IsMarked() {
		switch p := into.(type) {
		case *bool:
			if v.Type() == cty.Bool {
				*p = IsTrue(v)
				return nil
			}
		case *string:
			if v.Type() == cty.String {
				*p = v.AsString()
				return nil
			}
		case *int:
			if v.Type() == cty.Number {
				if n, acc := v.AsBigFloat().Int64(); acc == big.Exact && int64(int(n)) == n {
					*p = int(n)
					return nil
				}
			}
		case *[]string:
			if t := v.Type(); t.IsListType() && t.ElementType() == cty.String {
				if l, ok := stringsOfList(v); ok {
					*p = l
					return nil
				}
			}
		}
	}
	return gocty.FromCtyValue(v, into)
}

// Literal writes a Go value of an argument, expectation or result field
// the way Show writes its cty value: "open", 200, true, ["a", "b"].
func Literal(v any) string {
	t, err := gocty.ImpliedType(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	cv, err := gocty.ToCtyValue(v, t)
	if err != nil {
		return fmt.Sprint(v)
	}
	return Show(cv)
}
