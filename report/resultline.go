package report

import (
	"bytes"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// appendResult appends r as encoding/json writes it with HTML escaping off,
// followed by a newline, for the result lines of a run: most of the time of
// the JSON-lines report went to encoding/json's reflection over Result and
// to re-scanning the observed object it already holds as JSON. It declines
// (false) what it does not write byte for byte the same, which then takes
// encoding/json: a string with a byte that JSON escapes or that is not
// ASCII (a quote or a backslash it escapes as encoding/json does: every
// for_each instance's address holds quotes, tcp.web["a"]), a duration
// outside the range written without an exponent, diffs that are nil. Observed and the diffs' values must be compact JSON, as
// jsonValue makes them (TestResultLineIsEncodingJSON).
//
// When r has no Observed, observed (the outcome's Result) is written in
// its place as jsonValue writes it, straight into the line: that spares
// every check a buffer of its own for it.
func appendResult(b []byte, r *Result, observed checks.Result) ([]byte, bool) {
	if r.Diffs == nil || !finiteFixed(r.DurationMS) {
		return b, false
	}
	ok := true
	str := func(key, s string) {
		b = append(b, key...)
		if ok {
			b, ok = appendASCII(b, s)
		}
	}
	strs := func(key string, ss []string) {
		b = append(b, key...)
		b = append(b, '[')
		for k, s := range ss {
			if k > 0 {
				b = append(b, ',')
			}
			str("", s)
		}
		b = append(b, ']')
	}
	raw := func(key string, m []byte) {
		b = append(b, key...)
		if m == nil {
			m = []byte("null")
		}
		b = append(b, m...)
	}
	str(`{"type":`, r.Type)
	str(`,"address":`, r.Address)
	str(`,"kind":`, r.Kind)
	str(`,"status":`, r.Status)
	b = strconv.AppendFloat(append(b, `,"duration_ms":`...), r.DurationMS, 'f', -1, 64)
	str(`,"message":`, r.Message)
	b = append(b, `,"diffs":[`...)
	for k, d := range r.Diffs {
		if k > 0 {
			b = append(b, ',')
		}
		str(`{"field":`, d.Field)
		raw(`,"expected":`, d.Expected)
		raw(`,"actual":`, d.Actual)
		str(`,"expected_text":`, d.ExpectedText)
		str(`,"actual_text":`, d.ActualText)
		b = append(b, '}')
	}
	b = append(b, ']')
	str(`,"file":`, r.File)
	b = strconv.AppendInt(append(b, `,"line":`...), int64(r.Line), 10)
	if r.Description != "" {
		str(`,"description":`, r.Description)
	}
	if len(r.Tags) > 0 {
		strs(`,"tags":`, r.Tags)
	}
	if r.Vantage != "" {
		str(`,"vantage":`, r.Vantage)
	}
	if len(r.DependsOn) > 0 {
		strs(`,"depends_on":`, r.DependsOn)
	}
	b = strconv.AppendInt(append(b, `,"attempts":`...), int64(r.Attempts), 10)
	b = strconv.AppendInt(append(b, `,"max_attempts":`...), int64(r.MaxAttempts), 10)
	if r.SkipReason != "" {
		str(`,"skip_reason":`, r.SkipReason)
	}
	if len(r.Observed) > 0 {
		raw(`,"observed":`, r.Observed)
	} else if !observed.IsNil() {
		mark := len(b)
		var fast bool
		if b, fast = appendObserved(append(b, `,"observed":`...), observed); !fast {
			b = b[:mark]
			if m := jsonValue(observed.Value(), true); len(m) > 0 {
				raw(`,"observed":`, m)
			}
		}
	}
	if r.Capture != "" {
		str(`,"capture":`, r.Capture)
	}
	if r.Interrupted {
		b = append(b, `,"interrupted":true`...)
	}
	b = append(b, "}\n"...)
	return b, ok
}

// appendObserved appends what jsonValue(r.Value(), true) makes of the
// result by fastJSON, or declines (and what it appended is to be cut off).
// A result that is still the probe's Go struct is written from its fields
// (appendAttrs), without making its object.
func appendObserved(b []byte, r checks.Result) ([]byte, bool) {
	buf := *bytes.NewBuffer(b) // on the stack: a result line is written for every check
	if r.IsGo() {
		if appendAttrs(&buf, r) {
			return buf.Bytes(), true
		}
		buf.Truncate(len(b))
	}
	v := r.Value()
	if v == cty.NilVal || !v.Type().IsObjectType() || v.IsMarked() || !v.IsKnown() || v.IsNull() {
		return b, false
	}
	ok := writeFast(&buf, v, 0)
	return buf.Bytes(), ok
}

// appendAttrs writes what writeFast writes of r's object from the probe's
// Go struct, attribute by attribute (checks.Result.Attr), or declines when
// r is not such a struct or holds an attribute it does not write.
// TestAttrsAreTheObject holds the two to the same bytes.
func appendAttrs(b *bytes.Buffer, r checks.Result) bool {
	b.WriteByte('{')
	for n := 0; ; n++ {
		a, ok := r.Attr(n)
		if !ok {
			if n == 0 {
				return false
			}
			break
		}
		if n > 0 {
			b.WriteByte(',')
		}
		writeString(b, a.Name)
		b.WriteByte(':')
		if a.Null {
			b.WriteString("null")
			continue
		}
		switch a.Kind {
		case reflect.String:
			writeText(b, a.String)
		case reflect.Bool:
			if a.Bool {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
		case reflect.Int64:
			writeInt(b, a.Int)
		case reflect.Float64:
			writeFloat(b, a.Float)
		case reflect.Slice:
			b.WriteByte('[')
			for k, s := range a.Strings {
				if k > 0 {
					b.WriteByte(',')
				}
				writeText(b, s)
			}
			b.WriteByte(']')
		case reflect.Map:
			keys := slices.Sorted(maps.Keys(a.Map))
			b.WriteByte('{')
			for k, key := range keys {
				if k > 0 {
					b.WriteByte(',')
				}
				writeString(b, key)
				b.WriteByte(':')
				writeText(b, a.Map[key])
			}
			b.WriteByte('}')
		default:
			return false
		}
	}
	b.WriteByte('}')
	return true
}

// appendASCII appends s between quotes as encoding/json writes it, when s
// is printable ASCII: as it is, but for a backslash before each quote and
// backslash. For anything else (a control character, a byte that is not
// ASCII) it reports false and what it appended is to be cut off.
func appendASCII(b []byte, s string) ([]byte, bool) {
	b = append(b, '"')
	from := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e:
			return b, false
		case c == '"' || c == '\\':
			b = append(append(b, s[from:i]...), '\\', c)
			from = i + 1
		}
	}
	b = append(append(b, s[from:]...), '"')
	return b, true
}

// finiteFixed reports whether encoding/json writes f as strconv's shortest
// 'f' format: a finite number that is 0 or between 1e-6 and 1e21.
func finiteFixed(f float64) bool {
	a := math.Abs(f)
	return !math.IsNaN(f) && (a == 0 || (a >= 1e-6 && a < 1e21))
}
