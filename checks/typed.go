package checks

import (
	"context"
	"fmt"
	"reflect"

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
func Typed[C, R any](probe func(ctx context.Context, cfg C) (R, error)) ProbeFunc {
	resultType := TypeOf[R]()
	return func(ctx context.Context, args cty.Value) (cty.Value, error) {
		var cfg C
		if err := gocty.FromCtyValue(args, &cfg); err != nil {
			return cty.NilVal, fmt.Errorf("internal error decoding arguments into %s: %w", reflect.TypeOf(cfg), err)
		}
		r, err := probe(ctx, cfg)
		if err != nil {
			return cty.NilVal, err
		}
		v, err := gocty.ToCtyValue(r, resultType)
		if err != nil {
			return cty.NilVal, fmt.Errorf("internal error encoding %T: %w", r, err)
		}
		return v, nil
	}
}
