// Package kindtest judges a kind's results the way the runner does, for the
// kind's own internal tests (package tcp, not tcp_test). It is apart from
// checktest because checktest imports every kind, which a kind's package
// cannot import back.
package kindtest

import (
	"reflect"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// Verdict judges result against an expect block (expectation name → wanted
// value) of the registered kind named kind, as the runner does: each wanted
// value is validated first, as the loader would, then compared, in the
// order of the kind's Expect list, by the same Kind.Judge the runner uses.
// It returns the diffs, nil when every expectation is met, and holds the
// result judged as a local probe returns it, a Go struct, to them. An unknown kind
// or expectation, or a wanted value that does not validate, fails the test.
func Verdict(t testing.TB, kind string, result cty.Value, expect map[string]cty.Value) []checks.Diff {
	t.Helper()
	k, ok := checks.Lookup(kind)
	if !ok {
		t.Fatalf("the %s kind is not registered", kind)
	}
	for name := range expect {
		if _, ok := k.Expectation(name); !ok {
			t.Fatalf("%s has no expectation %q", kind, name)
		}
	}
	for name, want := range expect {
		e, _ := k.Expectation(name)
		if e.Validate != nil && want.IsWhollyKnown() && !want.IsNull() {
			if err := e.Validate(want); err != nil {
				t.Fatalf("%s = %s rejected at load time: %v", e.Name, checks.Show(want), err)
			}
		}
	}
	var diffs []checks.Diff
	for _, u := range k.Judge(expect, result) {
		diffs = append(diffs, u.Diff)
	}
	// A local probe's result is judged on its Go struct: that must come
	// to the same diffs.
	if r, ok := checks.GoResult(k, result); ok {
		values := make([]cty.Value, len(k.Expect))
		for n, e := range k.Expect {
			values[n] = expect[e.Name]
		}
		var direct []checks.Diff
		for _, u := range k.JudgeValues(values, r) {
			direct = append(direct, u.Diff)
		}
		if !reflect.DeepEqual(direct, diffs) {
			t.Errorf("%s judged on its Go result: %+v, but on its object: %+v", kind, direct, diffs)
		}
	}
	return diffs
}

// SameVerdicts holds an expectation made with MetWhen (fast) to the one it
// wraps (decoded): for every expected value and every result, both must
// give the same diff, or both panic (a result that is not wholly known,
// which no probe returns, makes the decoded path panic). It returns how
// many pairs were met, for the caller to check the table still has met
// pairs for the fast path to tell.
func SameVerdicts(t testing.TB, name string, fast, decoded checks.Expectation, wants, results map[string]cty.Value) (met int) {
	t.Helper()
	for rname, r := range results {
		for wname, w := range wants {
			got, want := judge(fast.Compare, w, r), judge(decoded.Compare, w, r)
			if got != want {
				t.Errorf("%s = %s, result %s: %+v, want %+v as judged on the decoded result", name, wname, rname, got, want)
			}
			if got.met {
				met++
			}
		}
	}
	return met
}

// judged is what one Compare came to: met, a diff, or a panic.
type judged struct {
	met      bool
	diff     checks.Diff
	panicked bool
}

// judge runs a Compare, noting a panic instead of failing, so that both
// judges can be held to the same one.
func judge(compare func(want, result cty.Value) *checks.Diff, want, result cty.Value) (j judged) {
	defer func() {
		if recover() != nil {
			j = judged{panicked: true}
		}
	}()
	if d := compare(want, result); d != nil {
		return judged{diff: *d}
	}
	return judged{met: true}
}
