// Package checktest runs suites written as HCL text from a kind's tests,
// through the real loader and runner, so a kind is tested the way users
// use it.
package checktest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"

	// Every kind, so that suites may combine them.
	_ "github.com/nettest/nettest/checks/all"
)

// Run loads src as the only file of a suite, runs every check in it and
// returns the outcomes by address. A configuration error fails the test
// with the diagnostics.
func Run(t testing.TB, src string) map[string]runner.Outcome {
	t.Helper()
	plan, diags := plan(t, src)
	if diags.HasErrors() {
		t.Fatalf("the suite does not load:\n%s", Text(diags))
	}
	rec := &recorder{outcomes: map[string]runner.Outcome{}}
	plan.Run(context.Background(), runner.Options{Reporter: rec})
	return rec.outcomes
}

// Load loads src as the only file of a suite and returns the diagnostics
// of loading and planning it; use it to test that bad input is refused.
func Load(t testing.TB, src string) hcl.Diagnostics {
	t.Helper()
	_, diags := plan(t, src)
	return diags
}

func plan(t testing.TB, src string) (*runner.Plan, hcl.Diagnostics) {
	dir := t.TempDir()
	file := filepath.Join(dir, "suite"+schema.FileSuffix)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	suite, diags := schema.Load([]string{file}, schema.Options{})
	if diags.HasErrors() {
		return nil, diags
	}
	p, d := runner.NewPlan(suite, nil)
	return p, append(diags, d...)
}

// Want is the outcome a test expects of one check.
type Want struct {
	Address string
	Status  runner.Status
	// Message is a part of the outcome's message; "" accepts any.
	Message string
	// Diffs are the unmet expectations in the runner's order, which is
	// the order of the kind's Expect list; nil when none.
	Diffs []checks.Diff
}

// Expect compares outcomes, as Run returns them, with wants: every check
// wanted has an outcome with that status, message and diffs, and there is
// no outcome besides. Each difference is a test error naming the address.
func Expect(t testing.TB, outcomes map[string]runner.Outcome, wants []Want) {
	t.Helper()
	wanted := map[string]bool{}
	for _, w := range wants {
		wanted[w.Address] = true
		o, ok := outcomes[w.Address]
		if !ok {
			t.Errorf("%s: no outcome", w.Address)
			continue
		}
		if o.Status != w.Status || !strings.Contains(o.Message, w.Message) || !slices.Equal(o.Diffs, w.Diffs) {
			t.Errorf("%s: %s %q %+v\nwant %s containing %q %+v", w.Address, o.Status, o.Message, o.Diffs, w.Status, w.Message, w.Diffs)
		}
	}
	for address, o := range outcomes {
		if !wanted[address] {
			t.Errorf("%s: %s %q %+v, an outcome the test does not expect", address, o.Status, o.Message, o.Diffs)
		}
	}
}

// Text writes diagnostics one per line: "line N: Summary: Detail".
func Text(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		if d.Subject != nil {
			b.WriteString(d.Subject.String() + ": ")
		}
		b.WriteString(d.Summary + ": " + d.Detail + "\n")
	}
	return b.String()
}

type recorder struct {
	mu       sync.Mutex
	outcomes map[string]runner.Outcome
}

func (r *recorder) Begin(int) {}
func (r *recorder) Finished(o runner.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[o.Address] = o
}
func (r *recorder) End(runner.Summary) error { return nil }
