package checks

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// TypeOf returns the cty object type of a Go struct whose fields carry `cty`
// tags, or the type an Encoded result declares for itself. A kind's result
// type is derived with it, so the type users reference and the values the
// probe returns cannot drift.
func TypeOf[T any]() cty.Type {
	var zero T
	if e, ok := any(zero).(Encoded); ok {
		return e.ObjectType()
	}
	t, err := gocty.ImpliedType(zero)
	if err != nil {
		panic(fmt.Sprintf("checks: %T has no cty type: %v", zero, err))
	}
	return t
}

// Encoded is a result that writes itself as a cty object, for the few
// results whose attributes gocty cannot derive from tagged fields: one
// attribute per resource limit, numbers beyond 64 bits.
type Encoded interface {
	// ObjectType is the object type of every value Object returns; it is
	// called on the zero value.
	ObjectType() cty.Type
	Object() cty.Value
}

// Probe is a kind's probe together with the Go types it is written in:
// Register reads the arguments, their types, optionality and defaults off
// the Config struct, and the result type off the Result struct.
type Probe struct {
	config     reflect.Type
	defaults   reflect.Value
	result     reflect.Type
	resultType cty.Type
	// names are the Config's argument names, in the order of its fields
	// and so of Kind.Args.
	names []string
	// call probes with the arguments decoded from args or, when args is
	// nil, from the object obj; with a start time, the result it encodes
	// holds duration_ms too, from start to the probe's return.
	call func(ctx context.Context, args Args, obj cty.Value, start time.Time) (Result, error)
	// asGo is GoResult's: the object decoded into the result struct.
	asGo func(obj cty.Value) (Result, bool)
}

// GoResult is the result a local probe of k returns that observed the
// object obj: obj decoded into the kind's Go result and held as that
// struct, with obj's duration_ms. It is false for a kind whose results
// are always objects (an Encoded result, a field gocty converts), and for
// an object that does not decode. It is for tests that hold judging a
// result on its Go struct to judging its object (kindtest.Verdict).
func GoResult(k *Kind, obj cty.Value) (Result, bool) {
	if k.Probe.asGo == nil || obj == cty.NilVal || !obj.IsWhollyKnown() || obj.IsNull() || !obj.Type().IsObjectType() {
		return Result{}, false
	}
	return k.Probe.asGo(obj)
}

// Call observes once: obj, an object with an attribute per argument (a
// missing one is null), is decoded into the kind's Config, and what the
// probe returns is encoded with the kind's result type.
func (p Probe) Call(ctx context.Context, obj cty.Value) (cty.Value, error) {
	r, err := p.call(ctx, nil, obj, time.Time{})
	return r.Value(), err
}

// CallArgs is Call of the arguments as the loader holds them, a value per
// argument in the order of Kind.Args, with duration_ms added to the result
// when start is set: the time from start to the probe's return, as
// WithDuration adds it. That makes the result one object instead of an
// object copied into another with one attribute more, for every check.
// With start set, the result may stay the probe's Go struct until its
// object is asked for (see Result).
func (p Probe) CallArgs(ctx context.Context, args Args, start time.Time) (Result, error) {
	return p.call(ctx, args, cty.NilVal, start)
}

// WithDuration adds duration_ms, the time d a probe took, to its result:
// the attribute the runner measures for every kind (see Kind.Result).
func WithDuration(res cty.Value, d time.Duration) cty.Value {
	// By the type's attribute names: iterating the value would sort them,
	// for every check.
	names := res.Type().AttributeTypes()
	attrs := make(map[string]cty.Value, len(names)+1)
	if !res.IsNull() && res.IsKnown() {
		for name := range names {
			attrs[name] = res.GetAttr(name)
		}
	}
	attrs["duration_ms"] = durationValue(d)
	return cty.ObjectVal(attrs)
}

// durationValue is duration_ms: milliseconds to the microsecond.
func durationValue(d time.Duration) cty.Value {
	return cty.NumberFloatVal(durationMS(d))
}

