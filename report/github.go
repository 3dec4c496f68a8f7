package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nettest/nettest/runner"
)

// GitHubOptions say what the GitHub Actions report writes.
type GitHubOptions struct {
	// Annotations, when not nil, receives a workflow command per failed or
	// errored check (::error file=…,line=…,title=…::…), which the runner
	// shows on the check's line of the pull request.
	Annotations io.Writer
	// Workspace is GITHUB_WORKSPACE: annotation paths are relative to it,
	// as GitHub needs them to find the file in the checkout.
	Workspace string
	// StepSummary is the file named by GITHUB_STEP_SUMMARY; "" writes no
	// summary. The Markdown is appended, as other steps' summaries may be
	// there already.
	StepSummary string
}

// annotationLimit is how many error annotations GitHub shows for one step;
// the rest are dropped silently, so the report says how many more there
// were in a notice instead.
const annotationLimit = 10

// summaryLimit keeps the step summary under GitHub's 1 MiB per step, with
// room for what other steps write.
const summaryLimit = 900 << 10

// NewGitHub returns the report for GitHub Actions: error annotations and a
// Markdown step summary, both written at End.
func NewGitHub(opts GitHubOptions) runner.Reporter {
	return &github{opts: opts}
}

type github struct {
	opts  GitHubOptions
	total int
	bad   []runner.Outcome
}

// Begin notes the number of checks.
func (g *github) Begin(total int) { g.total = total }

// Finished keeps the checks that failed or errored.
func (g *github) Finished(o runner.Outcome) {
	if o.Status == runner.Fail || o.Status == runner.Error {
		g.bad = append(g.bad, o)
	}
}

// End writes the annotations and appends the step summary.
func (g *github) End(s runner.Summary) error {
	sortOutcomes(g.bad)
	var first error
	if g.opts.Annotations != nil {
		var b strings.Builder
		for k, o := range g.bad {
			if k == annotationLimit {
				fmt.Fprintf(&b, "::notice title=nettest::%s\n", escapeData(fmt.Sprintf(
					"%d more checks failed or errored than GitHub shows annotations for; the job's log and the step summary list them all.", len(g.bad)-annotationLimit)))
				break
			}
			b.WriteString(annotation(o, g.opts.Workspace))
		}
		if _, err := io.WriteString(g.opts.Annotations, b.String()); err != nil {
			first = err
		}
	}
	if g.opts.StepSummary != "" {
		f, err := os.OpenFile(g.opts.StepSummary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = io.WriteString(f, StepSummary(s, g.bad))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil && first == nil {
			first = fmt.Errorf("writing the GitHub step summary: %w", err)
		}
	}
	return first
}

// annotation is the workflow command of one failed or errored check: the
// address as the title, the reason and the diff as the message, on the
// check's line.
func annotation(o runner.Outcome, workspace string) string {
	var props []string
	if o.File != "" {
		props = append(props, "file="+escapeProperty(relativeTo(o.File, workspace)))
		if o.Line > 0 {
			props = append(props, "line="+strconv.Itoa(o.Line))
		}
	}
	title := o.Address + from(o)
	props = append(props, "title="+escapeProperty(clean(title)))
	var body strings.Builder
	explain(&body, o, "", painter{}, valueLimit)
	// The location is in the properties; the message starts with why.
	msg := strings.TrimRight(body.String(), "\n")
	if _, rest, ok := strings.Cut(msg, "\n"); ok {
		msg = dedent(rest)
	} else {
		msg = string(o.Status)
	}
	return "::error " + strings.Join(props, ",") + "::" + escapeData(msg) + "\n"
}

// dedent removes the indentation all lines of s share, so that a message
// starting with a diff does not start with spaces.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if common < 0 || n < common {
			common = n
		}
	}
	if common <= 0 {
		return s
	}
	for k, l := range lines {
		lines[k] = l[min(common, len(l)):]
	}
	return strings.Join(lines, "\n")
}

// relativeTo is path relative to dir when it lies inside it, else path.
func relativeTo(path, dir string) string {
	if dir == "" {
		return filepath.ToSlash(path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// escapeData escapes a workflow command's message as the runner unescapes
// it: %, CR and LF.
func escapeData(s string) string {
	return dataEscaper.Replace(s)
}

// escapeProperty escapes a property value: the message's characters, and :
// and , which end a property.
func escapeProperty(s string) string {
	return propertyEscaper.Replace(s)
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// StepSummary is the Markdown of a run for GITHUB_STEP_SUMMARY: the counts,
// then a table of the failed and errored checks (bad, in report order)
// with where each ran, its file:line and its diff. Rows stop before the
// text would pass summaryLimit; a last line says how many were left out.
func StepSummary(s runner.Summary, bad []runner.Outcome) string {
	var b strings.Builder
	icon := "✅"
	if s.Failed > 0 || s.Errored > 0 || s.Interrupted {
		icon = "❌"
	}
	fmt.Fprintf(&b, "### %s nettest: %d passed, %d failed, %d errored, %d skipped in %s\n\n",
		icon, s.Passed, s.Failed, s.Errored, s.Skipped, human(s.Duration))
	if s.Interrupted {
		b.WriteString("The run was interrupted: checks that did not finish count as errored or skipped.\n\n")
	}
	if len(bad) == 0 {
		return b.String()
	}
	b.WriteString("| | Check | From | Location | Why |\n| --- | --- | --- | --- | --- |\n")
	for k, o := range bad {
		row := summaryRow(o)
		if b.Len()+len(row) > summaryLimit-200 {
			fmt.Fprintf(&b, "\n%d more checks did not pass: the job's log and the JUnit report list them all.\n", len(bad)-k)
			return b.String()
		}
		b.WriteString(row)
	}
	b.WriteString("\n")
	return b.String()
}

func summaryRow(o runner.Outcome) string {
	mark := "❌ fail"
	if o.Status == runner.Error {
		mark = "⚠️ error"
	}
	where := "here"
	if o.Vantage != "" {
		where = cell(o.Vantage)
	}
	var why []string
	if r := short(o.Message); r != "" {
		why = append(why, cell(r))
	}
	for _, d := range o.Diffs {
		why = append(why, "<code>"+cell(d.Field)+"</code>: expected <code>"+cell(safe(d.Expected, 300))+
			"</code>, got <code>"+cell(safe(d.Actual, 300))+"</code>")
	}
	return "| " + mark + " | <code>" + cell(o.Address) + "</code> | " + where + " | " + cell(location(o)) + " | " + strings.Join(why, "<br>") + " |\n"
}

// cell makes text safe in a Markdown table cell written with HTML tags:
// markup is escaped, a | would end the cell and a newline the row.
func cell(s string) string {
	return cellEscaper.Replace(clean(s))
}

var cellEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "&#124;", "\n", "<br>", "\t", " ", "`", "&#96;")
