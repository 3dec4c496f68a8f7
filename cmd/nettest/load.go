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
	return loadPlanGC(paths, opts, sel, c, true)
}

// loadPlanToRun is loadPlanDiags for the test command, which sets the
// collector up for the run itself (readyHeap) once the plan is made: the
// loading target is left in place, since restoring the usual one would
// start a collection at once (the heap is past its goal), just before
// readyHeap raises the goal again: 1,000 DNS checks were collected then,
// for nothing the run needed (2.3 ms of CPU). A GOGC the user set, which
// readyHeap leaves alone, is restored as before.
func loadPlanToRun(paths []string, opts schema.Options, sel *selectFlags, c cli) (*runner.Plan, *schema.Suite, hcl.Diagnostics, int) {
	_, userGOGC := os.LookupEnv("GOGC")
	return loadPlanGC(paths, opts, sel, c, userGOGC)
}

func loadPlanGC(paths []string, opts schema.Options, sel *selectFlags, c cli, restoreGC bool) (*runner.Plan, *schema.Suite, hcl.Diagnostics, int) {
	// Loading allocates several times what it keeps (syntax trees of
	// blocks already decoded, values converted once), and a suite of
	// thousands of checks would otherwise spend much of its load time
	// collecting garbage. A higher GC target while loading saves most of
	// that, and the usual one is back for the run. Since the plain parse
	// decodes check blocks itself (schema/plaincheck.go), 200 and 400 cost
	// the same CPU and 200 peaks lower: bench/peers, 7 alternating rounds,
	// tcp 10,000 at 200 571 ms CPU and 41.5 MiB against 625 ms and
	// 54.8 MiB at 400, tcp 50,000 4.01 s and 111.9 MiB against 4.04 s and
	// 114.0 MiB; validate of 100,000 checks 195 MiB either way. (Before
	// that, 400 saved a fifth of validate's CPU at the same peak.)
	gc := debug.SetGCPercent(200)
	suite, diags := schema.Load(paths, opts)
	if restoreGC {
		debug.SetGCPercent(gc)
	}
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