// Typed makes a Probe of a function over the kind's own Go types. C is the
// Config struct: every exported field is an argument named by its `cty`
// tag; a pointer field or a tag with ",optional" makes the argument
// optional, and defaults holds each optional argument's default value (a
// nil pointer defaults to null). R is the Result struct, encoded with
// TypeOf[R].
//
// It converts with gocty's rules, but works out each struct's fields once,
// not on every call, and converts plain strings, numbers and bools itself:
// in a suite of thousands of checks, reflection per field per check would
// cost as much as the probe.
func Typed[C, R any](defaults C, probe func(ctx context.Context, cfg C) (R, error)) Probe {
	resultType := TypeOf[R]()
	decode := fieldsOf(reflect.TypeFor[C](), cty.NilType)
	// encode makes the result of r, with duration_ms when start is set.
	var encode func(r R, start time.Time) (Result, error)
	var asGo func(obj cty.Value) (Result, bool)
	if _, ok := any(*new(R)).(Encoded); ok {
		encode = func(r R, start time.Time) (Result, error) {
			v := any(r).(Encoded).Object()
			if !start.IsZero() {
				v = WithDuration(v, time.Since(start))
			}
			return ResultOf(v), nil
		}
	} else {
		c := newCodec(fieldsOf(reflect.TypeFor[R](), resultType))
		asGo = func(obj cty.Value) (Result, bool) {
			var r R
			if !c.lazy || c.fields.decode(obj, reflect.ValueOf(&r).Elem()) != nil || !c.prepare(reflect.ValueOf(&r).Elem()) {
				return Result{}, false
			}
			var d time.Duration
			if obj.Type().HasAttribute("duration_ms") {
				if ms := obj.GetAttr("duration_ms"); ms.Type() == cty.Number && !ms.IsNull() {
					f, _ := ms.AsBigFloat().Float64()
					d = time.Duration(f * float64(time.Millisecond))
				}
			}
			return Result{obs: &lazy[R]{r: r, dur: d, codec: c}}, true
		}
		encode = func(r R, start time.Time) (Result, error) {
			var d time.Duration
			if !start.IsZero() {
				d = time.Since(start)
				if c.lazy {
					// Readied where it stays, which spares r a copy on
					// the heap of its own.
					l := &lazy[R]{r: r, dur: d, codec: c}
					if c.prepare(reflect.ValueOf(&l.r).Elem()) {
						return Result{obs: l}, nil
					}
					r = l.r
				}
			}
			v, err := c.fields.encode(reflect.ValueOf(&r).Elem(), d, !start.IsZero())
			return ResultOf(v), err
		}
	}
	return Probe{
		config:     reflect.TypeFor[C](),
		defaults:   reflect.ValueOf(defaults),
		result:     reflect.TypeFor[R](),
		resultType: resultType,
		names:      decode.names(),
		asGo:       asGo,
		call: func(ctx context.Context, args Args, obj cty.Value, start time.Time) (Result, error) {
			var cfg C
			var err error
			if args != nil {
				err = decode.decodeArgs(args, reflect.ValueOf(&cfg).Elem())
			} else {
				err = decode.decode(obj, reflect.ValueOf(&cfg).Elem())
			}
			if err != nil {
				return Result{}, fmt.Errorf("internal error decoding arguments into %T: %w", cfg, err)
			}
			r, err := probe(ctx, cfg)
			if err != nil {
				return Result{}, err
			}
			res, err := encode(r, start)
			if err != nil {
				return Result{}, fmt.Errorf("internal error encoding %T: %w", r, err)
			}
			return res, nil
		},
	}
}

// derive checks a kind as written and fills in what Register derives: the
// arguments from the Config struct and Docs, the result type from the
// result struct.
func derive(k Kind) (*Kind, error) {
	if k.Name == "" {
		return nil, errors.New("a kind needs a name")
	}
	if k.Probe.call == nil {
		return nil, errors.New("a kind needs a probe, made with checks.Typed")
	}
	if k.Args != nil || k.Result != cty.NilType {
		return nil, errors.New("Args and Result are derived from the probe's Config and Result structs; declare arguments as Config fields and document them in Docs")
	}
	if !k.Probe.resultType.IsObjectType() {
		return nil, fmt.Errorf("the result %s is not a struct", k.Probe.result)
	}
	args, err := argsOf(k.Probe.config, k.Probe.defaults, k.Docs)
	if err != nil {
		return nil, err
	}
	// The probe decodes Args by position: its fields must be the
	// arguments, in their order.
	if len(args) != len(k.Probe.names) {
		return nil, fmt.Errorf("the probe decodes %d fields of %s, but it declares %d arguments", len(k.Probe.names), k.Probe.config, len(args))
	}
	for n, a := range args {
		if cty.NormalizeString(a.Name) != k.Probe.names[n] {
			return nil, fmt.Errorf("argument %d of %s is %q, but the probe decodes %q there", n, k.Probe.config, a.Name, k.Probe.names[n])
		}
	}
	seen := map[string]bool{}
	for _, e := range k.Expect {
		switch {
		case e.Name == "" || e.Compare == nil:
			return nil, fmt.Errorf("expectation %q needs a name and a Compare function", e.Name)
		case seen[e.Name]:
			return nil, fmt.Errorf("expectation %q declared twice", e.Name)
		case e.result != nil && e.result != k.Probe.result:
			return nil, fmt.Errorf("expectation %q compares a %s, but the probe returns a %s", e.Name, e.result, k.Probe.result)
		}
		seen[e.Name] = true
	}
	kind := k
	kind.Args, kind.Result = args, k.Probe.resultType
	// An expectation whose Compare a kind wrapped after it was made judges
	// the object: its direct way is the unwrapped one's.
	kind.Expect = slices.Clone(k.Expect)
	for n, e := range kind.Expect {
		if e.direct != nil && reflect.ValueOf(e.Compare).Pointer() != e.directFor {
			kind.Expect[n].direct = nil
		}
	}
	return &kind, nil
}

