package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// loadPlan loads the suite and plans it, printing every diagnostic with its
// source snippet. It returns exitConfig when there is an error.
func loadPlan(paths []string, opts schema.Options, filter *regexp.Regexp, stderr io.Writer) (*runner.Plan, int) {
	suite, diags := schema.Load(paths, opts)
	if !diags.HasErrors() {
		var plan *runner.Plan
		var d hcl.Diagnostics
		plan, d = runner.NewPlan(suite, filter)
		diags = append(diags, d...)
		if !diags.HasErrors() {
			printDiagnostics(stderr, suite, diags) // warnings
			return plan, exitOK
		}
	}
	printDiagnostics(stderr, suite, diags)
	return nil, exitConfig
}

// printDiagnostics writes diagnostics as HCL does: severity, summary,
// file:line, the source lines with the range underlined, and the detail.
// It is the one place diagnostics become text, and the text is redacted
// whole (snippets, details quoting a value) before it is written: see
// schema.Secrets.
func printDiagnostics(w io.Writer, suite *schema.Suite, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	var files map[string]*hcl.File
	if suite != nil {
		files = suite.Files
	}
	color := false
	if f, ok := w.(*os.File); ok {
		color = report.IsTerminal(f) && os.Getenv("NO_COLOR") == ""
	}
	var b strings.Builder
	dw := hcl.NewDiagnosticTextWriter(&b, files, 100, color)
	dw.WriteDiagnostics(diags)
	errs := len(diags.Errs())
	if errs > 0 {
		fmt.Fprintf(&b, "%d error(s) in the configuration: nothing was run.\n", errs)
	}
	io.WriteString(w, suite.Secrets().Redact(b.String()))
}

func compileFilter(expr string, stderr io.Writer) (*regexp.Regexp, bool) {
	if expr == "" {
		return nil, true
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		fmt.Fprintf(stderr, "nettest: --run: invalid regular expression: %v\n", err)
		return nil, false
	}
	return re, true
}
