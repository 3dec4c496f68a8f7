// Package sysctl is the sysctl check: what value does a kernel parameter
// have on the machine nettest runs on?
//
// It reads the parameter's file below /proc/sys, as sysctl(8) does, and never
// writes one. Values are compared with their whitespace normalised, because
// the kernel separates the numbers of a multi-number value with tabs
// (net.ipv4.ip_local_port_range reads "32768\t60999") while people write
// spaces.
package sysctl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// Root is where the kernel publishes its parameters.
const Root = "/proc/sys"

// Config is what a sysctl block says.
type Config struct {
	Key string `cty:"key"`
}

// Result is what a sysctl check observed. It is built by hand rather than
// with checks.TypeOf because numbers may exceed 64 bits (kernel.shmall
// defaults to 18446744073692774399) and gocty has no Go type for that.
type Result struct {
	Key  string
	Path string
	// Value is the file's content with runs of whitespace turned into one
	// space and both ends trimmed.
	Value string
	// Numbers holds every space-separated field of Value when all of them
	// are whole numbers, and is empty otherwise.
	Numbers []*big.Int
}

// resultType is the object type of a sysctl result.
var resultType = cty.Object(map[string]cty.Type{
	"key":     cty.String,
	"path":    cty.String,
	"value":   cty.String,
	"number":  cty.Number,
	"numbers": cty.List(cty.Number),
})

// ObjectType is the object type of every result, for checks.Encoded.
func (Result) ObjectType() cty.Type { return resultType }

// Object encodes the result. number is the value as a number when the value
// is exactly one whole number, and null otherwise.
func (r Result) Object() cty.Value {
	number := cty.NullVal(cty.Number)
	if len(r.Numbers) == 1 {
		number = cty.NumberVal(new(big.Float).SetInt(r.Numbers[0]))
	}
	numbers := cty.ListValEmpty(cty.Number)
	if len(r.Numbers) > 0 {
		vals := make([]cty.Value, len(r.Numbers))
		for i, n := range r.Numbers {
			vals[i] = cty.NumberVal(new(big.Float).SetInt(n))
		}
		numbers = cty.ListVal(vals)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"key":     cty.StringVal(r.Key),
		"path":    cty.StringVal(r.Path),
		"value":   cty.StringVal(r.Value),
		"number":  number,
		"numbers": numbers,
	})
}

func init() {
	checks.RegisterFunc("sysctl", func() checks.Kind {
		return checks.Kind{
			Name:    "sysctl",
			Summary: "Reads a kernel parameter from /proc/sys and compares its value.",
			Docs: map[string]checks.ArgDoc{
				"key": {Doc: `The parameter, dotted as sysctl(8) writes it ("net.core.somaxconn") or as a path below /proc/sys ("net/core/somaxconn").`, Validate: ValidKey},
			},
			Expect: []checks.Expectation{
				{Name: "value", Type: cty.String, Compare: compareValue,
					Doc: `The exact value, compared after turning runs of whitespace into one space: "32768 60999" matches the kernel's "32768\t60999".`},
				bound("min", "at least", func(c int) bool { return c >= 0 },
					"The value must be a single whole number at least this large."),
				bound("max", "at most", func(c int) bool { return c <= 0 },
					"The value must be a single whole number at most this large."),
			},
			Probe: checks.Typed(Config{}, Probe),
		}
	})
}

// ValidKey accepts a parameter name that stays below /proc/sys: no empty,
// "." or ".." components, no whitespace, not absolute.
func ValidKey(v cty.Value) error {
	_, err := Path(v.AsString())
	return err
}

// Path turns a key into the file that holds it. As in sysctl(8), the first
// separator decides the spelling: "net.ipv4.conf.eth0/100.rp_filter" is
// dotted, and a slash in it stands for a dot in a name (the VLAN interface
// eth0.100); "net/ipv4/conf/eth0.100/rp_filter" is a path.
func Path(key string) (string, error) {
	if key == "" {
		return "", errors.New(`the key is empty; name a parameter such as "net.core.somaxconn"`)
	}
	if strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("%q is absolute; write the key relative to /proc/sys, such as \"net/core/somaxconn\" or \"net.core.somaxconn\"", key)
	}
	if strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", fmt.Errorf("%q contains whitespace or a control character, which no sysctl name has", key)
	}
	rel := key
	if i := strings.IndexAny(key, "./"); i >= 0 && key[i] == '.' {
		rel = strings.Map(func(r rune) rune {
			switch r {
			case '.':
				return '/'
			case '/':
				return '.'
			}
			return r
		}, key)
	}
	for _, part := range strings.Split(rel, "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("%q is not a sysctl name: it has an empty, \".\" or \"..\" component", key)
		}
	}
	return Root + "/" + rel, nil
}