// argsOf derives the arguments from the fields of the Config struct t.
func argsOf(t reflect.Type, defaults reflect.Value, docs map[string]ArgDoc) ([]Arg, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the probe's configuration %s is not a struct", t)
	}
	var args []Arg
	documented := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, ok := f.Tag.Lookup("cty")
		name, option, _ := strings.Cut(tag, ",")
		if !ok || name == "" {
			return nil, fmt.Errorf("field %s of %s has no cty tag naming its argument", f.Name, t)
		}
		if option != "" && option != "optional" {
			return nil, fmt.Errorf("field %s of %s: unknown cty tag option %q (only \"optional\" is known)", f.Name, t, option)
		}
		doc, ok := docs[name]
		if !ok {
			return nil, fmt.Errorf("argument %q (field %s) has no entry in Docs", name, f.Name)
		}
		documented[name] = true
		ft := f.Type
		pointer := ft.Kind() == reflect.Pointer
		if pointer {
			ft = ft.Elem()
		}
		typ, err := gocty.ImpliedType(reflect.Zero(ft).Interface())
		if err != nil {
			return nil, fmt.Errorf("argument %q (field %s): %v", name, f.Name, err)
		}
		a := Arg{Name: name, Type: typ, Required: !pointer && option != "optional", Default: cty.NilVal, Doc: doc.Doc, Validate: doc.Validate}
		dv := defaults.Field(i)
		switch {
		case a.Required && !dv.IsZero():
			return nil, fmt.Errorf("argument %q is required (neither a pointer nor tagged \",optional\") but has a default", name)
		case a.Required, pointer && dv.IsNil():
		default:
			if pointer {
				dv = dv.Elem()
			}
			v, err := gocty.ToCtyValue(dv.Interface(), typ)
			if err != nil {
				return nil, fmt.Errorf("default of argument %q: %v", name, err)
			}
			if !v.IsNull() {
				a.Default = v
			}
		}
		args = append(args, a)
	}
	for name := range docs {
		if !documented[name] {
			return nil, fmt.Errorf("Docs has an entry for %q, which no field of %s declares", name, t)
		}
	}
	return args, nil
}

// field is one tagged field of a struct and its attribute.
type field struct {
	name  string
	index int
	kind  reflect.Kind // of the field; reflect.Invalid sends it through gocty
	elem  reflect.Kind // for kind reflect.Pointer: what it points to (Float64, String)
	typ   cty.Type     // the attribute's type, for encoding
	// strs is reflect.Map for a map[string]string field and reflect.Slice
	// for a []string one (headers, answers, names): common enough in
	// configurations and results to decode without gocty's reflection.
	strs reflect.Kind
}

type fields []field

