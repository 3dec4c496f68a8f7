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
// a Result for each check as it finishes and a Summary last (see
// record.go). Lines are buffered and written whole when the runner has no
// more events queued (Flush), so a busy run costs few writes and a reader
// that follows the stream never sees half an object.
func NewJSON(w io.Writer) runner.Reporter {
	return NewJSONWith(w, JSONOptions{})
}

// JSONOptions say what the summary line tells about the run besides its
// counts.
type JSONOptions struct {
	// Shard is the part of the suite run, "K/N"; "" for all of it.
	Shard string
	// RunInfo is when and where the run happened; zero means now, here.
	RunInfo
}

// NewJSONWith is NewJSON with options.
func NewJSONWith(w io.Writer, opts JSONOptions) runner.Reporter {
	return &jsonLines{w: bufio.NewWriterSize(w, 64<<10), opts: opts, runFacts: factsOf(opts.RunInfo)}
}

type jsonLines struct {
	w    *bufio.Writer
	opts JSONOptions
	runFacts
	err     error
	buf     bytes.Buffer  // the line being encoded
	enc     *json.Encoder // into buf
	scratch []byte        // a result line being written (appendResult)
}

// Finished writes the check's result line. Texts are cut like in the other
// reports; JSON can carry any character, so they are not otherwise changed
// (encoding/json replaces invalid UTF-8 with U+FFFD and escapes controls).
func (j *jsonLines) Finished(o runner.Outcome) {
	if j.err != nil {
		return
	}
	r := newResult(o)
	var ok bool
	if j.scratch, ok = appendResult(j.scratch[:0], &r, o.Result); !ok {
		r.Observed = observedJSON(o.Result)
		j.line(r)
		return
	}
	j.write(j.scratch)
}

// End writes the summary line and returns the first write error.
func (j *jsonLines) End(s runner.Summary) error {
	sum := j.summary(s)
	sum.Shard = j.opts.Shard
	j.line(sum)
	j.Flush()
	return j.err
}

func (j *jsonLines) line(v any) {
	if j.err != nil {
		return
	}
	if j.enc == nil {
		j.enc = json.NewEncoder(&j.buf)
		// <, > and & are common in bodies and regexps; \u003c would
		// only make them harder to read.
		j.enc.SetEscapeHTML(false)
	}
	// One buffer for every line: a line is encoded whole before any of it
	// is written, and a new buffer per line would be grown anew each time.
	j.buf.Reset()
	if j.err = j.enc.Encode(v); j.err != nil {
		return
	}
	j.write(j.buf.Bytes())
}

// write writes one whole line.
func (j *jsonLines) write(line []byte) {
	if len(line) > j.w.Available() {
		j.err = j.w.Flush() // keep lines whole: a line never straddles two writes
	}
	if j.err == nil {
		_, j.err = j.w.Write(line)
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
