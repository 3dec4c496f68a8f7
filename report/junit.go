package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nettest/nettest/internal/atomicfile"
	"github.com/nettest/nettest/runner"
)

// NewJUnit returns the report that writes JUnit XML to path at End, also
// when the run was interrupted. The file validates against the strict
// schema of Jenkins' xunit plugin (junit-10.xsd): a <testsuite> per source
// file, a <testcase name="ADDRESS" classname="KIND"> per check. The file is
// written to a temporary name beside path and renamed, so a reader sees
// either the old file or the whole new one.
func NewJUnit(path string) runner.Reporter {
	return NewJUnitWith(path, RunInfo{})
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
	return &junit{path: path, runFacts: factsOf(info)}
}

type junit struct {
	path string
	runFacts
	cases []runner.Outcome
}

// Finished keeps the outcome; nothing is written before End.
func (j *junit) Finished(o runner.Outcome) {
	j.cases = append(j.cases, o)
}

// End writes the file.
func (j *junit) End(s runner.Summary) error {
	j.settle()
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

// The JUnit document, as encoding/xml writes it: the shape of the strict
// schema (junit-10.xsd) as types. Attributes the schema requires carry no
// omitempty.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name      string      `xml:"name,attr"`
		Tests     int         `xml:"tests,attr"`
		Failures  int         `xml:"failures,attr"`
		Errors    int         `xml:"errors,attr"`
		Skipped   int         `xml:"skipped,attr"`
		Time      string      `xml:"time,attr"`
		Timestamp string      `xml:"timestamp,attr"`
		Hostname  string      `xml:"hostname,attr"`
		File      string      `xml:"file,attr,omitempty"`
		Cases     []junitCase `xml:"testcase"`
		SystemErr *junitText  `xml:"system-err"`
	}
	junitCase struct {
		Name      string `xml:"name,attr"`
		Classname string `xml:"classname,attr"`
		Time      string `xml:"time,attr"`
		// Group holds the check's tags, comma-separated: the schema's
		// one attribute of a testcase for grouping it.
		Group     string        `xml:"group,attr,omitempty"`
		Failure   *junitVerdict `xml:"failure"`
		Error     *junitVerdict `xml:"error"`
		Skipped   *junitVerdict `xml:"skipped"`
		SystemOut *junitText    `xml:"system-out"`
	}
	// junitVerdict is a <failure>, <error> or <skipped>: the short reason
	// as its message, the explanation as its text.
	junitVerdict struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",cdata"`
	}
	junitText struct {
		Text string `xml:",cdata"`
	}
)

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
	doc := junitSuites{Name: "nettest", Tests: all.tests, Failures: all.failures, Errors: all.errors, Time: seconds(s.Duration)}
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
		suite := junitSuite{Name: "nettest", Tests: c.tests, Failures: c.failures, Errors: c.errors, Skipped: c.skipped,
			Time: seconds(c.time), Timestamp: j.start.UTC().Format("2006-01-02T15:04:05"), Hostname: clean(j.hostname)}
		if len(g) > 0 && g[0].File != "" {
			suite.Name = clean(g[0].File)
			suite.File = suite.Name
		}
		for _, o := range g {
			suite.Cases = append(suite.Cases, testcase(o))
		}
		if interrupted != "" {
			suite.SystemErr = &junitText{interrupted}
		}
		doc.Suites = append(doc.Suites, suite)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		// Every text is cleaned of what XML cannot hold; nothing else
		// can make encoding fail.
		panic("report: encoding the JUnit XML: " + err.Error())
	}
	b.WriteString("\n")
	return b.Bytes()
}

// testcase is one check. A failure, error or skip carries the short
// message as its message attribute and the full explanation, with the
// check's file:line, as its text; a pass with a message (passed on a retry)
// keeps it in <system-out>.
func testcase(o runner.Outcome) junitCase {
	c := junitCase{Name: clean(o.Address), Classname: clean(o.Kind), Time: seconds(o.Duration), Group: clean(strings.Join(o.Tags, ","))}
	var body strings.Builder
	explain(&body, o, "", painter{}, bodyLimit)
	verdict := &junitVerdict{Message: clean(headline(o)), Text: clean(cut(strings.TrimRight(body.String(), "\n"), bodyLimit))}
	switch o.Status {
	case runner.Fail:
		c.Failure = verdict
	case runner.Error:
		c.Error = verdict
	case runner.Skip:
		c.Skipped = verdict
	default:
		if m := safe(o.Message, bodyLimit); m != "" {
			c.SystemOut = &junitText{m}
		}
		return c
	}
	if o.Capture != "" {
		// Jenkins' and GitLab's JUnit readers turn this line, alone on
		// its line of <system-out>, into a link to the file.
		path := o.Capture
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		c.SystemOut = &junitText{"\n[[ATTACHMENT|" + clean(path) + "]]\n"}
	}
	return c
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

// writeAtomic writes data beside path and renames it over path.
func writeAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}