// fieldsOf works out the tagged fields of struct t; obj is the object type
// to encode into, or cty.NilType for a struct that is only decoded into.
// Callers keep the answer (in a closure), so nothing is cached here: a
// cache keyed by the Go type alone would hand a struct that is both a
// configuration and a result the fields of whichever use came first.
func fieldsOf(t reflect.Type, obj cty.Type) fields {
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("checks: %s is not a struct", t))
	}
	var out fields
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("cty"), ",")
		if name == "" {
			continue
		}
		name = cty.NormalizeString(name) // as cty keeps attribute names
		fl := field{name: name, index: i, kind: f.Type.Kind()}
		switch fl.kind {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		default:
			fl.kind = reflect.Invalid
		}
		if obj != cty.NilType {
			fl.typ = obj.AttributeType(name)
		}
		switch f.Type {
		case reflect.TypeFor[map[string]string]():
			fl.strs = reflect.Map
		case reflect.TypeFor[[]string]():
			fl.strs = reflect.Slice
		}
		// Maps and lists of strings (headers, answers, names) are common
		// enough in results to encode without gocty's reflection too.
		// So are numbers that may be null (ping's round-trip times).
		switch {
		case fl.kind != reflect.Invalid:
		case fl.strs == reflect.Map && fl.typ.Equals(cty.Map(cty.String)):
			fl.kind = reflect.Map
		case fl.strs == reflect.Slice && fl.typ.Equals(cty.List(cty.String)):
			fl.kind = reflect.Slice
		case f.Type == reflect.TypeFor[*float64]() && (obj == cty.NilType || fl.typ == cty.Number):
			fl.kind, fl.elem = reflect.Pointer, reflect.Float64
		case f.Type == reflect.TypeFor[*string]() && (obj == cty.NilType || fl.typ == cty.String):
			fl.kind, fl.elem = reflect.Pointer, reflect.String
		}
		out = append(out, fl)
	}
	return out
}

// encode makes the object of struct v, with duration_ms d when timed.
func (fs fields) encode(v reflect.Value, d time.Duration, timed bool) (cty.Value, error) {
	attrs := make(map[string]cty.Value, len(fs)+1)
	if timed {
		attrs["duration_ms"] = durationValue(d)
	}
	for _, f := range fs {
		cv, err := f.value(v.Field(f.index))
		if err != nil {
			return cty.NilVal, err
		}
		attrs[f.name] = cv
	}
	return cty.ObjectVal(attrs), nil
}

// value is the attribute of the field's value fv.
func (f field) value(fv reflect.Value) (cty.Value, error) {
	switch f.kind {
	case reflect.String:
		return cty.StringVal(fv.String()), nil
	case reflect.Bool:
		return cty.BoolVal(fv.Bool()), nil
	case reflect.Int, reflect.Int64:
		return cty.NumberIntVal(fv.Int()), nil
	case reflect.Float64:
		return cty.NumberFloatVal(fv.Float()), nil
	case reflect.Map:
		return stringMap(fv), nil
	case reflect.Slice:
		return stringList(fv), nil
	case reflect.Pointer:
		switch {
		case f.elem == reflect.String && fv.IsNil():
			return cty.NullVal(cty.String), nil // as gocty encodes a nil *string
		case f.elem == reflect.String:
			return cty.StringVal(fv.Elem().String()), nil
		case fv.IsNil():
			return cty.NullVal(cty.Number), nil
		}
		return cty.NumberFloatVal(fv.Elem().Float()), nil
	}
	cv, err := gocty.ToCtyValue(fv.Interface(), f.typ)
	if err != nil {
		return cty.NilVal, fmt.Errorf("field %s: %w", f.name, err)
	}
	return cv, nil
}

// stringMap encodes a map of strings as gocty does: nil is null, empty is
// an empty map.
func stringMap(m reflect.Value) cty.Value {
	switch {
	case m.IsNil():
		return cty.NullVal(cty.Map(cty.String))
	case m.Len() == 0:
		return cty.MapValEmpty(cty.String)
	}
	vals := make(map[string]cty.Value, m.Len())
	for it := m.MapRange(); it.Next(); {
		vals[it.Key().String()] = cty.StringVal(it.Value().String())
	}
	return cty.MapVal(vals)
}

// stringList encodes a slice of strings as gocty does: nil is null, empty
// is an empty list.
func stringList(l reflect.Value) cty.Value {
	switch {
	case l.IsNil():
		return cty.NullVal(cty.List(cty.String))
	case l.Len() == 0:
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, l.Len())
	for i := range vals {
		vals[i] = cty.StringVal(l.Index(i).String())
	}
	return cty.ListVal(vals)
}

// stringsOfMap decodes a known map of strings without null elements as
// gocty does; ok is false for anything else, which gocty then decodes (or
// reports) itself.
func stringsOfMap(v cty.Value) (map[string]string, bool) {
	if !v.IsWhollyKnown() || v.IsMarked() {
		return nil, false
	}
	m := make(map[string]string, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			return nil, false
		}
		m[k.AsString()] = e.AsString()
	}
	return m, true
}

