package report

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
	"github.com/zclconf/go-cty/cty"
)

// What the human reports (console, JUnit) say of an outcome: why it did
// not pass, where it ran and is declared, how long it took, and the diff of
// expected and actual.

// reason is the one-line why of an outcome: its message, or for a failure
// without one, the first unmet expectation.
func reason(o runner.Outcome) string {
	if m := short(o.Message); m != "" {
		return m
	}
	return short(checks.Headline(o.Diffs))
}

// from says where a check ran, when that was not here: " from bastion".
func from(o runner.Outcome) string {
	if o.Vantage == "" {
		return ""
	}
	return " from " + clean(o.Vantage)
}

// location is the check's place in the source as file:line.
func location(o runner.Outcome) string {
	file := o.File
	if file == "" {
		file = "(unknown file)"
	}
	if o.Line <= 0 {
		return clean(file)
	}
	return clean(file) + ":" + strconv.Itoa(o.Line)
}

// human writes a duration the way a person reads it: 0s, <1ms, 45ms, 1.23s,
// 2m05s. Milliseconds under a second, two decimals under a minute.
func human(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return "<1ms"
	}
	if ms := d.Round(time.Millisecond); ms < time.Second {
		return strconv.Itoa(int(ms/time.Millisecond)) + "ms"
	}
	if cs := d.Round(10 * time.Millisecond); cs < time.Minute {
		whole, frac := int(cs/time.Second), int(cs%time.Second/(10*time.Millisecond))
		return strconv.Itoa(whole) + "." + pad2(frac) + "s"
	}
	s := int(d.Round(time.Second) / time.Second)
	if s < 3600 {
		return strconv.Itoa(s/60) + "m" + pad2(s%60) + "s"
	}
	return strconv.Itoa(s/3600) + "h" + pad2(s/60%60) + "m" + pad2(s%60) + "s"
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// painter adds ANSI colour to text when on; the zero painter adds nothing,
// so the JUnit body and a console without colour share one renderer.
type painter struct{ on bool }

// ANSI SGR codes used by the console.
const (
	bold   = "1"
	dim    = "2"
	red    = "31"
	green  = "32"
	yellow = "33"
)

func (p painter) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// explain writes what a person needs to act on a check that did not pass:
// where it is, what it is for, why it did not pass and, field by field, what
// was expected and what was observed. Every line starts with indent. The
// diff is aligned on the field names:
//
//	status         - expected 200
//	               + actual   503
//
// Expected is green and actual red when p is on, as test tools colour them.
func explain(b *strings.Builder, o runner.Outcome, indent string, p painter, limit int) {
	line := func(s string) {
		b.WriteString(strings.TrimRight(indent+s, " "))
		b.WriteByte('\n')
	}
	lines := func(s string) {
		for _, l := range strings.Split(s, "\n") {
			line(l)
		}
	}
	line(location(o) + from(o))
	if d := strings.TrimSpace(safe(o.Description, limit)); d != "" {
		lines(d)
	}
	if m := strings.TrimSpace(safe(o.Message, limit)); m != "" {
		lines(m)
	}
	width := 0
	for _, d := range o.Diffs {
		width = max(width, utf8.RuneCountInString(clean(d.Field)))
	}
	width = min(width, 32)
	for _, d := range o.Diffs {
		field := clean(d.Field)
		gap := strings.Repeat(" ", max(width-utf8.RuneCountInString(field), 0))
		under := strings.Repeat(" ", width)
		exp := strings.Split(safe(d.Expected, valueLimit), "\n")
		act := strings.Split(safe(d.Actual, valueLimit), "\n")
		for i, l := range exp {
			if i == 0 {
				line("  " + field + gap + "  " + p.paint(green, "- expected "+l))
			} else {
				line("  " + under + "  " + p.paint(green, "           "+l))
			}
		}
		for i, l := range act {
			if i == 0 {
				line("  " + under + "  " + p.paint(red, "+ actual   "+l))
			} else {
				line("  " + under + "  " + p.paint(red, "           "+l))
			}
		}
	}
	if o.Capture != "" {
		line("capture: " + clean(o.Capture))
	}
}

// fields lists what the check observed as name and value pairs, the values
// written as HCL literals, in the order of the names.
func fields(o runner.Outcome) [][2]string {
	v := o.Result.Value()
	if v == cty.NilVal {
		return nil
	}
	if v.IsMarked() || !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() {
		return [][2]string{{"result", safe(checks.Show(v), valueLimit)}}
	}
	var out [][2]string
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		out = append(out, [2]string{clean(k.AsString()), safe(checks.Show(e), valueLimit)})
	}
	return out
}

// stopped reports whether the outcome is of a check the interruption of the
// run stopped: one never started or one cut short.
func stopped(o runner.Outcome) bool {
	return o.Interrupted
}

// notRun reports whether the outcome is of a check the interruption kept
// from starting at all.
func notRun(o runner.Outcome) bool {
	return o.Status == runner.Skip && stopped(o)
}

// unfinishedNotice is the line that says how many checks the interruption
// stopped: those never reported and those reported as stopped.
func unfinishedNotice(total, reported, halted int) string {
	n := max(total-reported, 0) + halted
	if n == 1 {
		return "Interrupted: 1 check did not finish"
	}
	return "Interrupted: " + strconv.Itoa(n) + " checks did not finish"
}
