package checks

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// TypeOf returns the cty object type of a Go struct whose fields carry `cty`
// tags. A kind declares its result as a struct and derives Kind.Result from it,
// so the type users reference and the values the probe returns cannot drift.
func TypeOf[T any]() cty.Type {
	var zero T
	t, err := gocty.ImpliedType(zero)
	if err != nil {
		panic(fmt.Sprintf("checks: %T has no cty type: %v", zero, err))
	}
	return t
}

// Typed adapts a probe written with Go structs to a ProbeFunc. The arguments
// object is decoded into C (fields tagged `cty:"name"`; a pointer field takes
// an optional argument) and the returned R is encoded with the type TypeOf[R].
//
// It converts with gocty's rules, but works out each struct's fields once,
// not on every call, and converts plain strings, numbers and bools itself:
// in a suite of thousands of checks, reflection per field per check would
// cost as much as the probe.
func Typed[C, R any](probe func(ctx context.Context, cfg C) (R, error)) ProbeFunc {
	resultType := TypeOf[R]()
	decode := fieldsOf(reflect.TypeFor[C](), cty.NilType)
	encode := fieldsOf(reflect.TypeFor[R](), resultType)
	return func(ctx context.Context, args cty.Value) (cty.Value, error) {
		var cfg C
		if err := decode.decode(args, reflect.ValueOf(&cfg).Elem()); err != nil {
			return cty.NilVal, fmt.Errorf("internal error decoding arguments into %T: %w", cfg, err)
		}
		r, err := probe(ctx, cfg)
		if err != nil {
			return cty.NilVal, err
		}
		v, err := encode.encode(reflect.ValueOf(r))
		if err != nil {
			return cty.NilVal, fmt.Errorf("internal error encoding %T: %w", r, err)
		}
		return v, nil
	}
}

// field is one tagged field of a struct and its attribute.
type field struct {
	name  string
	index int
	kind  reflect.Kind // of the field; reflect.Invalid sends it through gocty
	typ   cty.Type     // the attribute's type, for encoding
}

type fields []field

var fieldCache sync.Map // reflect.Type → fields

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
		fl := field{name: name, index: i, kind: f.Type.Kind()}
		switch fl.kind {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		default:
			fl.kind = reflect.Invalid
		}
		if obj != cty.NilType {
			fl.typ = obj.AttributeType(name)
		}
		// Maps and lists of strings (headers, answers, names) are common
		// enough in results to encode without gocty's reflection too.
		switch {
		case fl.kind != reflect.Invalid:
		case f.Type.Kind() == reflect.Map && f.Type.Key().Kind() == reflect.String && f.Type.Elem().Kind() == reflect.String && fl.typ.Equals(cty.Map(cty.String)):
			fl.kind = reflect.Map
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String && fl.typ.Equals(cty.List(cty.String)):
			fl.kind = reflect.Slice
		}
		out = append(out, fl)
	}
	if cached, ok := fieldCache.LoadOrStore(t, out); ok {
		return cached.(fields)
	}
	return out
}

func (fs fields) encode(v reflect.Value) (cty.Value, error) {
	attrs := make(map[string]cty.Value, len(fs))
	for _, f := range fs {
		fv := v.Field(f.index)
		switch f.kind {
		case reflect.String:
			attrs[f.name] = cty.StringVal(fv.String())
		case reflect.Bool:
			attrs[f.name] = cty.BoolVal(fv.Bool())
		case reflect.Int, reflect.Int64:
			attrs[f.name] = cty.NumberIntVal(fv.Int())
		case reflect.Float64:
			attrs[f.name] = cty.NumberFloatVal(fv.Float())
		case reflect.Map:
			attrs[f.name] = stringMap(fv)
		case reflect.Slice:
			attrs[f.name] = stringList(fv)
		default:
			cv, err := gocty.ToCtyValue(fv.Interface(), f.typ)
			if err != nil {
				return cty.NilVal, fmt.Errorf("field %s: %w", f.name, err)
			}
			attrs[f.name] = cv
		}
	}
	return cty.ObjectVal(attrs), nil
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

func (fs fields) decode(obj cty.Value, into reflect.Value) error {
	for _, f := range fs {
		if !obj.Type().HasAttribute(f.name) {
			continue
		}
		av := obj.GetAttr(f.name)
		fv := into.Field(f.index)
		if av.IsNull() {
			continue // the zero value, or a nil pointer for an optional argument
		}
		switch {
		case f.kind == reflect.String && av.Type() == cty.String:
			fv.SetString(av.AsString())
			continue
		case f.kind == reflect.Bool && av.Type() == cty.Bool:
			fv.SetBool(av.True())
			continue
		case (f.kind == reflect.Int || f.kind == reflect.Int64) && av.Type() == cty.Number:
			if n, acc := av.AsBigFloat().Int64(); acc == big.Exact {
				fv.SetInt(n)
				continue
			}
		case f.kind == reflect.Float64 && av.Type() == cty.Number:
			n, _ := av.AsBigFloat().Float64()
			fv.SetFloat(n)
			continue
		}
		if err := gocty.FromCtyValue(av, fv.Addr().Interface()); err != nil {
			return fmt.Errorf("argument %s: %w", f.name, err)
		}
	}
	return nil
}
