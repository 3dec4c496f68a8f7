package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// multiLineString is the summary hclsyntax gives a quoted string that runs
// past the end of its line.
const multiLineString = "Invalid multi-line string"

// collapseCascades keeps the first of the "Invalid multi-line string"
// errors of each file and says how many followed it. One quote left open
// makes hclsyntax read the rest of the file with every string inside out,
// and report nearly every line after it (a thousand errors in a suite of a
// few hundred checks, each with its snippet), burying the one that says
// where the quote was left open. The errors that follow are most likely
// that quote's echo; a second string split over lines shows on the next
// run, once the first is fixed.
func collapseCascades(diags hcl.Diagnostics) hcl.Diagnostics {
	first := map[string]*hcl.Diagnostic{}
	more := map[*hcl.Diagnostic]int{}
	out := diags[:0:0]
	for _, d := range diags {
		if d.Summary != multiLineString || d.Subject == nil {
			out = append(out, d)
			continue
		}
		if f, ok := first[d.Subject.Filename]; ok {
			more[f]++
			continue
		}
		first[d.Subject.Filename] = d
		out = append(out, d)
	}
	if len(more) == 0 {
		return diags
	}
	for d, n := range more {
		c := *d
		c.Detail += fmt.Sprintf(" HCL gave the same error for %d more lines after this one in %s, not shown: most likely this string is not closed, and every quote after it opens a string instead of closing one. Close this string first.", n, d.Subject.Filename)
		for k := range out {
			if out[k] == d {
				out[k] = &c
			}
		}
	}
	return out
}
