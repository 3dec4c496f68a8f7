package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// The JSON-lines report is nettest's wire format: `nettest test --json` and
// `--json-file` write it, `nettest merge` reads shard reports back, and the
// HTML report and the test lab decode it. One Go type per line, defined
// here once, is that format's definition. Fields are only ever added, never
// renamed or removed: a reader written today must read tomorrow's reports.

// Record types, the value of every line's "type" field.
const (
	TypeResult  = "result"
	TypeSummary = "summary"
)

// Result is one "result" line: one finished check, with everything any
// report shows about it. Texts are cut to bounded sizes and sensitive
// values are redacted, as in every report.
type Result struct {
	// Type is always "result".
	Type string `json:"type"`
	// Address is the check's address: tcp.web or tcp.web["80"].
	Address string `json:"address"`
	// Kind is the check's block type, such as "tcp".
	Kind string `json:"kind"`
	// Status is the verdict: "pass", "fail", "error" or "skip".
	Status string `json:"status"`
	// DurationMS is the check's wall time in milliseconds, all attempts
	// included, to the microsecond.
	DurationMS float64 `json:"duration_ms"`
	// Message says why the check errored or was skipped, joins the
	// error_message of failed asserts, or says on which attempt it passed.
	Message string `json:"message"`
	// Diffs are the unmet expectations and asserts, in the order the
	// console prints them; empty (never null) when there are none.
	Diffs []Diff `json:"diffs"`
	// File and Line locate the check's block in the source, File as given
	// on the command line (relative paths stay relative).
	File string `json:"file"`
	Line int    `json:"line"`
	// Description is the check's description argument; absent when none.
	Description string `json:"description,omitempty"`
	// Tags are the check's tags argument, in the order written; absent
	// when none.
	Tags []string `json:"tags,omitempty"`
	// Vantage names the vantage point the check ran from; absent when it
	// ran where nettest was started.
	Vantage string `json:"vantage,omitempty"`
	// DependsOn are the addresses of the checks this one waited for (those
	// it refers to and those its depends_on names), sorted; absent when
	// none. The HTML report draws the dependency graph from them.
	DependsOn []string `json:"depends_on,omitempty"`
	// Attempts is the number of attempts made (0 when the check did not
	// start: skipped, or stopped before its probe); MaxAttempts the
	// number allowed, retries + 1.
	Attempts    int `json:"attempts"`
	MaxAttempts int `json:"max_attempts"`
	// SkipReason says why a skipped check did not run (a dependency did
	// not pass, skip was true, the run was interrupted); absent unless
	// Status is "skip". It is the same text as Message.
	SkipReason string `json:"skip_reason,omitempty"`
	// Observed is what the last attempt's probe saw, as a JSON object of
	// the kind's result fields (duration_ms included), with sensitive
	// values redacted and long strings cut; absent when no probe
	// returned.
	Observed json.RawMessage `json:"observed,omitempty"`
	// Capture is the path of the packet capture kept for this check
	// (--capture); absent when none was kept.
	Capture string `json:"capture,omitempty"`
	// Interrupted is true when the run was cancelled before this check
	// could finish (an error) or start (a skip).
	Interrupted bool `json:"interrupted,omitempty"`
}

// Diff is one unmet expectation or failed assert.
type Diff struct {
	// Field is the result field compared, or "assert".
	Field string `json:"field"`
	// Expected and Actual are the values as JSON: the expectation's value
	// as written (a number, string, list or object) and the result's
	// field as observed. Expected is null when it is sensitive; for an
	// assert they are true and false.
	Expected json.RawMessage `json:"expected"`
	Actual   json.RawMessage `json:"actual"`
	// ExpectedText and ActualText are the human form the console prints,
	// in HCL syntax with the comparison's words: `at most 50`,
	// `false (closed: connection refused)`; for an assert, the condition
	// as written and "false: " with its error message.
	ExpectedText string `json:"expected_text"`
	ActualText   string `json:"actual_text"`
}

