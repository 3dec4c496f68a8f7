package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/internal/browser"
	"github.com/nettest/nettest/runner"
	"golang.org/x/net/html"
)

// sampleChecks is a run as the records of a lab run with two vantages hold
// it: ports open, closed and filtered from three places, HTTP and DNS, a
// traceroute through two routers that passes and one that misses its via,
// a name that does not resolve and a dependent skipped for a failure.
func sampleChecks(t testing.TB) []*pageCheck {
	t.Helper()
	obj := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	file := "lab/lab.nettest.hcl"
	return []*pageCheck{
		{Address: "tcp.web", Kind: "tcp", Status: "pass", File: file, Line: 10, DurationMS: 1.2, Attempts: 1, Tags: []string{"web"},
			Result: obj(`{"host":"198.18.3.2","port":80,"address":"198.18.3.2:80","open":true,"state":"open","error":"","duration_ms":1.2}`)},
		{Address: `tcp.web_from["office"]`, Kind: "tcp", Status: "pass", File: file, Line: 18, DurationMS: 2.5, Attempts: 1, Vantage: "office", Tags: []string{"web"},
			Result: obj(`{"host":"198.18.3.2","port":80,"address":"198.18.3.2:80","open":true,"state":"open","error":"","duration_ms":2.5}`)},
		{Address: `tcp.web_from["dmz"]`, Kind: "tcp", Status: "fail", File: file, Line: 18, DurationMS: 1003, Attempts: 1, Vantage: "dmz", Tags: []string{"web"},
			Description: "The web tier answers from every zone.",
			Diffs:       []checks.Diff{{Field: "open", Expected: "true", Actual: "false (filtered: no answer within the timeout)"}},
			Result:      obj(`{"host":"198.18.3.2","port":80,"address":"198.18.3.2:80","open":false,"state":"filtered","error":"no answer within the timeout","duration_ms":1003}`)},
		{Address: "tcp.db_closed", Kind: "tcp", Status: "pass", File: file, Line: 26, DurationMS: 0.8, Attempts: 1, Tags: []string{"db"},
			Result: obj(`{"host":"198.18.3.2","port":5432,"address":"198.18.3.2:5432","open":false,"state":"closed","error":"connection refused","duration_ms":0.8}`)},
		{Address: `tcp.db_from["office"]`, Kind: "tcp", Status: "fail", File: file, Line: 34, DurationMS: 0.9, Attempts: 1, Vantage: "office", Tags: []string{"db"},
			Diffs:  []checks.Diff{{Field: "state", Expected: `"filtered"`, Actual: `"open"`}},
			Result: obj(`{"host":"198.18.3.2","port":5432,"address":"198.18.3.2:5432","open":true,"state":"open","error":"","duration_ms":0.9}`)},
		{Address: "http.health", Kind: "http", Status: "pass", File: file, Line: 42, DurationMS: 4.1, Attempts: 1, Tags: []string{"web"},
			Result: obj(`{"url":"http://198.18.3.2/healthz","status":200,"body":"ok","duration_ms":4.1}`)},
		{Address: `http.health_from["office"]`, Kind: "http", Status: "fail", File: file, Line: 50, DurationMS: 3.3, Attempts: 2, Vantage: "office",
			Message: "failed on all 2 attempts",
			Diffs:   []checks.Diff{{Field: "status", Expected: "200", Actual: "503"}},
			Result:  obj(`{"url":"http://198.18.3.2/healthz","status":503,"body":"down","duration_ms":3.3}`)},
		{Address: "dns.api", Kind: "dns", Status: "fail", File: file, Line: 60, DurationMS: 0.7, Attempts: 1,
			Diffs:  []checks.Diff{{Field: "answers", Expected: `["198.18.3.99"]`, Actual: `["198.18.3.2"]`}},
			Result: obj(`{"name":"api.lab.test","type":"A","server":"198.18.3.53:53","rcode":"NOERROR","answers":["198.18.3.2"],"duration_ms":0.7}`)},
		{Address: "http.api_by_dns", Kind: "http", Status: "skip", File: file, Line: 68, Attempts: 0, DependsOn: []string{"dns.api"},
			Message: "dependency dns.api did not pass (fail)"},
		{Address: "tcp.api_port", Kind: "tcp", Status: "skip", File: file, Line: 76, DependsOn: []string{"http.api_by_dns"},
			Message: "dependency http.api_by_dns did not pass (skip)"},
		{Address: "tcp.nope", Kind: "tcp", Status: "error", File: file, Line: 84, DurationMS: 0.3, Attempts: 1,
			Message: `cannot resolve host "nope.lab.test": no such host; check the name, or give an address`},
		{Address: "traceroute.server", Kind: "traceroute", Status: "pass", File: file, Line: 92, DurationMS: 12, Attempts: 1, DependsOn: []string{"tcp.web"},
			Result: obj(`{"host":"198.18.3.2","address":"198.18.3.2","protocol":"icmp","reached":true,"hop_count":3,"hops":[
				{"ttl":1,"address":"198.18.1.1","addresses":["198.18.1.1"],"rtt_ms":0.11,"replies":3,"unreachable":""},
				{"ttl":2,"address":"198.18.2.2","addresses":["198.18.2.2"],"rtt_ms":0.19,"replies":3,"unreachable":""},
				{"ttl":3,"address":"198.18.3.2","addresses":["198.18.3.2"],"rtt_ms":0.25,"replies":3,"unreachable":""}],"error":"","duration_ms":12}`)},
		{Address: "traceroute.via_firewall", Kind: "traceroute", Status: "fail", File: file, Line: 100, DurationMS: 2010, Attempts: 1,
			Diffs: []checks.Diff{{Field: "hops", Expected: `via ["198.18.1.1", "198.18.9.1"]`, Actual: `["198.18.1.1", "198.18.2.2", *] (no "198.18.9.1" after "198.18.1.1")`},
				{Field: "reached", Expected: "true", Actual: "false"}},
			Result: obj(`{"host":"198.18.4.2","address":"198.18.4.2","protocol":"icmp","reached":false,"hop_count":3,"hops":[
				{"ttl":1,"address":"198.18.1.1","addresses":["198.18.1.1"],"rtt_ms":0.12,"replies":3,"unreachable":""},
				{"ttl":2,"address":"198.18.2.2","addresses":["198.18.2.2"],"rtt_ms":0.2,"replies":3,"unreachable":""},
				{"ttl":3,"address":"","addresses":[],"rtt_ms":null,"replies":0,"unreachable":""}],"error":"","duration_ms":2010}`)},
		{Address: "ping.gateway", Kind: "ping", Status: "pass", File: file, Line: 110, DurationMS: 210, Attempts: 1, Vantage: "dmz",
			Result: obj(`{"host":"198.18.1.1","address":"198.18.1.1","sent":3,"received":3,"loss_percent":0,"rtt_min_ms":0.05,"rtt_avg_ms":0.08,"rtt_max_ms":0.1,"reachable":true,"duration_ms":210}`)},
		{Address: "sysctl.forwarding", Kind: "sysctl", Status: "pass", File: file, Line: 120, DurationMS: 0.1, Attempts: 1,
			Result: obj(`{"key":"net.ipv4.ip_forward","value":"1","duration_ms":0.1}`)},
	}
}

