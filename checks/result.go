package checks

import (
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// Result is what one attempt at a check observed: an object of the kind's
// Result type, or nothing (the zero Result) when the probe failed.
//
// A local probe's result stays the Go struct the probe returned until
// something asks for its object (Value): an assert or a dependent that
// refers to it, a diff that shows what was observed, a report that walks
// it. Judging an expectation reads the struct itself (Expect's, and the
// one attribute Equal and the other field expectations compare), and the
// JSON report writes it from its fields (Attr), so a check that passes
// never builds the object. For 10,000 checks, the objects (three maps and a
// type each) and the report's walk over them cost a tenth of the run's CPU.
type Result struct {
	v   cty.Value
	obs observation // nil when v is the result
}

// observation is a result held as the probe's Go struct.
type observation interface {
	value() cty.Value
	// goValue is a pointer to the struct (*R).
	goValue() any
	attr(n int) (Attr, bool)
	field(name string) cty.Value
}

// field is Field(r.Value(), name), made from the probe's struct alone when
// r is one; ok is false when r holds nothing observed.
func (r Result) field(name string) (cty.Value, bool) {
	switch {
	case r.obs != nil:
		return r.obs.field(name), true
	case r.v == cty.NilVal:
		return cty.NilVal, false
	}
	return Field(r.v, name), true
}

// ResultOf is the result that is the object v (cty.NilVal: nothing observed).
func ResultOf(v cty.Value) Result { return Result{v: v} }

// Value is the result's object, made on the first call when the result is
// a Go struct (and the same value on every call after). It is cty.NilVal
// when nothing was observed. It is safe to call from several goroutines.
func (r Result) Value() cty.Value {
	if r.obs != nil {
		return r.obs.value()
	}
	return r.v
}

// IsNil reports whether nothing was observed.
func (r Result) IsNil() bool { return r.obs == nil && r.v == cty.NilVal }

// Attr is one attribute of a result as the probe's Go struct holds it, for
// a writer that writes a result without making its object (Result.Attr).
// Null says it is null (a nil *string, *float64, list or map); otherwise
// Kind says which of the value fields holds it:
//
//   - reflect.String: String, in Unicode normal form C as its object
//     holds it (the struct's strings are normalised when it is kept);
//   - reflect.Bool: Bool;
//   - reflect.Int64: Int;
//   - reflect.Float64: Float, a finite number;
//   - reflect.Slice: Strings, a list of strings;
//   - reflect.Map: Map, a map of strings.
type Attr struct {
	Name    string
	Kind    reflect.Kind
	String  string
	Bool    bool
	Int     int64
	Float   float64
	Null    bool
	Strings []string
	Map     map[string]string
}

// Attr is the n-th attribute of a result held as the probe's Go struct,
// duration_ms among them, in the order of their names (the order in which
// an object's attributes iterate), for n from 0; false past the last one,
// and for a result that is not such a struct (IsGo): the caller then
// writes Value instead.
func (r Result) Attr(n int) (Attr, bool) {
	if r.obs == nil {
		return Attr{}, false
	}
	return r.obs.attr(n)
}

// IsGo reports whether the result is held as the probe's Go struct, whose
// attributes Attr gives.
func (r Result) IsGo() bool { return r.obs != nil }

// goValue is the pointer to the probe's struct, or nil.
func (r Result) goValue() any {
	if r.obs == nil {
		return nil
	}
	return r.obs.goValue()
}

// lazy is the result of a probe of the kind's Go type R, timed: the
// object is made from r and dur when first asked for.
type lazy[R any] struct {
	r     R
	dur   time.Duration
	codec *codec
	once  sync.Once
	v     cty.Value
}

func (l *lazy[R]) value() cty.Value {
	l.once.Do(func() {
		// A codec is lazy only for fields encode converts itself, which
		// cannot fail.
		l.v, _ = l.codec.fields.encode(reflect.ValueOf(&l.r).Elem(), l.dur, true)
	})
	return l.v
}

func (l *lazy[R]) goValue() any { return &l.r }

func (l *lazy[R]) field(name string) cty.Value {
	n, ok := l.codec.byName[name]
	switch {
	case !ok:
		return cty.NullVal(cty.DynamicPseudoType) // as Field has it
	case n < 0:
		return durationValue(l.dur)
	}
	f := l.codec.fields[n]
	v, _ := f.value(reflect.ValueOf(&l.r).Elem().Field(f.index)) // lazy fields convert without fail
	return v
}

func (l *lazy[R]) attr(n int) (Attr, bool) {
	if n < 0 || n >= len(l.codec.order) {
		return Attr{}, false
	}
	k := l.codec.order[n]
	if k < 0 {
		return Attr{Name: "duration_ms", Kind: reflect.Float64, Float: durationMS(l.dur)}, true
	}
	f := l.codec.fields[k]
	fv := reflect.ValueOf(&l.r).Elem().Field(f.index)
	a := Attr{Name: f.name, Kind: f.kind}
	switch f.kind {
	case reflect.String:
		a.String = fv.String()
	case reflect.Bool:
		a.Bool = fv.Bool()
	case reflect.Int, reflect.Int64:
		a.Kind, a.Int = reflect.Int64, fv.Int()
	case reflect.Float64:
		a.Float = fv.Float()
	case reflect.Pointer:
		a.Kind = f.elem
		if a.Null = fv.IsNil(); !a.Null && f.elem == reflect.String {
			a.String = fv.Elem().String()
		} else if !a.Null {
			a.Float = fv.Elem().Float()
		}
	case reflect.Slice:
		a.Strings = *fv.Addr().Interface().(*[]string)
		a.Null = a.Strings == nil
	case reflect.Map:
		a.Map = *fv.Addr().Interface().(*map[string]string)
		a.Null = a.Map == nil
	}
	return a, true
}

// codec is how a kind's Go result becomes its object.
type codec struct {
	fields fields
	// order is the fields by attribute name, duration_ms (-1) among them.
	order []int
	// byName is the index of each attribute's field, -1 for duration_ms.
	byName map[string]int
	// lazy is whether results may stay Go structs: every field is one that
	// encode converts itself (gocty's conversions can fail, and a failure
	// is an error of the probe, told when it returns).
	lazy bool
}

func newCodec(fs fields) *codec {
	c := &codec{fields: fs, lazy: true, order: []int{-1}, byName: map[string]int{"duration_ms": -1}}
	names := map[int]string{-1: "duration_ms"}
	for n, f := range fs {
		if f.kind == reflect.Invalid || f.name == "duration_ms" {
			c.lazy = false
		}
		c.order = append(c.order, n)
		names[n] = f.name
		c.byName[f.name] = n
	}
	sort.Slice(c.order, func(a, b int) bool { return names[c.order[a]] < names[c.order[b]] })
	return c
}

// prepare readies the struct v to stay a Go struct, or reports false when
// it must be made an object at once. Its strings become what its object
// would hold, in Unicode normal form C as cty keeps them, so that judging
// the struct and judging its object agree (a slice or a map that changes
// is copied, never written to). A float that is not finite, or a map key
// that is not ASCII (cty normalises keys, and two that normalise alike
// make it panic), goes the eager way, which treats them as it always did.
func (c *codec) prepare(v reflect.Value) bool {
	for _, f := range c.fields {
		fv := v.Field(f.index)
		switch f.kind {
		case reflect.Float64:
			if x := fv.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		case reflect.Pointer:
			switch {
			case fv.IsNil():
			case f.elem == reflect.String:
				if s := fv.Elem().String(); !ascii(s) {
					n := cty.NormalizeString(s)
					fv.Set(reflect.ValueOf(&n)) // a new string: the probe's is not written to
				}
			default:
				if x := fv.Elem().Float(); math.IsNaN(x) || math.IsInf(x, 0) {
					return false
				}
			}
		case reflect.String:
			if s := fv.String(); !ascii(s) {
				fv.SetString(cty.NormalizeString(s))
			}
		case reflect.Slice:
			p := fv.Addr().Interface().(*[]string)
			copied := false
			for k, s := range *p {
				if !ascii(s) {
					if !copied {
						*p, copied = slices.Clone(*p), true
					}
					(*p)[k] = cty.NormalizeString(s)
				}
			}
		case reflect.Map:
			p := fv.Addr().Interface().(*map[string]string)
			copied := false
			for k, s := range *p {
				if !ascii(k) {
					return false
				}
				if !ascii(s) {
					if !copied {
						*p, copied = maps.Clone(*p), true
					}
					(*p)[k] = cty.NormalizeString(s)
				}
			}
		}
	}
	return true
}

// ascii reports whether s is ASCII, which normal form C leaves as it is.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// durationMS is duration_ms of d: milliseconds to the microsecond.
func durationMS(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