// Probe reads the parameter once. A parameter that does not exist or cannot
// be read is an error: there is nothing to compare.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	r := Result{Key: cfg.Key}
	path, err := Path(cfg.Key)
	if err != nil {
		return r, err
	}
	r.Path = path
	if err := ctx.Err(); err != nil {
		return r, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return r, readError(cfg.Key, path, err)
	}
	r.Value = Normalize(string(data))
	r.Numbers = numbers(r.Value)
	return r, nil
}

// readError explains why a parameter could not be read, in the terms a user
// can act on.
func readError(key, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Say which part is missing: a typo in the last name reads
		// differently from a whole subsystem that is not there.
		dir := filepath.Dir(path)
		for dir != Root && dir != "/" {
			if _, serr := os.Stat(dir); serr == nil {
				break
			}
			dir = filepath.Dir(dir)
		}
		if dir != filepath.Dir(path) {
			return fmt.Errorf("no sysctl %s: %s does not exist (nor does %s); check the spelling, or load the kernel module that provides it", key, path, firstMissing(dir, path))
		}
		return fmt.Errorf("no sysctl %s: %s does not exist; check the spelling with `sysctl -a | grep`", key, path)
	case errors.Is(err, fs.ErrPermission):
		if st, serr := os.Stat(path); serr == nil && st.Mode().Perm()&0o444 == 0 {
			return fmt.Errorf("sysctl %s cannot be read: %s is write-only (mode %s); it is a trigger, not a setting", key, path, st.Mode().Perm())
		}
		return fmt.Errorf("sysctl %s cannot be read: permission denied on %s; run nettest as root", key, path)
	}
	if errors.Is(err, syscall.EISDIR) {
		return fmt.Errorf("sysctl %s is a group of parameters (%s is a directory), not one; name a parameter inside it", key, path)
	}
	return fmt.Errorf("sysctl %s cannot be read from %s: %v", key, path, err)
}

// firstMissing returns the shortest path below existing that leads to path.
func firstMissing(existing, path string) string {
	rest := strings.TrimPrefix(path, existing+"/")
	first, _, _ := strings.Cut(rest, "/")
	return existing + "/" + first
}

// Normalize turns every run of whitespace (tabs, newlines, several spaces)
// into one space and trims both ends.
func Normalize(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// numbers parses every field of a normalised value as a whole number and
// returns nil unless all of them are.
func numbers(value string) []*big.Int {
	fields := strings.Fields(value)
	if len(fields) == 0 {
		return nil
	}
	out := make([]*big.Int, 0, len(fields))
	for _, f := range fields {
		n, ok := new(big.Int).SetString(f, 10)
		if !ok {
			return nil
		}
		out = append(out, n)
	}
	return out
}

func compareValue(want, result cty.Value) *checks.Diff {
	got := checks.Field(result, "value")
	if got.Type() == cty.String && !got.IsNull() && got.IsKnown() && got.AsString() == Normalize(want.AsString()) {
		return nil
	}
	return &checks.Diff{Field: "value", Expected: checks.Show(cty.StringVal(Normalize(want.AsString()))), Actual: checks.Show(got)}
}

// bound compares the value as one number. A value of several numbers
// (ip_local_port_range, tcp_rmem) has no single size, so min and max do not
// guess which one is meant: the diff says so and points to numbers[i] in an
// assert block.
func bound(name, phrase string, ok func(int) bool, doc string) checks.Expectation {
	return checks.Expectation{Name: name, Type: cty.Number, Doc: doc, Compare: func(want, result cty.Value) *checks.Diff {
		got := checks.Field(result, "number")
		if got.Type() == cty.Number && got.IsKnown() && !got.IsNull() {
			if ok(got.AsBigFloat().Cmp(want.AsBigFloat())) {
				return nil
			}
			return &checks.Diff{Field: "value", Expected: phrase + " " + checks.Show(want), Actual: checks.Show(got)}
		}
		actual := checks.Show(checks.Field(result, "value"))
		if n := checks.Field(result, "numbers"); n.Type().IsListType() && n.IsKnown() && !n.IsNull() && n.LengthInt() > 1 {
			actual += " (several numbers: compare one in an assert, such as self.numbers[0])"
		} else {
			actual += " (not a number)"
		}
		return &checks.Diff{Field: "value", Expected: phrase + " " + checks.Show(want), Actual: actual}
	}}
}