func sampleSummary() pageSummary {
	return pageSummary{Passed: 7, Failed: 5, Errored: 1, Skipped: 2, DurationMS: 2034,
		Start: time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC), Host: "ci-runner-7"}
}

func renderSample(t testing.TB) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeHTML(&b, sampleSummary(), sampleChecks(t)); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("NETTEST_HTML_SAMPLE"); out != "" {
		os.WriteFile(out, b.Bytes(), 0o644)
	}
	return b.String()
}

func TestHTMLSample(t *testing.T) {
	page := renderSample(t)
	for _, want := range []string{
		`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`,
		`started 2026-12-01 13:00:00 UTC on <b>ci-runner-7</b>`,
		`<li class="fail"><b>5</b>failed</li>`,
		// A cell from a vantage, with what was expected on hover.
		`<span class="v fail" data-a="tcp.web_from[&#34;dmz&#34;]" title="tcp.web_from[&#34;dmz&#34;]: fail` + "\n" +
			`open: expected true, got false (filtered: no answer within the timeout)">filtered</span>`,
		`<option>office</option>`, `<option>web</option>`,
		// The via that the path missed, drawn apart.
		`<text x="87" y="`, `>198.18.9.1</text>`, `>missing via</text>`,
		// The skipped chain behind the failed lookup.
		`<g class="n skip" data-a="tcp.api_port">`,
		`<title>dns.api → http.api_by_dns</title>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if i, j := strings.Index(page, `id="failures"`), strings.Index(page, `id="matrix"`); i < 0 || j < i {
		t.Error("the failures do not come before the matrix")
	}
}

// TestHTMLEscapesNetworkText renders texts a hostile server could have
// sent: they show as text, in the page and in its drawings.
func TestHTMLEscapesNetworkText(t *testing.T) {
	evil := `"><script>alert(1)</script><img src=x>`
	checks := []*pageCheck{
		{Address: "http.evil", Kind: "http", Status: "fail", Message: evil, Attempts: 1,
			Diffs:  []checks.Diff{{Field: "body", Expected: "ok", Actual: evil}},
			Result: map[string]any{"url": "http://198.18.0.1/" + evil, "status": 200.0}},
		{Address: "traceroute.evil", Kind: "traceroute", Status: "fail", Attempts: 1, DependsOn: []string{"http.evil"},
			Diffs:  []checks.Diff{{Field: "hops", Expected: `via ["198.18.0.9"]`, Actual: evil}},
			Result: map[string]any{"host": evil, "reached": false, "hops": []any{map[string]any{"ttl": 1.0, "address": evil}}}},
	}
	var b bytes.Buffer
	if err := writeHTML(&b, pageSummary{Failed: 2, Host: evil, Interrupted: true}, checks); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d <script> elements, want only the page's own", n)
	}
	if strings.Contains(page, "<img") {
		t.Error("a server's text became an <img>")
	}
	if !strings.Contains(page, "The run was interrupted") {
		t.Error("no notice of the interruption")
	}
}

