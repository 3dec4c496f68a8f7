package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/runner"
)

// A run whose configuration is invalid (exit 2) runs nothing, but a CI
// pipeline's publish step still looks for the reports it asked for: finding
// none, it says "no test results" and hides why. So the reports are still
// written, each holding the configuration errors: a JUnit file with one
// errored testcase per error, and a JSON summary line listing them.

// Diagnostics are the error diagnostics of diags in the report's form,
// each text passed through redact (the suite's secrets; nil keeps them).
func Diagnostics(diags hcl.Diagnostics, redact func(string) string) []Diagnostic {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	var out []Diagnostic
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		rd := Diagnostic{Severity: sev, Summary: redact(d.Summary), Detail: redact(d.Detail)}
		if r := d.Subject; r != nil {
			rd.File, rd.Line = r.Filename, r.Start.Line
			rd.Range = &SourceRange{File: r.Filename,
				Start: SourcePos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
				End:   SourcePos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte}}
		}
		out = append(out, rd)
	}
	return out
}

// ConfigOutcomes are the errors among diags as errored outcomes, one each,
// named "configuration: FILE:LINE: SUMMARY", so that the JUnit writer and
// the GitHub annotations show them like failed checks.
func ConfigOutcomes(diags []Diagnostic) []runner.Outcome {
	var out []runner.Outcome
	for _, d := range diags {
		if d.Severity != "error" {
			continue
		}
		where := d.File
		if d.Line > 0 {
			where = fmt.Sprintf("%s:%d", d.File, d.Line)
		}
		name := "configuration: " + d.Summary
		if where != "" {
			name = "configuration: " + where + ": " + d.Summary
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += "\n" + d.Detail
		}
		out = append(out, runner.Outcome{Address: name, Kind: "configuration", File: d.File, Line: d.Line,
			Status: runner.Error, Message: msg})
	}
	if len(out) == 0 {
		out = append(out, runner.Outcome{Address: "configuration", Kind: "configuration", Status: runner.Error,
			Message: "the configuration is invalid: nothing was run"})
	}
	return out
}

// Replay feeds outcomes to r as a run would: Begin, Finished for each, End
// with a summary counting them, and returns End's error.
func Replay(r runner.Reporter, total int, outcomes []runner.Outcome, s runner.Summary) error {
	r.Begin(total)
	for _, o := range outcomes {
		r.Finished(o)
	}
	if f, ok := r.(runner.Flusher); ok {
		f.Flush()
	}
	return r.End(s)
}

// WriteConfigJUnit writes the JUnit file of a run that did not start: one
// errored testcase per configuration error, each with its file:line,
// summary and detail.
func WriteConfigJUnit(path string, diags []Diagnostic) error {
	outs := ConfigOutcomes(diags)
	return Replay(NewJUnit(path), len(outs), outs, runner.Summary{Errored: len(outs)})
}

// WriteConfigJSON writes the JSON summary line of a run that did not
// start, with the diagnostics.
func WriteConfigJSON(w io.Writer, diags []Diagnostic) error {
	host, _ := os.Hostname()
	sum := NewSummary(runner.Summary{}, time.Now(), host, 0)
	sum.Diagnostics = diags
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sum); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
