package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/nettest/nettest/runner"
	"golang.org/x/term"
)

// ConsoleOptions choose how the human report looks. The CLI sets Color and
// Progress only when standard output is a terminal (see IsTerminal), so a CI
// log gets plain lines.
type ConsoleOptions struct {
	// Color adds ANSI colours: status words, expected (green) and actual
	// (red) values.
	Color bool
	// Progress keeps a live "[12/1000] running…" line at the bottom,
	// redrawn with a carriage return. Only for a terminal.
	Progress bool
	// Verbose prints, under each check's line, every field of what it
	// observed.
	Verbose bool
}

// IsTerminal reports whether f is a terminal, which is when the console
// report uses colour and a progress line.
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

// NewConsole returns the human report written to w: a line per check as it
// finishes, then an explanation of each check that failed or errored, then
// the counts.
func NewConsole(w io.Writer, opt ConsoleOptions) runner.Reporter {
	return &console{w: bufio.NewWriter(w), opt: opt, p: painter{on: opt.Color}}
}

type console struct {
	// w buffers lines until the runner has no more events queued (Flush).
	w        *bufio.Writer
	opt      ConsoleOptions
	p        painter
	total    int
	finished int
	// stopped counts the checks the interruption stopped.
	stopped int
	// bad holds the failed and errored checks, explained at the end.
	bad []runner.Outcome
	// drawn is true while the progress line is on the screen.
	drawn bool
	err   error
}

// Begin notes how many checks the run has, for the progress line.
func (c *console) Begin(total int) {
	c.total = total
	c.progress()
}

// Finished prints the check's line and keeps a failure for the end.
func (c *console) Finished(o runner.Outcome) {
	c.finished++
	if stopped(o) {
		c.stopped++
	}
	if notRun(o) {
		// A line per check that never ran would bury the results after a
		// Ctrl-C; the interruption notice counts them instead.
		c.progress()
		return
	}
	if o.Status == runner.Fail || o.Status == runner.Error {
		c.bad = append(c.bad, o)
	}
	var b strings.Builder
	b.WriteString("  " + c.status(o.Status) + "  " + clean(o.Address) + from(o) + "  " + c.p.paint(dim, "("+human(o.Duration)+")"))
	if r := reason(o); r != "" {
		b.WriteString("  " + r)
	}
	b.WriteByte('\n')
	if c.opt.Verbose {
		c.observed(&b, o)
	}
	c.clear()
	c.write(b.String())
	c.progress()
}

// End explains every failure and error, ordered by source location so the
// report reads the same however the checks were scheduled, and prints the
// counts last.
func (c *console) End(s runner.Summary) error {
	c.clear()
	var b strings.Builder
	if len(c.bad) > 0 {
		sortOutcomes(c.bad)
		b.WriteString("\n" + c.p.paint(bold, "Failed and errored checks:") + "\n")
		for _, o := range c.bad {
			b.WriteString("\n--- " + c.p.paint(bold, strings.ToUpper(string(o.Status))+": "+clean(o.Address)) +
				" (" + human(o.Duration) + ")\n")
			explain(&b, o, "    ", c.p, valueLimit)
		}
	}
	b.WriteByte('\n')
	if s.Interrupted {
		b.WriteString(c.p.paint(yellow, unfinishedNotice(c.total, c.finished, c.stopped)) + "\n")
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d errored, %d skipped in %s\n",
		s.Passed, s.Failed, s.Errored, s.Skipped, human(s.Duration))
	c.write(b.String())
	c.Flush()
	return c.err
}

// Flush writes out the buffered lines.
func (c *console) Flush() {
	if c.err == nil {
		c.err = c.w.Flush()
	}
}

// status is the status word, padded so that addresses line up.
func (c *console) status(s runner.Status) string {
	word := fmt.Sprintf("%-5s", strings.ToUpper(string(s)))
	switch s {
	case runner.Pass:
		return c.p.paint(green, word)
	case runner.Fail:
		return c.p.paint(bold+";"+red, word)
	case runner.Error:
		return c.p.paint(red, word)
	case runner.Skip:
		return c.p.paint(yellow, word)
	}
	return word
}

// observed lists the fields of the check's result, one a line.
func (c *console) observed(b *strings.Builder, o runner.Outcome) {
	for _, f := range fields(o) {
		b.WriteString("         " + c.p.paint(dim, f[0]+" = ") + f[1] + "\n")
	}
}

// progress draws the live line. It is the last thing on the screen, without
// a newline, so the next write first clears it.
func (c *console) progress() {
	if !c.opt.Progress || c.total == 0 {
		return
	}
	c.write("\r[" + strconv.Itoa(c.finished) + "/" + strconv.Itoa(c.total) + "] running…")
	c.drawn = true
}

// clear erases the progress line, if drawn, and leaves the cursor at the
// start of the emptied line.
func (c *console) clear() {
	if c.drawn {
		c.write("\r\x1b[K")
		c.drawn = false
	}
}

// write keeps the first error; later writes are skipped, since a console
// that failed once (a closed pipe) will fail again.
func (c *console) write(s string) {
	if c.err != nil {
		return
	}
	_, c.err = io.WriteString(c.w, s)
}

// sortOutcomes orders outcomes by file, line, then address: the order of
// the source, whatever order the checks finished in.
func sortOutcomes(outs []runner.Outcome) {
	sort.SliceStable(outs, func(i, j int) bool {
		a, b := outs[i], outs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Address < b.Address
	})
}