// TestHTMLMatrixTurns: with many destinations, they become the rows.
func TestHTMLMatrixTurns(t *testing.T) {
	_, checks := largeRun(200)
	m := newMatrix(checks)
	if !m.Transposed || len(m.Rows) != len(m.Destinations) || strings.Join(m.Columns, " ") != "here dmz office vpc-b" {
		t.Errorf("matrix of %d destinations: transposed %v, %d rows, columns %v", len(m.Destinations), m.Transposed, len(m.Rows), m.Columns)
	}
}

// largeRun is a run of n checks as a large suite gives one: tcp ports on
// many hosts from here and three vantages (a few percent failing), HTTP
// and DNS checks, a traceroute per fifty checks, and a dependency chain
// every ten checks.
func largeRun(n int) (pageSummary, []*pageCheck) {
	var s pageSummary
	run := make([]*pageCheck, 0, n)
	vantages := []string{"", "office", "dmz", "vpc-b"}
	for i := 0; i < n; i++ {
		c := &pageCheck{Kind: "tcp", Status: "pass", File: "suite/ports.nettest.hcl", Line: 10 + i%40, Attempts: 1,
			Vantage: vantages[i%len(vantages)], Tags: []string{[]string{"web", "db", "cache"}[i%3]}, DurationMS: float64(1 + i%97)}
		host := fmt.Sprintf("198.18.%d.%d", i/250%256, i%250+1)
		switch {
		case i%50 == 7:
			c.Kind, c.Address = "traceroute", fmt.Sprintf("traceroute.path[%q]", host)
			c.Result = map[string]any{"host": host, "address": host, "reached": true, "hops": []any{
				map[string]any{"ttl": 1.0, "address": "198.18.0.1", "rtt_ms": 0.2, "replies": 3.0},
				map[string]any{"ttl": 2.0, "address": "198.18.0.6", "rtt_ms": 0.4, "replies": 3.0},
				map[string]any{"ttl": 3.0, "address": host, "rtt_ms": 0.6, "replies": 3.0}}}
		case i%10 == 3:
			c.Kind, c.Address = "http", fmt.Sprintf("http.health[%q]", host)
			c.Result = map[string]any{"url": "http://" + host + "/healthz", "status": 200.0, "body": "ok"}
		case i%10 == 4:
			c.Kind, c.Address = "dns", fmt.Sprintf("dns.name[%q]", host)
			c.Result = map[string]any{"name": fmt.Sprintf("h%d.lab.test.", i), "type": "A", "rcode": "NOERROR", "answers": []any{host}}
			run = append(run, c)
			dep := &pageCheck{Kind: "http", Address: fmt.Sprintf("http.by_name[%q]", host), Status: "pass", File: c.File, Line: 90, Attempts: 1,
				DependsOn: []string{c.Address}, DurationMS: 3, Result: map[string]any{"url": "http://" + host + ":8080/", "status": 200.0}}
			i++
			if i%200 == 5 {
				c.Status, c.Diffs = "fail", []checks.Diff{{Field: "answers", Expected: `["198.18.9.9"]`, Actual: `["` + host + `"]`}}
				dep.Status, dep.Message, dep.Result, dep.DurationMS = "skip", "dependency "+c.Address+" did not pass (fail)", nil, 0
			}
			c = dep
		default:
			c.Address = fmt.Sprintf("tcp.port[%q]", fmt.Sprintf("%s:%d", host, 80+i%3))
			c.Result = map[string]any{"host": host, "port": float64(80 + i%3), "open": true, "state": "open"}
			if i%37 == 0 {
				c.Status, c.DurationMS = "fail", 1000
				c.Result["open"], c.Result["state"] = false, "filtered"
				c.Diffs = []checks.Diff{{Field: "open", Expected: "true", Actual: "false (filtered: no answer within the timeout)"}}
			}
		}
		run = append(run, c)
	}
	for _, c := range run {
		switch c.Status {
		case "pass":
			s.Passed++
		case "fail":
			s.Failed++
		case "error":
			s.Errored++
		case "skip":
			s.Skipped++
		}
	}
	s.DurationMS, s.Start, s.Host = 4200, time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC), "ci-runner-7"
	return s, run
}

