package checks

import (
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// ValidPort accepts whole numbers from 1 to 65535.
func ValidPort(v cty.Value) error {
	return IntRange(1, 65535)(v)
}

// IntRange returns a validator for whole numbers from lo to hi inclusive.
func IntRange(lo, hi int64) func(cty.Value) error {
	return func(v cty.Value) error {
		f := v.AsBigFloat()
		if !f.IsInt() || f.Cmp(big.NewFloat(float64(lo))) < 0 || f.Cmp(big.NewFloat(float64(hi))) > 0 {
			return fmt.Errorf("must be a whole number from %d to %d, got %s", lo, hi, Show(v))
		}
		return nil
	}
}

// ValidDuration accepts Go durations such as "500ms", "3s" or "1m30s" that are
// not negative.
func ValidDuration(v cty.Value) error {
	d, err := time.ParseDuration(v.AsString())
	if err != nil {
		return fmt.Errorf("%q is not a duration; write a number with a unit, such as \"500ms\", \"3s\" or \"1m\"", v.AsString())
	}
	if d < 0 {
		return fmt.Errorf("a duration cannot be negative, got %q", v.AsString())
	}
	return nil
}

// ValidRegexp accepts RE2 regular expressions, the syntax of Go's regexp package.
func ValidRegexp(v cty.Value) error {
	if _, err := regexp.Compile(v.AsString()); err != nil {
		return fmt.Errorf("invalid regular expression: %v", err)
	}
	return nil
}

// ValidURL accepts absolute URLs with one of the given schemes.
func ValidURL(schemes ...string) func(cty.Value) error {
	return func(v cty.Value) error {
		u, err := url.Parse(v.AsString())
		if err != nil {
			return fmt.Errorf("invalid URL: %v", err)
		}
		for _, s := range schemes {
			if u.Scheme == s && u.Host != "" {
				return nil
			}
		}
		return fmt.Errorf("%q is not an absolute URL with scheme %s (e.g. %s://host:port/path)", v.AsString(), strings.Join(schemes, " or "), schemes[0])
	}
}

// OneOf accepts strings from a fixed list, case-sensitively.
func OneOf(choices ...string) func(cty.Value) error {
	return func(v cty.Value) error {
		for _, c := range choices {
			if v.AsString() == c {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v.AsString(), strings.Join(quoteAll(choices), ", "))
	}
}
