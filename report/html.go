package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
)

// The HTML report is one self-contained page: the counts and the failures
// at the top, readable without JavaScript, then the reachability matrix,
// the traceroute paths, the dependency graph, the timing and every check in
// a table that a few lines of inline JavaScript filter. Drawings are inline
// SVG written here in Go; there is no external script, style, font or
// image, and a Content-Security-Policy forbids loading any, so opening the
// page from a CI artifact or file:// makes no request to any address.
//
// It is rendered from the records of the JSON-lines report, so that a run
// and `nettest merge` of its shards give the same page. It knows no check
// kind by name: destinations and observed states are read from the result
// object's common field names (url, host, port, name, state, status, rcode…).

//go:embed html.tmpl
var htmlTemplate string

// pageTemplate is parsed when the first page is written, not when the
// program starts: parsing it is 1,500 allocations and a third of a
// millisecond that every run without --html would pay.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"ms":    func(v float64) string { return human(time.Duration(v * float64(time.Millisecond))) },
		"upper": strings.ToUpper,
		"join":  strings.Join,
	}).Parse(htmlTemplate))
})

// Limits that keep the page of a very large run small and quick to open.
// What is left out is counted on the page.
const (
	// maxGraphNodes bounds the dependency graph; checks that depend on
	// nothing and that nothing depends on are never drawn.
	maxGraphNodes = 400
	// maxPaths bounds the traceroutes drawn.
	maxPaths = 100
	// maxSlowest is the length of the slowest-checks and highest-RTT lists.
	maxSlowest = 10
	// transposeAbove is the number of destinations above which the matrix
	// turns: destinations become rows, sources columns, since a long table
	// scrolls better than a wide one.
	transposeAbove = 30
)

// pageCheck is one check as the page shows it.
type pageCheck struct {
	Address     string
	Kind        string
	Status      string
	Message     string
	File        string
	Line        int
	Description string
	Tags        []string
	Vantage     string
	DurationMS  float64
	Attempts    int
	Diffs       []checks.Diff
	// Result is the observed result object as JSON decodes it; nil when the
	// check observed nothing (it errored before a result, or was skipped).
	Result map[string]any
	// Capture is the path of the check's packet capture, "" when none.
	Capture   string
	DependsOn []string
}

// pageSummary is what the top of the page says about the run.
type pageSummary struct {
	Passed, Failed, Errored, Skipped int
	DurationMS                       float64
	Interrupted                      bool
	Start                            time.Time
	Host                             string
	// Shard is the part of the suite the run covered, "K/N"; "" for all.
	Shard string
}

// page is everything the template shows.
type page struct {
	Summary  pageSummary
	Total    int
	Started  string
	Failures []*pageCheck
	Checks   []*pageCheck
	Matrix   matrix
	Paths    []pathView
	// PathsLeft counts traceroutes not drawn.
	PathsLeft int
	Graph     template.HTML
	// GraphNodes is how many checks the graph shows, GraphLeft how many of
	// those with dependencies it leaves out.
	GraphNodes, GraphLeft int
	Histogram             template.HTML
	Slowest               []bar
	HighestRTT            []bar
	Kinds, Tags, Vantages []string
}

// bar is one line of a horizontal bar list.
type bar struct {
	Address string
	Status  string
	Value   float64
	Label   string
	// Percent is the bar's length relative to the longest.
	Percent float64
}

// writeHTML renders the page of checks to w.
func writeHTML(w io.Writer, s pageSummary, checks []*pageCheck) error {
	p := newPage(s, checks)
	return pageTemplate().Execute(w, p)
}