// records are the JSON-lines records of a run, as merge reads them.
func records(s pageSummary, checks []*pageCheck) (Summary, []Result) {
	sum := Summary{Type: TypeSummary, Passed: s.Passed, Failed: s.Failed, Errored: s.Errored, Skipped: s.Skipped,
		Total: len(checks), DurationMS: s.DurationMS, Started: s.Start, Host: s.Host}
	results := make([]Result, len(checks))
	for i, c := range checks {
		r := Result{Type: TypeResult, Address: c.Address, Kind: c.Kind, Status: c.Status, DurationMS: c.DurationMS,
			Message: c.Message, File: c.File, Line: c.Line, Tags: c.Tags, Vantage: c.Vantage, DependsOn: c.DependsOn, Attempts: c.Attempts}
		for _, d := range c.Diffs {
			r.Diffs = append(r.Diffs, Diff{Field: d.Field, ExpectedText: d.Expected, ActualText: d.Actual})
		}
		if c.Result != nil {
			r.Observed, _ = json.Marshal(c.Result)
		}
		results[i] = r
	}
	return sum, results
}

// BenchmarkHTML10000 renders the page of a 10,000-check run and reports
// its size. NETTEST_HTML_BENCH_OUT=FILE keeps the page, for bench/html.sh
// to time Chromium opening it.
func BenchmarkHTML10000(b *testing.B) {
	s, checks := largeRun(10000)
	sum, results := records(s, checks)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteHTML(&buf, sum, results); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/(1<<20), "MiB/page")
	if out := os.Getenv("NETTEST_HTML_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHTMLFiltersInChromium opens the sample page in headless Chromium with
// a script that picks a vantage in the filters and types in the search box,
// as a person would, and checks what stays shown.
func TestHTMLFiltersInChromium(t *testing.T) {
	browser.Require(t)
	page := renderSample(t)
	act := `<script>addEventListener("load", function () {
  document.getElementById("f-vantage").value = "office";
  document.getElementById("f-q").value = "DB_";
  document.getElementById("filters").dispatchEvent(new Event("input"));
});</script></body>`
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, []byte(strings.Replace(page, "</body>", act, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded := browser.Open(t, file, browser.Options{})
	browser.AssertNoRequests(t, loaded)
	doc, err := html.Parse(strings.NewReader(loaded.DOM))
	if err != nil {
		t.Fatal(err)
	}
	var shown, hidden []string
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		if n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody" && n.Parent.Parent != nil && hasClass(n.Parent.Parent, "checks") {
			addr := nodeText(n.FirstChild.NextSibling)
			if hasClass(n, "off") {
				hidden = append(hidden, addr)
			} else {
				shown = append(shown, addr)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(doc)
	if got := strings.Join(shown, " "); got != `tcp.db_from["office"]` {
		t.Errorf("shown after filtering: %s (hidden %d)", got, len(hidden))
	}
	if len(shown)+len(hidden) != len(sampleChecks(t)) {
		t.Errorf("%d rows, want %d", len(shown)+len(hidden), len(sampleChecks(t)))
	}
	if !strings.Contains(loaded.DOM, `<span id="f-count">1 of 15 checks</span>`) {
		t.Error("the filters do not count what they show")
	}

	// Without JavaScript: no filters (they would do nothing), and the
	// summary, the failures and every check are there.
	// (A policy added to the page forbids its script: --dump-dom itself
	// needs JavaScript, so the browser's switch would empty the dump.)
	noScript := filepath.Join(t.TempDir(), "noscript.html")
	policy := `<head>` + "\n" + `<meta http-equiv="Content-Security-Policy" content="script-src 'none'">`
	if err := os.WriteFile(noScript, []byte(strings.Replace(page, "<head>", policy, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := browser.Open(t, noScript, browser.Options{})
	browser.AssertNoRequests(t, plain)
	for _, want := range []string{`<form id="filters" hidden="">`, `<b>5</b>failed`, `<article class="f error" data-a="tcp.nope">`, `<span id="f-count"></span>`} {
		if !strings.Contains(plain.DOM, want) {
			t.Errorf("without JavaScript, the page lacks %s", want)
		}
	}
	if strings.Contains(plain.DOM, `class="off"`) {
		t.Error("without JavaScript, something is hidden")
	}
}

func hasClass(n *html.Node, class string) bool {
	for _, a := range n.Attr {
		if a.Key == "class" && strings.Contains(" "+a.Val+" ", " "+class+" ") {
			return true
		}
	}
	return false
}

func nodeText(n *html.Node) string {
	if n == nil {
		return ""
	}
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(nodeText(c))
	}
	return b.String()
}

// TestHTMLReporter is the --html path: outcomes become records, the page
// is written at End, also after an interruption, and a path that cannot
// be written is refused before the run.
func TestHTMLReporter(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewHTML(filepath.Join(dir, "missing", "r.html")); err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Errorf("a path in a missing directory: %v", err)
	}
	if _, err := NewHTML(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
	path := filepath.Join(dir, "r.html")
	rep, err := NewHTML(path)
	if err != nil {
		t.Fatal(err)
	}
	rep.Begin(3)
	rep.Finished(runner.Outcome{Address: "dns.api", Kind: "dns", Status: runner.Fail, AttemptsMade: 1,
		Diffs: []checks.Diff{{Field: "rcode", Expected: `"NOERROR"`, Actual: `"NXDOMAIN"`}}})
	rep.Finished(runner.Outcome{Address: "http.api", Kind: "http", Status: runner.Skip, DependsOn: []string{"dns.api"},
		Message: "dependency dns.api did not pass (fail)"})
	if r := NewResult(runner.Outcome{Address: "http.api", DependsOn: []string{"dns.api"}}); strings.Join(r.DependsOn, " ") != "dns.api" {
		t.Errorf("the record's depends_on: %q", r.DependsOn)
	}
	if err := rep.End(runner.Summary{Failed: 1, Skipped: 2, Interrupted: true}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The run was interrupted", `<g class="n skip" data-a="http.api">`, `<td class="act">&#34;NXDOMAIN&#34;</td>`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %s", want)
		}
	}

	// A capture is linked relative to the page.
	os.Mkdir(filepath.Join(dir, "pages"), 0o755)
	path = filepath.Join(dir, "pages", "r.html")
	capture := filepath.Join(dir, "captures", "dns.api.pcapng")
	if err := WriteHTMLFile(path, Summary{Failed: 1}, []Result{{Address: "dns.api", Kind: "dns", Status: "fail", Capture: capture}}); err != nil {
		t.Fatal(err)
	}
	if page, _ := os.ReadFile(path); !strings.Contains(string(page), `<a href="../captures/dns.api.pcapng">packet capture</a>`) {
		t.Errorf("no link to the capture relative to the page:\n%s", page)
	}
}

// TestPathSummaryCountsHops: the line above a drawn path reads as English
// for one hop as for several ("reached in 1 hop", not "1 hops").
func TestPathSummaryCountsHops(t *testing.T) {
	one := &pageCheck{Address: "traceroute.lo", Kind: "traceroute", Status: "pass",
		Result: map[string]any{"host": "127.0.0.1", "address": "127.0.0.1", "reached": true,
			"hops": []any{map[string]any{"ttl": 1.0, "address": "127.0.0.1", "rtt_ms": 0.2, "replies": 3.0}}}}
	hops, ok := hopsOf(one.Result)
	if !ok {
		t.Fatal("the result's hops are not read")
	}
	if got := drawPath(one, hops).Summary; !strings.HasSuffix(got, ": reached in 1 hop") {
		t.Errorf("summary %q, want it to end in %q", got, ": reached in 1 hop")
	}
	if got := drawPath(one, append(hops, hops[0])).Summary; !strings.HasSuffix(got, ": reached in 2 hops") {
		t.Errorf("summary %q, want it to end in %q", got, ": reached in 2 hops")
	}
}
