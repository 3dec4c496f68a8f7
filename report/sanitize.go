// Package report holds the writers of a run's outcome: the human console
// report, JSON lines, JUnit XML, GitHub annotations and the HTML page. Each consumes the runner's events
// through runner.Reporter and knows no check kind by name.
//
// Much of what a report shows came from the network (HTTP bodies, banners,
// DNS answers), so every text of the console and JUnit reports passes
// through clean and cut before it is written: a hostile or broken server
// must not be able to corrupt a JUnit file, move a terminal's cursor or fill
// a disk. JSON escapes every character itself, so there texts are only cut.
package report

import (
	"strings"
	"unicode/utf8"
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