// Summary is the last line of a report: the counts of the run.
type Summary struct {
	// Type is always "summary".
	Type    string `json:"type"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Errored int    `json:"errored"`
	Skipped int    `json:"skipped"`
	// Total is the number of checks planned; more than the four counts'
	// sum only when the run was interrupted before reporting them all.
	Total int `json:"total"`
	// DurationMS is the run's wall time in milliseconds.
	DurationMS float64 `json:"duration_ms"`
	// Started is when the run began (RFC 3339, UTC), Host the name of the
	// machine it ran on.
	Started time.Time `json:"started"`
	Host    string    `json:"host"`
	// Interrupted is true when the run was cancelled (Ctrl-C, SIGTERM).
	Interrupted bool `json:"interrupted"`
	// Shard is the part of the suite this run covered, "K/N"; absent when
	// the whole suite (after --run and --tag) was run.
	Shard string `json:"shard,omitempty"`
	// Diagnostics are the configuration errors that kept the run from
	// starting (exit 2); absent when it ran.
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
}

// Diagnostic is one configuration problem in a summary line.
type Diagnostic struct {
	// Severity is "error" or "warning".
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	// File and Line locate the problem; absent when it has no place in a
	// file (a flag, a missing directory).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Range is the whole source range the problem is about, for an editor
	// or a linter to underline; absent with File.
	Range *SourceRange `json:"range,omitempty"`
}

// SourceRange is a range of a source file: its start and its end (just
// past the last character).
type SourceRange struct {
	File  string    `json:"file"`
	Start SourcePos `json:"start"`
	End   SourcePos `json:"end"`
}

// SourcePos is a position in a source file: line and column from 1 (the
// column counts characters), byte from 0.
type SourcePos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// Report is a JSON-lines report read back: its results in the order
// written and its summary line.
type Report struct {
	// Name is the file name the report was read from.
	Name    string
	Results []Result
	// Summary is nil when the report has no summary line (the run was
	// killed before it ended).
	Summary *Summary
}

// ReadJSONL reads the JSON-lines report in the file path.
func ReadJSONL(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeJSONL(f, path)
}

// DecodeJSONL reads a JSON-lines report from r; name is the file name used
// in errors, which say "NAME:LINE: …". Empty lines are skipped, and so are
// lines of a type this version does not know, so that an older reader
// reads a newer report. A line that is not a JSON object, a result without
// an address or a second summary line is an error.
func DecodeJSONL(r io.Reader, name string) (*Report, error) {
	rep := &Report{Name: name}
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if derr := rep.decodeLine(line); derr != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n, derr)
			}
		}
		if err != nil {
			return rep, nil
		}
	}
}

func (rep *Report) decodeLine(line []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return fmt.Errorf("not a JSON object of a nettest report: %v", err)
	}
	switch head.Type {
	case TypeResult:
		var res Result
		if err := json.Unmarshal(line, &res); err != nil {
			return fmt.Errorf("a result line that does not decode: %v", err)
		}
		if res.Address == "" {
			return errors.New("a result line without an address")
		}
		rep.Results = append(rep.Results, res)
	case TypeSummary:
		if rep.Summary != nil {
			return errors.New("a second summary line: two reports were written into one file")
		}
		var s Summary
		if err := json.Unmarshal(line, &s); err != nil {
			return fmt.Errorf("a summary line that does not decode: %v", err)
		}
		rep.Summary = &s
	case "":
		return errors.New(`a line without a "type": not a nettest report`)
	}
	return nil
}

// NewResult is the record of one outcome.
func NewResult(o runner.Outcome) Result {
	r := newResult(o)
	r.Observed = observedJSON(o.Result)
	return r
}

// newResult is NewResult without Observed, for a writer that writes the
// observed object straight into its line (appendResult).
func newResult(o runner.Outcome) Result {
	r := Result{
		Type:        TypeResult,
		Address:     o.Address,
		Kind:        o.Kind,
		Status:      string(o.Status),
		DurationMS:  millis(o.Duration),
		Message:     jsonText(o.Message, bodyLimit),
		Diffs:       make([]Diff, 0, len(o.Diffs)),
		File:        o.File,
		Line:        o.Line,
		Description: jsonText(o.Description, bodyLimit),
		Tags:        o.Tags,
		Vantage:     o.Vantage,
		DependsOn:   o.DependsOn,
		Attempts:    o.AttemptsMade,
		MaxAttempts: o.AttemptsAllowed,
		Capture:     o.Capture,
		Interrupted: o.Interrupted,
	}
	if o.Status == runner.Skip {
		r.SkipReason = r.Message
	}
	for k, d := range o.Diffs {
		jd := Diff{Field: d.Field, ExpectedText: jsonText(d.Expected, valueLimit), ActualText: jsonText(d.Actual, valueLimit),
			Expected: json.RawMessage("null"), Actual: json.RawMessage("null")}
		if k < len(o.DiffValues) {
			if v := jsonValue(o.DiffValues[k].Expected, false); v != nil {
				jd.Expected = v
			}
			if v := jsonValue(o.DiffValues[k].Observed, false); v != nil {
				jd.Actual = v
			}
		}
		r.Diffs = append(r.Diffs, jd)
	}
	return r
}

// jsonText is s cut to limit, with each run of invalid UTF-8 made one
// U+FFFD, as the console and JUnit reports do (encoding/json would make
// each bad byte one), so that a report read back renders the same.
func jsonText(s string, limit int) string {
	return cut(strings.ToValidUTF8(s, "\uFFFD"), limit)
}

// observedJSON is what jsonValue(r.Value(), true) makes, written from
// the probe's Go struct when the result still is one (appendObserved).
func observedJSON(r checks.Result) json.RawMessage {
	if r.IsNil() {
		return nil
	}
	if b, ok := appendObserved(nil, r); ok {
		return b
	}
	return jsonValue(r.Value(), true)
}

// jsonValue is v as plain JSON (see plain); nil for cty.NilVal, and for a
// result that is not an object when object is true.
func jsonValue(v cty.Value, object bool) json.RawMessage {
	if v == cty.NilVal {
		return nil
	}
	if object && v.Type().IsObjectType() && !v.IsMarked() && v.IsKnown() && !v.IsNull() {
		if b, ok := fastJSON(v); ok {
			return b
		}
	}
	v = plain(v)
	if object && (v.IsNull() || !v.Type().IsObjectType()) {
		return nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil
	}
	return b
}

// plain is v with what JSON must not or cannot hold taken out, keeping its
// type: a sensitive string reads "(sensitive value)", another sensitive or
// an unknown value is null, and long strings are cut.
func plain(v cty.Value) cty.Value {
	if v.IsMarked() {
		v, _ = v.UnmarkDeep()
		if v.Type() == cty.String {
			return cty.StringVal("(sensitive value)")
		}
		return cty.NullVal(v.Type())
	}
	if !v.IsKnown() {
		return cty.NullVal(v.Type())
	}
	if v.IsNull() {
		return v
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		if s := v.AsString(); len(s) > valueLimit {
			return cty.StringVal(cut(s, valueLimit))
		}
		return v
	case ty.IsObjectType():
		attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
		for name := range ty.AttributeTypes() {
			attrs[name] = plain(v.GetAttr(name))
		}
		return cty.ObjectVal(attrs)
	case ty.IsMapType():
		if v.LengthInt() == 0 {
			return v
		}
		m := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			m[k.AsString()] = plain(e)
		}
		return cty.MapVal(m)
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		if v.LengthInt() == 0 {
			return v
		}
		var elems []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, plain(e))
		}
		switch {
		case ty.IsListType():
			return cty.ListVal(elems)
		case ty.IsSetType():
			return cty.SetVal(elems)
		}
		return cty.TupleVal(elems)
	}
	return v
}

// Outcome is the record turned back into what the runner reported, so
// that a merged report renders exactly as the run's own. The observed
// result comes back with the types JSON implies (every number a number,
// lists as tuples), which is what the reports show of it.
func (r Result) Outcome() runner.Outcome {
	o := runner.Outcome{
		Address:         r.Address,
		Kind:            r.Kind,
		File:            r.File,
		Line:            r.Line,
		Description:     r.Description,
		Tags:            r.Tags,
		Vantage:         r.Vantage,
		DependsOn:       r.DependsOn,
		Status:          runner.Status(r.Status),
		Message:         r.Message,
		Duration:        time.Duration(r.DurationMS * float64(time.Millisecond)).Round(time.Microsecond),
		AttemptsMade:    r.Attempts,
		AttemptsAllowed: r.MaxAttempts,
		Capture:         r.Capture,
		Interrupted:     r.Interrupted,
	}
	o.Diffs = r.TextDiffs()
	if len(r.Observed) > 0 {
		if ty, err := ctyjson.ImpliedType(r.Observed); err == nil {
			if v, err := ctyjson.Unmarshal(r.Observed, ty); err == nil {
				o.Result = checks.ResultOf(v)
			}
		}
	}
	return o
}

// TextDiffs are the diffs in the human form the console prints.
func (r Result) TextDiffs() []checks.Diff {
	if len(r.Diffs) == 0 {
		return nil
	}
	out := make([]checks.Diff, len(r.Diffs))
	for k, d := range r.Diffs {
		out[k] = checks.Diff{Field: d.Field, Expected: d.ExpectedText, Actual: d.ActualText}
	}
	return out
}

// NewSummary is the summary record of a run that started at start on host
// and planned total checks.
func NewSummary(s runner.Summary, start time.Time, host string, total int) Summary {
	return Summary{
		Type:        TypeSummary,
		Passed:      s.Passed,
		Failed:      s.Failed,
		Errored:     s.Errored,
		Skipped:     s.Skipped,
		Total:       total,
		DurationMS:  millis(s.Duration),
		Started:     start.UTC().Truncate(time.Millisecond),
		Host:        host,
		Interrupted: s.Interrupted,
	}
}
