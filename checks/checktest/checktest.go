// Package checktest runs suites written as HCL text from a kind's tests,
// through the real loader and runner, so a kind is tested the way users
// use it.
package checktest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/report"
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
	seen := make(map[string]Want, len(outcomes))
	for address, o := range outcomes {
		seen[address] = Want{Address: address, Status: o.Status, Message: o.Message, Diffs: o.Diffs}
	}
	expect(t, seen, wants)
}

// ExpectReported is Expect for the results of a JSON-lines report, as a
// lab test gets them from the nettest binary (lab.Host.Nettest): the one
// way a kind's tests state the outcomes they expect, in-process or not.
func ExpectReported(t testing.TB, results []report.Result, wants []Want) {
	t.Helper()
	seen := make(map[string]Want, len(results))
	for _, r := range results {
		seen[r.Address] = Want{Address: r.Address, Status: runner.Status(r.Status), Message: r.Message, Diffs: r.TextDiffs()}
	}
	expect(t, seen, wants)
}

func expect(t testing.TB, seen map[string]Want, wants []Want) {
	t.Helper()
	wanted := map[string]bool{}
	for _, w := range wants {
		wanted[w.Address] = true
		got, ok := seen[w.Address]
		if !ok {
			t.Errorf("%s: no outcome", w.Address)
			continue
		}
		if got.Status != w.Status || !strings.Contains(got.Message, w.Message) || !slices.Equal(got.Diffs, w.Diffs) {
			t.Errorf("%s: %s %q %+v\nwant %s containing %q %+v", w.Address, got.Status, got.Message, got.Diffs, w.Status, w.Message, w.Diffs)
		}
	}
	for address, got := range seen {
		if !wanted[address] {
			t.Errorf("%s: %s %q %+v, an outcome the test does not expect", address, got.Status, got.Message, got.Diffs)
		}
	}
}

// Text writes diagnostics one per line: "line N: Summary: Detail".
func Text[D ~[]*hcl.Diagnostic](diags D) string {
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

// errorMarker is a fixture's expected diagnostic: "# ERROR: SUMMARY" or
// "# ERROR: SUMMARY: PART OF THE DETAIL", on the line the diagnostic points at.
var errorMarker = regexp.MustCompile(`#\s*ERROR:\s*(.+?)\s*$`)

// Fixtures loads and plans each file matching glob (testdata/invalid/*.nettest.hcl)
// as a suite of its own and compares its error diagnostics, line by line,
// with the "# ERROR:" markers in the file, as Terraform's tests do: every
// marked line must get a diagnostic the marker describes, and no other line
// any. A marker is the diagnostic's summary, optionally followed by ": " and
// a part of its detail, so that a fixture says both what kind of error a
// user gets and what it tells them.
func Fixtures(t *testing.T, glob string) {
	t.Helper()
	files, _ := filepath.Glob(glob)
	if len(files) == 0 {
		t.Fatalf("no fixtures match %s", glob)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := markers(t, file)
			if len(want) == 0 {
				t.Fatalf("%s has no # ERROR: markers", file)
			}
			suite, diags := schema.Load([]string{file}, schema.Options{})
			if !diags.HasErrors() {
				_, diags = runner.NewPlan(suite, nil)
			}
			got := map[int][]*hcl.Diagnostic{}
			for _, d := range diags {
				if d.Severity != hcl.DiagError {
					continue
				}
				if d.Subject == nil {
					t.Errorf("diagnostic without a source range: %s: %s", d.Summary, d.Detail)
					continue
				}
				got[d.Subject.Start.Line] = append(got[d.Subject.Start.Line], d)
			}
			for line, marker := range want {
				if !slices.ContainsFunc(got[line], func(d *hcl.Diagnostic) bool { return describes(marker, d) }) {
					t.Errorf("line %d: want %q, got %s", line, marker, Text(got[line]))
				}
			}
			for line, ds := range got {
				if _, ok := want[line]; !ok {
					t.Errorf("line %d: unexpected %s", line, Text(ds))
				}
			}
		})
	}
}

// describes reports whether marker is d's summary, or its summary and a
// part of its detail in any case (details are capitalised sentences).
func describes(marker string, d *hcl.Diagnostic) bool {
	if marker == d.Summary {
		return true
	}
	rest, ok := strings.CutPrefix(marker, d.Summary+": ")
	return ok && strings.Contains(strings.ToLower(d.Detail), strings.ToLower(rest))
}

func markers(t *testing.T, file string) map[int]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for n, line := range strings.Split(string(data), "\n") {
		if m := errorMarker.FindStringSubmatch(line); m != nil {
			out[n+1] = m[1]
		}
	}
	return out
}