// stringsOfList is stringsOfMap for a list of strings.
func stringsOfList(v cty.Value) ([]string, bool) {
	// Each element is looked at anyway: IsWhollyKnown would walk them
	// first, making each one's index.
	if !v.IsKnown() || v.IsMarked() {
		return nil, false
	}
	n := v.LengthInt()
	l := make([]string, 0, n)
	add := func(e cty.Value) bool {
		if !e.IsKnown() || e.IsNull() || e.IsMarked() {
			return false
		}
		l = append(l, e.AsString())
		return true
	}
	if n <= len(smallIndexes) {
		// By index: an iterator makes each element's index anew.
		for _, i := range smallIndexes[:n] {
			if !add(v.Index(i)) {
				return nil, false
			}
		}
		return l, true
	}
	for it := v.ElementIterator(); it.Next(); {
		if _, e := it.Element(); !add(e) {
			return nil, false
		}
	}
	return l, true
}

// names are the attribute names of the fields, in order.
func (fs fields) names() []string {
	out := make([]string, len(fs))
	for n, f := range fs {
		out[n] = f.name
	}
	return out
}

func (fs fields) decode(obj cty.Value, into reflect.Value) error {
	// The attribute types by name, looked up without HasAttribute's
	// normalisation of the name (fieldsOf normalised it once).
	attrs := obj.Type().AttributeTypes()
	for _, f := range fs {
		if _, ok := attrs[f.name]; !ok {
			continue
		}
		if err := f.set(obj.GetAttr(f.name), into.Field(f.index)); err != nil {
			return err
		}
	}
	return nil
}

// decodeArgs decodes a value per field, in the order of the fields (which
// derive checks is the order of Kind.Args).
func (fs fields) decodeArgs(args Args, into reflect.Value) error {
	if len(args) != len(fs) {
		return fmt.Errorf("%d arguments for %d fields", len(args), len(fs))
	}
	for n, f := range fs {
		if err := f.set(args[n], into.Field(f.index)); err != nil {
			return err
		}
	}
	return nil
}

// set decodes av into the field fv.
func (f field) set(av cty.Value, fv reflect.Value) error {
	if av.IsNull() {
		return nil // the zero value, or a nil pointer for an optional argument
	}
	switch {
	case f.kind == reflect.String && av.Type() == cty.String:
		fv.SetString(av.AsString())
		return nil
	case f.kind == reflect.Bool && av.Type() == cty.Bool:
		fv.SetBool(IsTrue(av))
		return nil
	case (f.kind == reflect.Int || f.kind == reflect.Int64) && av.Type() == cty.Number:
		if n, acc := av.AsBigFloat().Int64(); acc == big.Exact {
			fv.SetInt(n)
			return nil
		}
	case f.kind == reflect.Float64 && av.Type() == cty.Number:
		n, _ := av.AsBigFloat().Float64()
		fv.SetFloat(n)
		return nil
	case f.kind == reflect.Pointer && f.elem == reflect.String && av.Type() == cty.String:
		str := av.AsString()
		fv.Set(reflect.ValueOf(&str))
		return nil
	case f.kind == reflect.Pointer && f.elem == reflect.Float64 && av.Type() == cty.Number:
		n, _ := av.AsBigFloat().Float64()
		fv.Set(reflect.ValueOf(&n))
		return nil
	case f.strs == reflect.Map && av.Type().IsMapType() && av.Type().ElementType() == cty.String:
		if m, ok := stringsOfMap(av); ok {
			fv.Set(reflect.ValueOf(m))
			return nil
		}
	case f.strs == reflect.Slice && av.Type().IsListType() && av.Type().ElementType() == cty.String:
		if l, ok := stringsOfList(av); ok {
			fv.Set(reflect.ValueOf(l))
			return nil
		}
	}
	if err := gocty.FromCtyValue(av, fv.Addr().Interface()); err != nil {
		return fmt.Errorf("attribute %s: %w", f.name, err)
	}
	return nil
}

// ValidateConfig makes a Kind.Validate of a function over the kind's
// Config, for arguments that go together (exactly one of two forms). The
// loader calls it only when every argument is known; fn sees them decoded
// as the probe would.
func ValidateConfig[C any](fn func(cfg C) error) func(args cty.Value) error {
	// Read when first used: a kind's package makes its validator when it
	// starts, and most runs never use most kinds.
	decode := sync.OnceValue(func() fields { return fieldsOf(reflect.TypeFor[C](), cty.NilType) })
	return func(args cty.Value) error {
		if !args.IsWhollyKnown() {
			return nil
		}
		var cfg C
		if err := decode().decode(args, reflect.ValueOf(&cfg).Elem()); err != nil {
			return nil // a type problem the loader reports on its own
		}
		return fn(cfg)
	}
}