func newPage(s pageSummary, checks []*pageCheck) *page {
	p := &page{Summary: s, Total: len(checks)}
	if !s.Start.IsZero() {
		p.Started = s.Start.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	sorted := append([]*pageCheck(nil), checks...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if ra, rb := statusRank(a.Status), statusRank(b.Status); ra != rb {
			return ra < rb
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.Vantage < b.Vantage
	})
	p.Checks = sorted
	kinds, tags, vantages := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range sorted {
		if c.Status == "fail" || c.Status == "error" {
			p.Failures = append(p.Failures, c)
		}
		kinds[c.Kind] = true
		for _, t := range c.Tags {
			tags[t] = true
		}
		vantages[source(c)] = true
	}
	p.Kinds, p.Tags, p.Vantages = keysOf(kinds), keysOf(tags), sources(vantages)
	p.Matrix = newMatrix(sorted)
	p.Paths, p.PathsLeft = drawPaths(sorted)
	p.Graph, p.GraphNodes, p.GraphLeft = drawGraph(checks)
	p.Histogram = drawHistogram(checks)
	p.Slowest, p.HighestRTT = slowest(checks), highestRTT(checks)
	return p
}

// statusRank orders the page: what needs a person's attention first.
func statusRank(s string) int {
	switch s {
	case "fail":
		return 0
	case "error":
		return 1
	case "skip":
		return 2
	}
	return 3
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// here names the place nettest was started, the source of checks that
// have no vantage.
const here = "here"

// source is where a check ran: its vantage, or here.
func source(c *pageCheck) string {
	if c.Vantage == "" {
		return here
	}
	return c.Vantage
}

// sources lists the sources, here first, then the vantages by name.
func sources(m map[string]bool) []string {
	out := keysOf(m)
	for i, s := range out {
		if s == here {
			copy(out[1:i+1], out[:i])
			out[0] = here
		}
	}
	return out
}

// Location is the check's file:line.
func (c *pageCheck) Location() string {
	if c.File == "" {
		return ""
	}
	if c.Line <= 0 {
		return c.File
	}
	return c.File + ":" + strconv.Itoa(c.Line)
}

// Source is where the check ran, "here" without a vantage.
func (c *pageCheck) Source() string { return source(c) }

// TagList is the tags separated by spaces, as the filter matches them.
func (c *pageCheck) TagList() string { return strings.Join(c.Tags, " ") }

// Reason is the one-line why of a check that did not pass, as the
// console prints it.
func (c *pageCheck) Reason() string {
	return reason(runner.Outcome{Message: c.Message, Diffs: c.Diffs})
}

// destination is what a check was aimed at, read from its result's common
// fields: the URL, host:port, the DNS name and type, a host, a route's
// destination or an address. "" when the check has none (a sysctl).
func destination(r map[string]any) string {
	str := func(k string) string {
		s, _ := r[k].(string)
		return s
	}
	if u := str("url"); u != "" {
		return u
	}
	host := str("host")
	if port, ok := r["port"].(float64); ok && host != "" && port > 0 {
		return net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	if n := str("name"); n != "" {
		if t := str("type"); t != "" {
			return n + " " + t
		}
		return n
	}
	for _, k := range []string{"host", "destination", "address"} {
		if s := str(k); s != "" {
			return s
		}
	}
	return ""
}

// observedState is the one word a matrix cell shows for what the check
// saw: the first of the result's state, status, rcode, presence or
// reachability fields.
func observedState(r map[string]any) string {
	for _, k := range []string{"state", "status", "rcode"} {
		switch v := r[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	words := []struct{ field, yes, no string }{
		{"present", "present", "absent"},
		{"reached", "reached", "not reached"},
		{"reachable", "reachable", "unreachable"},
		{"open", "open", "not open"},
	}
	for _, w := range words {
		if v, ok := r[w.field].(bool); ok {
			if v {
				return w.yes
			}
			return w.no
		}
	}
	return ""
}

// matrix is the reachability matrix: a cell per source and destination,
// each holding the checks from that source to that destination.
type matrix struct {
	Sources      []string
	Destinations []string
	// Transposed is true when rows are destinations (many of them).
	Transposed bool
	// Rows are in display order, each with a header and its cells.
	Rows    []matrixRow
	Columns []string
}

type matrixRow struct {
	Header string
	Cells  [][]cellEntry
}

// cellEntry is one check in a matrix cell.
type cellEntry struct {
	Address string
	Status  string
	// State is the observed state (open, 200, NXDOMAIN), or the status
	// when the check observed nothing.
	State string
	// Title is the hover text: the check, the verdict, what was expected.
	Title string
}

func newMatrix(checks []*pageCheck) matrix {
	type key struct{ src, dst string }
	cells := map[key][]cellEntry{}
	srcSet, dstSet := map[string]bool{}, map[string]bool{}
	var dstOrder []string
	for _, c := range checks {
		if c.Result == nil {
			continue
		}
		dst := destination(c.Result)
		if dst == "" {
			continue
		}
		src := source(c)
		srcSet[src] = true
		if !dstSet[dst] {
			dstSet[dst] = true
			dstOrder = append(dstOrder, dst)
		}
		e := cellEntry{Address: c.Address, Status: c.Status, State: observedState(c.Result)}
		if e.State == "" {
			e.State = c.Status
		}
		e.Title = cellTitle(c, e.State)
		cells[key{src, dst}] = append(cells[key{src, dst}], e)
	}
	m := matrix{Sources: sources(srcSet)}
	sort.Strings(dstOrder)
	m.Destinations = dstOrder
	if len(dstOrder) == 0 {
		return m
	}
	m.Transposed = len(dstOrder) > transposeAbove
	// Sources are rows and destinations columns, or the other way round.
	rows, at := m.Sources, func(row, col string) key { return key{row, col} }
	m.Columns = m.Destinations
	if m.Transposed {
		rows, at = m.Destinations, func(row, col string) key { return key{col, row} }
		m.Columns = m.Sources
	}
	for _, r := range rows {
		row := matrixRow{Header: r}
		for _, c := range m.Columns {
			row.Cells = append(row.Cells, cells[at(r, c)])
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// cellTitle says, on hover, which check a cell entry is, its verdict and
// what was expected: the diff when it did not pass.
func cellTitle(c *pageCheck, state string) string {
	var b strings.Builder
	b.WriteString(c.Address + ": " + c.Status)
	switch {
	case len(c.Diffs) > 0:
		for _, d := range c.Diffs {
			b.WriteString("\n" + d.Field + ": expected " + d.Expected + ", got " + d.Actual)
		}
	case c.Status == "pass":
		b.WriteString(", " + state + " as expected")
	}
	if m := short(c.Message); m != "" {
		b.WriteString("\n" + m)
	}
	return clean(b.String())
}

// slowest lists the checks that took longest.
func slowest(checks []*pageCheck) []bar {
	var bars []bar
	for _, c := range checks {
		if c.DurationMS > 0 {
			bars = append(bars, bar{Address: c.Address, Status: c.Status, Value: c.DurationMS})
		}
	}
	return topBars(bars, func(v float64) string { return human(time.Duration(v * float64(time.Millisecond))) })
}

// highestRTT lists the checks whose results hold the highest round-trip
// time: any numeric field named like rtt_ms or rtt_avg_ms, or the RTT of a
// traceroute hop.
func highestRTT(checks []*pageCheck) []bar {
	var bars []bar
	for _, c := range checks {
		if rtt, ok := maxRTT(c.Result); ok {
			bars = append(bars, bar{Address: c.Address, Status: c.Status, Value: rtt})
		}
	}
	return topBars(bars, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " ms" })
}

// maxRTT is the largest RTT in a result: the mean when there is one (a
// ping's spread is not the target's slowness), else the largest field
// named rtt…ms, looking into lists of objects (the hops of a trace).
func maxRTT(r map[string]any) (float64, bool) {
	if r == nil {
		return 0, false
	}
	if v, ok := r["rtt_avg_ms"].(float64); ok {
		return v, true
	}
	best, found := 0.0, false
	for k, v := range r {
		switch v := v.(type) {
		case float64:
			if strings.HasPrefix(k, "rtt") && strings.HasSuffix(k, "_ms") {
				best, found = math.Max(best, v), true
			}
		case []any:
			for _, e := range v {
				if o, ok := e.(map[string]any); ok {
					if x, ok := maxRTT(o); ok {
						best, found = math.Max(best, x), true
					}
				}
			}
		}
	}
	return best, found
}

func topBars(bars []bar, label func(float64) string) []bar {
	sort.SliceStable(bars, func(i, j int) bool { return bars[i].Value > bars[j].Value })
	if len(bars) > maxSlowest {
		bars = bars[:maxSlowest]
	}
	for i := range bars {
		bars[i].Label = label(bars[i].Value)
		if bars[0].Value > 0 {
			bars[i].Percent = math.Round(bars[i].Value/bars[0].Value*1000) / 10
		}
	}
	return bars
}

// showValue writes a diff's expected or actual value for a person: a
// string as it is (it is a phrase or an HCL literal already), anything
// else as JSON.
func showValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case json.RawMessage:
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		return string(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// WriteHTML writes the HTML page of a run to w from its JSON-lines
// records: the summary line and the result lines, in any order. A run's
// --html and `nettest merge --html` of its shards both come here, so they
// give the same page.
func WriteHTML(w io.Writer, s Summary, results []Result) error {
	checks := make([]*pageCheck, len(results))
	for i, r := range results {
		checks[i] = checkFromRecord(r)
	}
	return writeHTML(w, pageSummary{Passed: s.Passed, Failed: s.Failed, Errored: s.Errored, Skipped: s.Skipped,
		DurationMS: s.DurationMS, Interrupted: s.Interrupted, Start: s.Started, Host: s.Host, Shard: s.Shard}, checks)
}

// checkFromRecord is the page's view of one result record.
func checkFromRecord(r Result) *pageCheck {
	c := &pageCheck{Address: r.Address, Kind: r.Kind, Status: r.Status, Message: safe(r.Message, valueLimit),
		File: r.File, Line: r.Line, Description: r.Description, Tags: r.Tags, Vantage: r.Vantage,
		DurationMS: r.DurationMS, Attempts: r.Attempts, Capture: r.Capture, DependsOn: r.DependsOn}
	for _, d := range r.Diffs {
		c.Diffs = append(c.Diffs, checks.Diff{Field: d.Field, Expected: safe(d.ExpectedText, valueLimit), Actual: safe(d.ActualText, valueLimit)})
	}
	if len(r.Observed) > 0 {
		json.Unmarshal(r.Observed, &c.Result) // not an object: nothing observed to show
	}
	return c
}

// NewHTML returns the report that writes the HTML page to path at End,
// also when the run was interrupted, atomically like the JUnit file. It
// keeps the run's JSON-lines records and renders them with WriteHTML. It
// fails at once when path's directory cannot be written, so that a typo in
// --html is found before a long run rather than after it.
func NewHTML(path string) (runner.Reporter, error) {
	if err := CheckHTMLPath(path); err != nil {
		return nil, err
	}
	return &htmlReport{path: path, runFacts: factsOf(RunInfo{})}, nil
}

type htmlReport struct {
	path string
	runFacts
	results []Result
}

// Finished keeps the check's record; nothing is written before End.
func (h *htmlReport) Finished(o runner.Outcome) { h.results = append(h.results, NewResult(o)) }

// End writes the page.
func (h *htmlReport) End(s runner.Summary) error {
	return WriteHTMLFile(h.path, h.summary(s), h.results)
}

// WriteHTMLFile writes the page of a run's records to path, atomically:
// a reader sees the old file or the whole new one. `nettest merge --html`
// calls it with the merged records.
func WriteHTMLFile(path string, s Summary, results []Result) error {
	// A capture's path is as given to --capture, relative to where nettest
	// ran; the page links it relative to where the page is, so that the
	// link works when both are published together.
	if dir, err := filepath.Abs(filepath.Dir(path)); err == nil {
		var linked []Result
		for i, r := range results {
			if r.Capture == "" {
				continue
			}
			if abs, err := filepath.Abs(r.Capture); err == nil {
				if rel, err := filepath.Rel(dir, abs); err == nil {
					if linked == nil {
						linked = append([]Result(nil), results...)
					}
					linked[i].Capture = filepath.ToSlash(rel)
				}
			}
		}
		if linked != nil {
			results = linked
		}
	}
	var b bytes.Buffer
	err := WriteHTML(&b, s, results)
	if err == nil {
		err = writeAtomic(path, b.Bytes())
	}
	if err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}

// CheckHTMLPath reports why the HTML page could not be written to path,
// or nil: commands call it before they do the work.
func CheckHTMLPath(path string) error { return checkWritable(path) }

// checkWritable makes sure a report can be written to path: its directory
// exists and a file can be created in it.
func checkWritable(path string) error {
	if path == "" {
		return fmt.Errorf("no file name given")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name would only confuse
		}
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// WriteConfigHTML writes the page of a run that a configuration error kept
// from starting: each error is a check that errored, with its file:line
// and detail, so the page published by CI says why nothing ran.
func WriteConfigHTML(path string, diags []Diagnostic) error {
	host, _ := os.Hostname()
	outs := ConfigOutcomes(diags)
	results := make([]Result, len(outs))
	for i, o := range outs {
		results[i] = NewResult(o)
	}
	sum := NewSummary(runner.Summary{Errored: len(outs)}, time.Now(), host, len(outs))
	sum.Diagnostics = diags
	return WriteHTMLFile(path, sum, results)
}
