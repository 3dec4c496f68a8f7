package main

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// writeDiagnosticsText renders diags exactly as hcl's text writer does, in
// time proportional to their snippets rather than to their files. hcl's
// writer scans a diagnostic's file from its first line to find the lines
// to show, so a file with an error in every block took minutes: 3,000
// diagnostics in one 210 KB file, 111 s. Here each diagnostic is rendered
// by hcl's own writer against a window of its file, the few lines around
// its snippet, with its ranges moved into the window; then the snippet's
// line numbers, which the writer counts from the window's first line, are
// put back. A diagnostic whose rendering does not have the expected shape
// is rendered against its whole file instead.
func writeDiagnosticsText(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) {
	whole := hcl.NewDiagnosticTextWriter(w, files, width, color)
	lines := map[string][]int{} // line starts of each file, worked out once
	var buf bytes.Buffer
	for _, d := range diags {
		f := (*hcl.File)(nil)
		if d.Subject != nil {
			f = files[d.Subject.Filename]
		}
		if f == nil || f.Bytes == nil {
			whole.WriteDiagnostic(d)
			continue
		}
		starts, ok := lines[d.Subject.Filename]
		if !ok {
			starts = lineStarts(f.Bytes)
			lines[d.Subject.Filename] = starts
		}
		buf.Reset()
		if !writeWindowed(&buf, f, starts, d, width, color) {
			whole.WriteDiagnostic(d)
			continue
		}
		w.Write(buf.Bytes())
	}
}

// writeWindowed renders d against a window of f and reports whether the
// result has the shape that lets its line numbers be put back.
func writeWindowed(buf *bytes.Buffer, f *hcl.File, starts []int, d *hcl.Diagnostic, width uint, color bool) bool {
	snip := *d.Subject
	if d.Context != nil {
		if d.Context.Filename != snip.Filename {
			return false
		}
		snip = hcl.RangeOver(snip, *d.Context)
	}
	// The window runs from the line before the snippet's first to the line
	// after its last, so that every line the writer could count as
	// overlapping the snippet is in it; it starts at a line's start, so
	// every line in it has the same bytes and columns as in the file.
	first := max(lineOf(starts, snip.Start.Byte)-1, 0)
	last := min(lineOf(starts, snip.End.Byte+1)+1, len(starts)-1)
	from := starts[first]
	to := len(f.Bytes)
	if last+1 < len(starts) {
		to = starts[last+1]
	}
	if from > snip.Start.Byte || snip.End.Byte > to {
		return false
	}
	shift := func(r *hcl.Range) *hcl.Range {
		if r == nil {
			return nil
		}
		s := *r
		s.Start.Byte -= from
		s.End.Byte -= from
		return &s
	}
	moved := *d
	moved.Subject = shift(d.Subject)
	moved.Context = shift(d.Context)
	window := &hcl.File{Bytes: f.Bytes[from:to], Nav: shiftedNav{f.Nav, from}}
	hcl.NewDiagnosticTextWriter(buf, map[string]*hcl.File{snip.Filename: window}, width, color).WriteDiagnostic(&moved)

	// Put the snippet's line numbers back: the lines after the "on FILE
	// line N" line, up to the blank line, are "%4d: " and a line of the
	// window, numbered from 1.
	out := buf.Bytes()
	header := fmt.Sprintf("  on %s line %d", d.Subject.Filename, d.Subject.Start.Line)
	at := bytes.Index(out, []byte(header))
	if at < 0 {
		return false
	}
	nl := bytes.IndexByte(out[at:], '\n')
	if nl < 0 {
		return false
	}
	head, rest := out[:at+nl+1], out[at+nl+1:]
	var fixed bytes.Buffer
	fixed.Write(head)
	for {
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			return false
		}
		line := rest[:end+1]
		rest = rest[end+1:]
		if len(line) == 1 { // the blank line after the snippet
			fixed.Write(line)
			break
		}
		colon := bytes.Index(line, []byte(": "))
		var n int
		if colon < 0 || colon > 12 {
			return false
		}
		if _, err := fmt.Sscanf(strings.TrimSpace(string(line[:colon])), "%d", &n); err != nil || n < 1 || first+n > len(starts) {
			return false
		}
		fmt.Fprintf(&fixed, "%4d", first+n)
		fixed.Write(line[colon:])
	}
	fixed.Write(rest)
	buf.Reset()
	buf.Write(fixed.Bytes())
	return true
}

// lineStarts lists the offset of every line's first byte.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' && i+1 < len(src) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf is the index in starts of the line holding offset.
func lineOf(starts []int, offset int) int {
	return sort.Search(len(starts), func(i int) bool { return starts[i] > offset }) - 1
}

// shiftedNav answers the writer's "in tcp "web"" question for a window
// that starts at offset from of the file nav describes.
type shiftedNav struct {
	nav  any
	from int
}

func (n shiftedNav) ContextString(offset int) string {
	if c, ok := n.nav.(interface{ ContextString(int) string }); ok {
		return c.ContextString(offset + n.from)
	}
	return ""
}
