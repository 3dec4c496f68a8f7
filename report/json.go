package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"time"

	"github.com/nettest/nettest/runner"
)

// NewJSON returns the machine report written to w: one JSON object per line,
// a "result" object for each check as it finishes and a "summary" object
// last. Lines are buffered and written whole when the runner has no more
// events queued (Flush), so a busy run costs few writes and a reader that
// follows the stream never sees half an object.
func NewJSON(w io.Writer) runner.Reporter {
	return &jsonLines{w: bufio.NewWriterSize(w, 64<<10)}
}

type jsonLines struct {
	w   *bufio.Writer
	err error
}

// jsonResult is the line for one finished check.
type jsonResult struct {
	Type        string     `json:"type"`
	Address     string     `json:"address"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"`
	DurationMS  float64    `json:"duration_ms"`
	Message     string     `json:"message"`
	Diffs       []jsonDiff `json:"diffs"`
	File        string     `json:"file"`
	Line        int        `json:"line"`
	Description string     `json:"description,omitempty"`
	Attempts    int        `json:"attempts"`
	// Vantage is where the check ran: a vantage's name, absent for here.
	Vantage string `json:"vantage,omitempty"`
}

type jsonDiff struct {
	Field    string `json:"field"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
}

// jsonSummary is the last line of a run.
type jsonSummary struct {
	Type        string  `json:"type"`
	Passed      int     `json:"passed"`
	Failed      int     `json:"failed"`
	Errored     int     `json:"errored"`
	Skipped     int     `json:"skipped"`
	DurationMS  float64 `json:"duration_ms"`
	Interrupted bool    `json:"interrupted"`
}

// Begin writes nothing: the number of checks is in the summary's counts.
func (j *jsonLines) Begin(int) {}

// Finished writes the check's result line. Texts are cut like in the other
// reports; JSON can carry any character, so they are not otherwise changed
// (encoding/json replaces invalid UTF-8 with U+FFFD and escapes controls).
func (j *jsonLines) Finished(o runner.Outcome) {
	r := jsonResult{
		Type:        "result",
		Address:     o.Address,
		Kind:        o.Kind,
		Status:      string(o.Status),
		DurationMS:  millis(o.Duration),
		Message:     cut(o.Message, bodyLimit),
		Diffs:       make([]jsonDiff, 0, len(o.Diffs)),
		File:        o.File,
		Line:        o.Line,
		Description: o.Description,
		Attempts:    o.Attempt,
		Vantage:     o.Vantage,
	}
	for _, d := range o.Diffs {
		r.Diffs = append(r.Diffs, jsonDiff{Field: d.Field, Expected: cut(d.Expected, valueLimit), Actual: cut(d.Actual, valueLimit)})
	}
	j.line(r)
}

// End writes the summary line and returns the first write error.
func (j *jsonLines) End(s runner.Summary) error {
	j.line(jsonSummary{
		Type:        "summary",
		Passed:      s.Passed,
		Failed:      s.Failed,
		Errored:     s.Errored,
		Skipped:     s.Skipped,
		DurationMS:  millis(s.Duration),
		Interrupted: s.Interrupted,
	})
	j.Flush()
	return j.err
}

func (j *jsonLines) line(v any) {
	if j.err != nil {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// <, > and & are common in bodies and regexps; \u003c would only
	// make them harder to read.
	enc.SetEscapeHTML(false)
	if j.err = enc.Encode(v); j.err != nil {
		return
	}
	if buf.Len() > j.w.Available() {
		j.err = j.w.Flush() // keep lines whole: a line never straddles two writes
	}
	if j.err == nil {
		_, j.err = j.w.Write(buf.Bytes())
	}
}

// Flush writes out the buffered lines.
func (j *jsonLines) Flush() {
	if j.err == nil {
		j.err = j.w.Flush()
	}
}

// millis is a duration in milliseconds, to the microsecond: 3.142.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
