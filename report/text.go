// Package report holds the three writers of a run's outcome: the human
// console report, JSON lines and JUnit XML. Each consumes the runner's events
// through runner.Reporter and knows no check kind by name.
//
// Much of what a report shows came from the network (HTTP bodies, banners,
// DNS answers), so every text of the console and JUnit reports passes
// through clean and cut before it is written: a hostile or broken server
// must not be able to corrupt a JUnit file, move a terminal's cursor or fill
// a disk. JSON escapes every character itself, so there texts are only cut.
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

// Limits on text from the network. A diff value is one field of a result; a
// body is a whole message or the text of a JUnit element.
const (
	valueLimit = 4 << 10
	bodyLimit  = 64 << 10
	// shortLimit bounds the reason printed on a check's own line and the
	// message attribute of a JUnit element.
	shortLimit = 200
)

// cutMarker ends every text that was cut, so a reader knows it is not whole.
const cutMarker = "… (cut)"

// clean returns s with only characters that XML 1.0 can hold and that a
// terminal prints without side effects: invalid UTF-8 (which includes lone
// surrogates) becomes U+FFFD, and control characters other than tab and
// newline, DEL, the C1 controls and U+FFFE/U+FFFF are dropped. Carriage
// returns are dropped too: on a console they would overwrite the line.
func clean(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	lastBad := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == utf8.RuneError && n == 1 {
			// One U+FFFD for a run of bad bytes, as strings.ToValidUTF8 does.
			if !lastBad {
				b.WriteRune(utf8.RuneError)
			}
			lastBad = true
			continue
		}
		lastBad = false
		if keep(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isClean(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !keep(r) {
			return false
		}
	}
	return true
}

func keep(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return true
	case r < 0x20 || r == 0x7f:
		return false
	case r >= 0x80 && r <= 0x9f:
		return false
	case r == 0xfffe || r == 0xffff:
		return false
	}
	return true
}

// cut shortens s to at most limit bytes plus the cut marker, on a character
// boundary.
func cut(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + cutMarker
}

// safe is clean then cut: the form of every network text in a report.
// Cleaning first means the limit counts only what is written.
func safe(s string, limit int) string {
	return cut(clean(s), limit)
}

// short is the one-line form of a message: its first non-empty line, cut to
// shortLimit. A message of several lines gets "…" to say there is more.
func short(s string) string {
	s = strings.TrimSpace(clean(s))
	first, rest, more := strings.Cut(s, "\n")
	first = strings.TrimSpace(first)
	if len(first) > shortLimit {
		return cut(first, shortLimit)
	}
	if more && strings.TrimSpace(rest) != "" {
		return first + " …"
	}
	return first
}

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
	v := o.Result
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
