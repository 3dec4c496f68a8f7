package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"sort"
	"strconv"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// fastJSON writes what ctyjson.Marshal(plain(v)) writes, byte for byte, for
// the values most results are: objects whose attributes are strings,
// numbers, bools, nulls, and lists and maps of those, none marked or
// unknown. It reports false for anything else, which takes the general
// path. A report of 10,000 checks spent a tenth of the process's CPU time
// in plain's rebuilt values and ctyjson's reflection on each string.
func fastJSON(v cty.Value) ([]byte, bool) {
	var b bytes.Buffer
	b.Grow(256) // most results at once, rather than grown three times
	if !writeFast(&b, v, 0) {
		return nil, false
	}
	return b.Bytes(), true
}

func writeFast(b *bytes.Buffer, v cty.Value, depth int) bool {
	if v.IsMarked() || !v.IsKnown() {
		return false
	}
	if v.IsNull() {
		if v.Type() == cty.DynamicPseudoType {
			return false
		}
		b.WriteString("null")
		return true
	}
	t := v.Type()
	switch {
	case t == cty.String:
		writeText(b, v.AsString())
	case t == cty.Number:
		f := v.AsBigFloat()
		if f.IsInf() {
			return false
		}
		writeNumber(b, f)
	case t == cty.Bool:
		if checks.IsTrue(v) {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case t.IsObjectType() && depth == 0:
		atys := t.AttributeTypes()
		names := make([]string, 0, len(atys))
		for name := range atys {
			names = append(names, name)
		}
		sort.Strings(names)
		b.WriteByte('{')
		for n, name := range names {
			if n > 0 {
				b.WriteByte(',')
			}
			writeString(b, name)
			b.WriteByte(':')
			if !writeFast(b, v.GetAttr(name), depth+1) {
				return false
			}
		}
		b.WriteByte('}')
	case (t.IsListType() || t.IsMapType()) && t.ElementType().IsPrimitiveType() && depth > 0:
		isMap := t.IsMapType()
		if isMap {
			b.WriteByte('{')
		} else {
			b.WriteByte('[')
		}
		n := 0
		for it := v.ElementIterator(); it.Next(); n++ {
			k, e := it.Element()
			if n > 0 {
				b.WriteByte(',')
			}
			if isMap {
				writeString(b, k.AsString())
				b.WriteByte(':')
			}
			if !writeFast(b, e, depth+1) {
				return false
			}
		}
		if isMap {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	default:
		return false
	}
	return true
}

// writeText writes a string of a result, s (in normal form C, as cty
// holds strings), cut as plain cuts it.
func writeText(b *bytes.Buffer, s string) {
	if len(s) > valueLimit {
		s = cty.StringVal(cut(s, valueLimit)).AsString() // as plain does
	}
	writeString(b, s)
}

// writeInt writes n as writeNumber writes cty.NumberIntVal(n).
func writeInt(b *bytes.Buffer, n int64) {
	if -1<<53 < n && n < 1<<53 {
		var buf [24]byte
		b.Write(strconv.AppendInt(buf[:0], n, 10))
		return
	}
	writeNumber(b, new(big.Float).SetInt64(n))
}

// writeFloat writes x as writeNumber writes cty.NumberFloatVal(x), a
// big.Float of 53 bits: its two strconv cases without making one.
func writeFloat(b *bytes.Buffer, x float64) {
	var buf [32]byte
	switch k := math.Round(x * 1000); {
	case x == math.Trunc(x) && math.Abs(x) < 1<<53 && !(x == 0 && math.Signbit(x)):
		b.Write(strconv.AppendInt(buf[:0], int64(x), 10))
	case math.Abs(k) < 1<<53 && k/1000 == x && x != 0:
		b.Write(strconv.AppendFloat(buf[:0], x, 'f', -1, 64))
	default:
		writeNumber(b, new(big.Float).SetFloat64(x))
	}
}

// writeNumber writes f as ctyjson does, f.Text('f', -1), which costs a
// dozen allocations a number; a result holds a few (a port, duration_ms).
// The two kinds of number results are made of take strconv's way, which
// writes the same digits for them (TestWriteNumber): integers of fewer than
// 54 bits (shortest digits at 53 bits or more are all of an integer's
// digits), and float64s of a whole number of thousandths, duration_ms
// (strconv's shortest digits are big.Float's at 53 bits, its float64
// precision; for these values no rounding tie can tell them apart).
func writeNumber(b *bytes.Buffer, f *big.Float) {
	var buf [32]byte
	if f.IsInt() && f.Prec() >= 53 && !(f.Sign() == 0 && f.Signbit()) {
		if n, acc := f.Int64(); acc == big.Exact && -1<<53 < n && n < 1<<53 {
			b.Write(strconv.AppendInt(buf[:0], n, 10))
			return
		}
	}
	if f.Prec() == 53 {
		if x, acc := f.Float64(); acc == big.Exact {
			if k := math.Round(x * 1000); math.Abs(k) < 1<<53 && k/1000 == x && x != 0 {
				b.Write(strconv.AppendFloat(buf[:0], x, 'f', -1, 64))
				return
			}
		}
	}
	b.WriteString(f.Text('f', -1))
}

// writeString writes s as encoding/json does, which is what ctyjson uses:
// printable ASCII without quotes, backslashes or HTML's <, > and & is
// written as it is, anything else goes through encoding/json.
func writeString(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			b.Write(q)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}
