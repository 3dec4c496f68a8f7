package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// loadPlan loads the suite and plans the checks sel selects (nil: all),
// printing every diagnostic with its source snippet. On an error it returns
// exitConfig with the suite (nil when it did not load) and the
// diagnostics, for the reports of a run that could not start.
func loadPlan(paths []string, opts schema.Options, sel *selectFlags, c cli) (*runner.Plan, int) {
	plan, _, _, code := loadPlanDiags(paths, opts, sel, c)
	return plan, code
}

// loadPlanDiags is loadPlan returning the suite and diagnostics too.
func loadPlanDiags(paths []string, opts schema.Options, sel *selectFlags, c cli) (*runner.Plan, *schema.Suite, hcl.Diagnostics, int) {
	// Loading allocates several times what it keeps (HCL's tokens, syntax
	// trees of blocks already decoded), and a suite of thousands of checks
	// would otherwise spend a third of its load time collecting garbage.
	// A higher GC target while loading saves most of that, and the usual
	// one is back for the run. 400 is where the peak memory stops being no
	// higher: validate of 100,000 checks (medians of 5-7, alternating) at
	// 200 took 1.62 s of CPU and 363 MiB, at 300 1.49 s and 374 MiB, at
	// 400 1.26 s and 376 MiB (its largest of the runs 385 against 200's
	// 410), at 600 1.89 s and 456 MiB; plan 2.15 → 1.76 s, 404 → 379 MiB.
	// A memory limit (GOMEMLIMIT 250-280 MiB) held the peak under 300 MiB
	// but cost 0.3-0.6 s of CPU.
	gc := debug.SetGCPercent(400)
	suite, diags := schema.Load(paths, opts)
	debug.SetGCPercent(gc)
	if suite != nil && (len(suite.Instances) > 0 || !diags.HasErrors()) {
		// Planned even after errors, so that dependency cycles are
		// reported with them, in one pass (then of every check).
		var selection runner.Selection
		if sel != nil && !diags.HasErrors() {
			selection = sel.selection(suite)
		}
		plan, d := runner.NewPlan(suite, selection)
		diags = append(diags, d...)
		if !diags.HasErrors() {
			printDiagnostics(c, suite, diags) // warnings
			suite.ReleaseSyntax()
			return plan, suite, diags, exitOK
		}
	}
	printDiagnostics(c, suite, diags)
	return nil, suite, diags, exitConfig
}

// printDiagnostics writes diagnostics to c.stderr as HCL does: severity, summary,
// file:line, the source lines with the range underlined, and the detail.
// It is the one place diagnostics become text, and the text is redacted
// whole (snippets, details quoting a value) before it is written: see
// schema.Secrets.
func printDiagnostics(c cli, suite *schema.Suite, diags hcl.Diagnostics) {
	var files map[string]*hcl.File
	if suite != nil {
		files = suite.Files
	}
	writeDiagnostics(c, files, suite.Secrets(), diags, "in the configuration: nothing was run")
}

// writeDiagnostics is printDiagnostics for any set of files (fmt has no
// suite); footer follows the count of errors.
func writeDiagnostics(c cli, files map[string]*hcl.File, secrets *schema.Secrets, diags hcl.Diagnostics, footer string) {
	w := c.stderr
	if len(diags) == 0 {
		return
	}
	color := false
	if f, ok := w.(*os.File); ok {
		color = report.IsTerminal(f) && c.getenv("NO_COLOR") == ""
	}
	var b strings.Builder
	writeDiagnosticsText(&b, files, diags, 100, color)
	if errs := len(diags.Errs()); errs > 0 {
		fmt.Fprintf(&b, "%d error(s) %s.\n", errs, footer)
	}
	io.WriteString(w, secrets.Redact(b.String()))
}
