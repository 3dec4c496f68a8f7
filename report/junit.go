package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nettest/nettest/runner"
)

// NewJUnit returns the report that writes JUnit XML to path at End, also
// when the run was interrupted. The file validates against the strict
// schema of Jenkins' xunit plugin (junit-10.xsd): a <testsuite> per source
// file, a <testcase name="ADDRESS" classname="KIND"> per check. The file is
// written to a temporary name beside path and renamed, so a reader sees
// either the old file or the whole new one.
func NewJUnit(path string) runner.Reporter {
	return &junit{path: path, now: time.Now}
}

// RunInfo says when and where a run happened, for the reports that show
// it. nettest merge sets it from the reports it merges; zero fields mean
// now and this machine.
type RunInfo struct {
	Started time.Time
	Host    string
}

// NewJUnitWith is NewJUnit for a run that happened at info.
func NewJUnitWith(path string, info RunInfo) runner.Reporter {
	j := &junit{path: path, now: time.Now, hostname: info.Host}
	if !info.Started.IsZero() {
		j.now = func() time.Time { return info.Started }
	}
	return j
}

type junit struct {
	path string
	// now and hostname are fields so that tests can fix them; hostname ""
	// means os.Hostname.
	now      func() time.Time
	hostname string
	start    time.Time
	total    int
	cases    []runner.Outcome
}

// Begin notes the start of the run, the suites' timestamp.
func (j *junit) Begin(total int) {
	j.total = total
	j.start = j.now()
}

// Finished keeps the outcome; nothing is written before End.
func (j *junit) Finished(o runner.Outcome) {
	j.cases = append(j.cases, o)
}

// End writes the file.
func (j *junit) End(s runner.Summary) error {
	if j.start.IsZero() {
		j.start = j.now()
	}
	if j.hostname == "" {
		j.hostname, _ = os.Hostname()
	}
	if err := writeAtomic(j.path, j.render(s)); err != nil {
		return fmt.Errorf("writing the JUnit report: %w", err)
	}
	return nil
}

// counts are the attributes a <testsuite> and <testsuites> carry.
type counts struct {
	tests, failures, errors, skipped int
	time                             time.Duration
}

func (c *counts) add(o runner.Outcome) {
	c.tests++
	c.time += o.Duration
	switch o.Status {
	case runner.Fail:
		c.failures++
	case runner.Error:
		c.errors++
	case runner.Skip:
		c.skipped++
	}
}

func (j *junit) render(s runner.Summary) []byte {
	sortOutcomes(j.cases)
	// Group by file; cases are sorted by file, so a group is a run.
	var groups [][]runner.Outcome
	for i, o := range j.cases {
		if i == 0 || o.File != j.cases[i-1].File {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], o)
	}
	var all counts
	for _, o := range j.cases {
		all.add(o)
	}
	// The outer time is the run's wall time; a suite's is the sum of its
	// checks', as JUnit tools add them up.
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<testsuites name="nettest" tests="%d" failures="%d" errors="%d" time="%s">`+"\n",
		all.tests, all.failures, all.errors, seconds(s.Duration))
	interrupted := ""
	if s.Interrupted {
		n := 0
		for _, o := range j.cases {
			if stopped(o) {
				n++
			}
		}
		interrupted = unfinishedNotice(j.total, len(j.cases), n)
	}
	if len(groups) == 0 && interrupted != "" {
		// Say so even when no check finished: an empty file would read as
		// an empty suite.
		groups = append(groups, nil)
	}
	for _, g := range groups {
		var c counts
		for _, o := range g {
			c.add(o)
		}
		name := "nettest"
		if len(g) > 0 && g[0].File != "" {
			name = g[0].File
		}
		fmt.Fprintf(&b, `  <testsuite name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" time="%s" timestamp="%s" hostname="%s"`,
			attr(name), c.tests, c.failures, c.errors, c.skipped, seconds(c.time),
			j.start.UTC().Format("2006-01-02T15:04:05"), attr(j.hostname))
		if name != "nettest" {
			fmt.Fprintf(&b, ` file="%s"`, attr(name))
		}
		b.WriteString(">\n")
		for _, o := range g {
			testcase(&b, o)
		}
		if interrupted != "" {
			b.WriteString("    <system-err>" + text(interrupted) + "</system-err>\n")
		}
		b.WriteString("  </testsuite>\n")
	}
	b.WriteString("</testsuites>\n")
	return []byte(b.String())
}

// testcase writes one check. A failure, error or skip carries the short
// message as its message attribute and the full explanation, with the
// check's file:line, as its text; a pass with a message (passed on a retry)
// keeps it in <system-out>.
func testcase(b *strings.Builder, o runner.Outcome) {
	fmt.Fprintf(b, `    <testcase name="%s" classname="%s" time="%s"`, attr(o.Address), attr(o.Kind), seconds(o.Duration))
	var elem string
	switch o.Status {
	case runner.Fail:
		elem = "failure"
	case runner.Error:
		elem = "error"
	case runner.Skip:
		elem = "skipped"
	default:
		if m := safe(o.Message, bodyLimit); m != "" {
			b.WriteString(">\n      <system-out>" + text(m) + "</system-out>\n    </testcase>\n")
		} else {
			b.WriteString("/>\n")
		}
		return
	}
	var body strings.Builder
	explain(&body, o, "", painter{}, bodyLimit)
	fmt.Fprintf(b, ">\n      <%s message=\"%s\">%s</%s>\n",
		elem, attr(headline(o)), text(cut(strings.TrimRight(body.String(), "\n"), bodyLimit)), elem)
	if o.Capture != "" {
		// Jenkins' and GitLab's JUnit readers turn this line, alone on
		// its line of <system-out>, into a link to the file.
		path := o.Capture
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		b.WriteString("      <system-out>\n[[ATTACHMENT|" + text(path) + "]]\n</system-out>\n")
	}
	b.WriteString("    </testcase>\n")
}

// headline is the message attribute: the reason, or the status when there
// is none.
func headline(o runner.Outcome) string {
	if r := reason(o); r != "" {
		return r
	}
	return string(o.Status)
}

// seconds is the SUREFIRE_TIME form of a duration: seconds with three
// decimals, no unit, no exponent.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// text escapes character data. The text has been cleaned, so only markup
// characters remain to escape; escaping > as well keeps "]]>" harmless.
func text(s string) string {
	return textEscaper.Replace(clean(s))
}

// attr escapes an attribute value. Tabs and newlines are written as
// character references, since a parser would turn them into spaces.
func attr(s string) string {
	return attrEscaper.Replace(clean(s))
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
		"\t", "&#x9;", "\n", "&#xA;")
)

// writeAtomic writes data to a temporary file in path's directory and
// renames it to path.
func writeAtomic(path string, data []byte) error {
	if path == "" {
		return fmt.Errorf("no file name given")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
