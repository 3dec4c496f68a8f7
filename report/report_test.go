package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// hostile is what a broken or malicious server may send: NUL, a terminal
// escape, invalid UTF-8, a lone surrogate, a C1 control, U+FFFE, CDATA's
// end and markup.
const hostile = "hello\x00 \x1b[31mRED\x1b[0m \xff\xfe bad \xed\xa0\x80 \u0085 \ufffe ]]> <script>alert(\"x\")</script> & done"

// megabyte is one diff value of a megabyte, every report must cut it.
var megabyte = strings.Repeat("<b>x</b>&", 1<<20/9+1)

// outcomes is a run of two files, in the order the checks finished (not the
// order of the source), with every status and the texts that go wrong.
func outcomes() []runner.Outcome {
	return []runner.Outcome{
		{
			Address: `tcp.web["80"]`, Kind: "tcp", File: "web.nettest.hcl", Line: 10, Vantage: "blue",
			Status: runner.Pass, Duration: 3 * time.Millisecond, AttemptsMade: 1, AttemptsAllowed: 1,
			Result: checks.ResultOf(cty.ObjectVal(map[string]cty.Value{
				"open": cty.True, "state": cty.StringVal("open"), "port": cty.NumberIntVal(80),
				"duration_ms": cty.NumberIntVal(3),
			})),
		},
		{
			Address: "dns.api", Kind: "dns", File: "dns.nettest.hcl", Line: 3,
			Status:   runner.Error,
			Message:  `cannot resolve host "api.internal.example": no such host; check the name, /etc/hosts and /etc/resolv.conf, or use an IP address`,
			Duration: 12 * time.Millisecond, AttemptsMade: 1, AttemptsAllowed: 1,
		},
		{
			Address: "http.health", Kind: "http", File: "web.nettest.hcl", Line: 20,
			Description: "The web tier answers its health check.",
			Vantage:     "bastion",
			Status:      runner.Fail,
			Message:     "API answered too slowly",
			Diffs: []checks.Diff{
				{Field: "status", Expected: "200", Actual: "503"},
				{Field: "body_contains", Expected: `contains "ok"`, Actual: `"<html>maintenance</html>"`},
			},
			DiffValues: []schema.DiffValues{
				{Expected: cty.NumberIntVal(200), Observed: cty.NumberIntVal(503)},
				{Expected: cty.StringVal("ok"), Observed: cty.StringVal("<html>maintenance</html>")},
			},
			Tags:     []string{"web", "health"},
			Duration: 1234 * time.Millisecond, AttemptsMade: 1, AttemptsAllowed: 1,
			Capture: "/tmp/pcaps/http.health.pcapng",
			Result: checks.ResultOf(cty.ObjectVal(map[string]cty.Value{
				"status": cty.NumberIntVal(503), "secret": cty.StringVal("hunter2").Mark("sensitive"),
			})),
		},
		{
			Address: "http.api_by_dns", Kind: "http", File: "dns.nettest.hcl", Line: 15,
			Status: runner.Skip, Message: "depends on dns.api, which errored",
		},
		{
			Address: `tcp.web["443"]`, Kind: "tcp", File: "web.nettest.hcl", Line: 10,
			Status: runner.Pass, Message: "passed on attempt 3 of 4",
			Duration: 2100 * time.Millisecond, AttemptsMade: 3, AttemptsAllowed: 4,
		},
		{
			Address: "tcp.banner", Kind: "tcp", File: "web.nettest.hcl", Line: 30,
			Status:  runner.Fail,
			Message: "banner: " + hostile + "\r\nsecond line",
			Diffs: []checks.Diff{
				{Field: "banner", Expected: `"SSH-2.0"`, Actual: hostile},
				{Field: "body", Expected: `contains "ok"`, Actual: megabyte},
			},
			Duration: 45 * time.Millisecond, AttemptsMade: 1, AttemptsAllowed: 1,
		},
		{
			Address: `http.status["a\"b"]`, Kind: "http", File: "web.nettest.hcl", Line: 40,
			Status: runner.Pass, Duration: 400 * time.Microsecond, AttemptsMade: 1, AttemptsAllowed: 1,
		},
	}
}

var summary = runner.Summary{Passed: 3, Failed: 2, Errored: 1, Skipped: 1, Duration: 2345 * time.Millisecond}

// interrupted is a run of five checks stopped after two: the runner reports
// the one in flight as errored and the two it never started as skipped.
var interrupted = runner.Summary{Passed: 1, Failed: 0, Errored: 2, Skipped: 2, Duration: 800 * time.Millisecond, Interrupted: true}

func interruptedOutcomes() []runner.Outcome {
	return append(outcomes()[:2],
		runner.Outcome{Address: "http.health", Kind: "http", File: "web.nettest.hcl", Line: 20, Status: runner.Error,
			Message: "interrupted before the check finished", Duration: 700 * time.Millisecond, AttemptsMade: 1, AttemptsAllowed: 1, Interrupted: true},
		runner.Outcome{Address: "http.api_by_dns", Kind: "http", File: "dns.nettest.hcl", Line: 15, Status: runner.Skip,
			Message: "not run: the run was interrupted", Interrupted: true},
		runner.Outcome{Address: "tcp.banner", Kind: "tcp", File: "web.nettest.hcl", Line: 30, Status: runner.Skip,
			Message: "not run: the run was interrupted", Interrupted: true},
	)
}

func play(t *testing.T, r runner.Reporter, total int, outs []runner.Outcome, s runner.Summary) {
	t.Helper()
	r.Begin(total)
	for _, o := range outs {
		r.Finished(o)
	}
	if err := r.End(s); err != nil {
		t.Fatalf("End: %v", err)
	}
}

// golden compares got with testdata/NAME, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs at line %d (run go test ./report -update if the change is meant):\n got: %.300q\nwant: %.300q", path, i+1, g, w)
		}
	}
}

func TestConsole(t *testing.T) {
	tests := []struct {
		golden string
		opt    ConsoleOptions
		total  int
		outs   []runner.Outcome
		s      runner.Summary
		last   string
	}{
		{"console.golden", ConsoleOptions{}, 7, outcomes(), summary, "3 passed, 2 failed, 1 errored, 1 skipped in 2.35s"},
		{"console-color.golden", ConsoleOptions{Color: true}, 7, outcomes(), summary, "3 passed, 2 failed, 1 errored, 1 skipped in 2.35s"},
		{"console-progress.golden", ConsoleOptions{Progress: true}, 7, outcomes()[:3], summary, "3 passed, 2 failed, 1 errored, 1 skipped in 2.35s"},
		{"console-verbose.golden", ConsoleOptions{Verbose: true}, 7, outcomes()[:3], summary, "3 passed, 2 failed, 1 errored, 1 skipped in 2.35s"},
		{"console-interrupted.golden", ConsoleOptions{}, 5, interruptedOutcomes(), interrupted, "1 passed, 0 failed, 2 errored, 2 skipped in 800ms"},
		{"console-allpass.golden", ConsoleOptions{}, 1, outcomes()[:1], runner.Summary{Passed: 1, Duration: 3 * time.Millisecond}, "1 passed, 0 failed, 0 errored, 0 skipped in 3ms"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			play(t, NewConsole(&b, tt.opt), tt.total, tt.outs, tt.s)
			out := b.String()
			golden(t, tt.golden, b.Bytes())

			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if last := lines[len(lines)-1]; last != tt.last {
				t.Errorf("last line %q, want %q", last, tt.last)
			}
			if !tt.opt.Color && strings.Contains(strings.ReplaceAll(out, "\r\x1b[K", ""), "\x1b") {
				t.Errorf("escape sequence in a report without colour")
			}
			if tt.opt.Color && !strings.Contains(out, "\x1b[31m+ actual") {
				t.Errorf("no red actual value in a report with colour")
			}
			if strings.Contains(out, "\r") != tt.opt.Progress {
				t.Errorf("carriage return in output: %v, want %v", !tt.opt.Progress, tt.opt.Progress)
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("sensitive value in the report")
			}
			if tt.s.Interrupted {
				if !strings.Contains(out, "Interrupted: 3 checks did not finish\n") {
					t.Errorf("no interruption notice")
				}
				if strings.Contains(out, "not run") {
					t.Errorf("a line for a check that never ran")
				}
			}
			if len(out) > 64<<10 {
				t.Errorf("report of %d bytes: the megabyte was not cut", len(out))
			}
		})
	}
}

// TestConsoleLines checks what one check's line says, status by status.
func TestConsoleLines(t *testing.T) {
	tests := []struct {
		o    runner.Outcome
		want string
	}{
		{runner.Outcome{Address: `tcp.web["80"]`, Status: runner.Pass, Duration: 3 * time.Millisecond},
			`  PASS   tcp.web["80"]  (3ms)`},
		{runner.Outcome{Address: "tcp.flaky", Status: runner.Pass, Duration: 2100 * time.Millisecond, Message: "passed on attempt 3 of 4"},
			"  PASS   tcp.flaky  (2.10s)  passed on attempt 3 of 4"},
		{runner.Outcome{Address: "http.a", Status: runner.Skip, Message: "depends on dns.api, which errored"},
			"  SKIP   http.a  (0s)  depends on dns.api, which errored"},
		{runner.Outcome{Address: "dns.a", Status: runner.Error, Duration: time.Second, Message: "no such host\nmore detail"},
			"  ERROR  dns.a  (1.00s)  no such host …"},
		{runner.Outcome{Address: "tcp.closed", Status: runner.Fail, Duration: 2 * time.Millisecond, Diffs: []checks.Diff{
			{Field: "open", Expected: "true", Actual: "false"}, {Field: "state", Expected: `"open"`, Actual: `"closed"`}}},
			`  FAIL   tcp.closed  (2ms)  open: expected true, got false (and 1 more)`},
		{runner.Outcome{Address: "tcp.x", Status: runner.Fail, Duration: 90 * time.Second, Message: "\x1b]0;owned\x07text"},
			"  FAIL   tcp.x  (1m30s)  ]0;ownedtext"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		c := NewConsole(&b, ConsoleOptions{})
		c.Begin(1)
		c.Finished(tt.o)
		c.(runner.Flusher).Flush() // as the runner does when no event is queued
		if got := strings.TrimSuffix(b.String(), "\n"); got != tt.want {
			t.Errorf("line\n got %q\nwant %q", got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	play(t, newTestJSON(&b), 7, outcomes(), summary)
	golden(t, "json.golden", b.Bytes())

	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d lines, want 7 results and a summary", len(lines))
	}
	for i, l := range lines[:7] {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		for _, k := range []string{"type", "address", "kind", "status", "duration_ms", "message", "diffs", "file", "line", "attempts"} {
			if _, ok := r[k]; !ok {
				t.Errorf("line %d has no %q: %s", i+1, k, l)
			}
		}
		if _, ok := r["diffs"].([]any); !ok {
			t.Errorf("line %d: diffs is %v, want a list", i+1, r["diffs"])
		}
		if len(l) > 80<<10 {
			t.Errorf("line %d has %d bytes: the megabyte was not cut", i+1, len(l))
		}
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(lines[7]), &s); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "summary", "passed": 3.0, "failed": 2.0, "errored": 1.0, "skipped": 1.0, "duration_ms": 2345.0, "interrupted": false}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("summary %s = %v, want %v", k, s[k], v)
		}
	}
	var first map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	if first["duration_ms"] != 3.0 || first["address"] != `tcp.web["80"]` || first["attempts"] != 1.0 {
		t.Errorf("first line: %s", lines[0])
	}
}

// TestJSONWriteError returns the writer's error from End.
func TestJSONWriteError(t *testing.T) {
	r := NewJSON(failingWriter{})
	r.Begin(1)
	r.Finished(outcomes()[0])
	if err := r.End(summary); err == nil {
		t.Fatal("End returned no error for a writer that fails")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// testStart and testHost are the clock and host name of the reports in
// the golden files.
var (
	testStart = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	testHost  = "ci-runner"
)

// newTestJSON is a JSON-lines report with a fixed clock and host name.
func newTestJSON(w io.Writer) runner.Reporter {
	j := NewJSON(w).(*jsonLines)
	j.now = func() time.Time { return testStart }
	j.hostname = testHost
	return j
}

// newTestJUnit is a JUnit report with a fixed clock and host name.
func newTestJUnit(path string) runner.Reporter {
	j := NewJUnit(path).(*junit)
	j.now = func() time.Time { return testStart }
	j.hostname = testHost
	return j
}

// junitXML is what a JUnit reader takes from the file.
type junitXML struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name    string `xml:"name,attr"`
		Tests   int    `xml:"tests,attr"`
		Skipped int    `xml:"skipped,attr"`
		Cases   []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
			Out     string    `xml:"system-out"`
		} `xml:"testcase"`
		Err string `xml:"system-err"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	tests := []struct {
		golden string
		total  int
		outs   []runner.Outcome
		s      runner.Summary
		notice string
	}{
		{"junit.golden", 7, outcomes(), summary, ""},
		{"junit-interrupted.golden", 6, interruptedOutcomes(), interrupted, "Interrupted: 4 checks did not finish"},
		{"junit-nothing.golden", 5, nil, interrupted, "Interrupted: 5 checks did not finish"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "report.xml")
			play(t, newTestJUnit(path), tt.total, tt.outs, tt.s)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, data)

			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("%d files in the directory, want only report.xml (a temporary file left behind?)", len(entries))
			}
			var doc junitXML
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("the file does not parse: %v", err)
			}
			var n int
			for _, s := range doc.Suites {
				n += len(s.Cases)
				if s.Err != tt.notice {
					t.Errorf("suite %s system-err %q, want %q", s.Name, s.Err, tt.notice)
				}
			}
			if n != len(tt.outs) || doc.Tests != len(tt.outs) {
				t.Errorf("%d test cases, tests=%d; want %d", n, doc.Tests, len(tt.outs))
			}
			if strings.Contains(string(data), "hunter2") {
				t.Errorf("sensitive value in the report")
			}
			if len(data) > 200<<10 {
				t.Errorf("file of %d bytes: the megabyte was not cut", len(data))
			}
			// schema_test.go validates the golden file against the schema.
		})
	}
}

// TestJUnitContent checks what a JUnit reader shows for the full run.
func TestJUnitContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	play(t, newTestJUnit(path), 7, outcomes(), summary)
	data, _ := os.ReadFile(path)
	var doc junitXML
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 7 || doc.Failures != 2 || doc.Errors != 1 {
		t.Errorf("testsuites counts %d/%d/%d, want 7/2/1", doc.Tests, doc.Failures, doc.Errors)
	}
	if len(doc.Suites) != 2 || doc.Suites[0].Name != "dns.nettest.hcl" || doc.Suites[1].Name != "web.nettest.hcl" {
		t.Fatalf("suites %+v, want dns.nettest.hcl and web.nettest.hcl", doc.Suites)
	}
	if s := doc.Suites[0]; s.Tests != 2 || s.Skipped != 1 || s.Cases[0].Error == nil || s.Cases[1].Skipped == nil {
		t.Errorf("dns suite: %+v", s)
	}
	web := doc.Suites[1]
	var names []string
	for _, c := range web.Cases {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, " "); got != `tcp.web["443"] tcp.web["80"] http.health tcp.banner http.status["a\"b"]` {
		t.Errorf("web cases in order %s", got)
	}
	health := web.Cases[2]
	if health.Classname != "http" || health.Failure == nil || health.Failure.Message != "API answered too slowly" {
		t.Fatalf("http.health: %+v", health)
	}
	for _, want := range []string{"web.nettest.hcl:20", "The web tier answers its health check.", "status         - expected 200", "+ actual   503"} {
		if !strings.Contains(health.Failure.Body, want) {
			t.Errorf("failure body lacks %q:\n%s", want, health.Failure.Body)
		}
	}
	if web.Cases[0].Out != "passed on attempt 3 of 4" {
		t.Errorf("retry pass system-out %q", web.Cases[0].Out)
	}
	banner := web.Cases[3].Failure.Body
	for _, bad := range []string{"\x00", "\x1b", "\u0085", "\ufffe", "\r"} {
		if strings.Contains(banner, bad) {
			t.Errorf("banner body holds %q", bad)
		}
	}
	if !utf8.ValidString(banner) || !strings.Contains(banner, `]]> <script>alert("x")</script> & done`) || !strings.Contains(banner, cutMarker) {
		t.Errorf("banner body not escaped and cut as expected:\n%.600s", banner)
	}
}

// TestJUnitBigMessage cuts a message of a megabyte to the body limit.
func TestJUnitBigMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	o := runner.Outcome{Address: "http.big", Kind: "http", File: "a.nettest.hcl", Line: 1, Status: runner.Error, Message: megabyte}
	play(t, newTestJUnit(path), 1, []runner.Outcome{o}, runner.Summary{Errored: 1})
	data, _ := os.ReadFile(path)
	var doc struct {
		Body string `xml:"testsuite>testcase>error"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Body); n > bodyLimit+len(cutMarker) || n < bodyLimit-100 || !strings.HasSuffix(doc.Body, cutMarker) {
		t.Errorf("error body of %d bytes, want %d and the cut marker", n, bodyLimit)
	}
}

// TestJUnitUnwritable returns an error naming the file and leaves nothing.
func TestJUnitUnwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "report.xml")
	r := newTestJUnit(path)
	r.Begin(0)
	err := r.End(runner.Summary{})
	if err == nil || !strings.Contains(err.Error(), "no-such-dir") {
		t.Errorf("End: %v, want an error naming the directory", err)
	}
}

// TestJUnitReplaces overwrites an existing file whole.
func TestJUnitReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(path, bytes.Repeat([]byte("old "), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	play(t, newTestJUnit(path), 1, outcomes()[:1], runner.Summary{Passed: 1})
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte("old")) || !bytes.HasSuffix(data, []byte("</testsuites>\n")) {
		t.Errorf("file not replaced whole:\n%.300s", data)
	}
}

func TestMulti(t *testing.T) {
	var a, b bytes.Buffer
	bad := NewJSON(failingWriter{})
	m := Multi(NewJSON(&a), nil, bad, NewJSON(&b))
	m.Begin(1)
	m.Finished(outcomes()[0])
	err := m.End(summary)
	if err == nil || err.Error() != "broken pipe" {
		t.Errorf("End: %v, want the failing reporter's error", err)
	}
	if a.String() != b.String() || strings.Count(b.String(), "\n") != 2 {
		t.Errorf("reporters did not all get every event:\n%s\n%s", a.String(), b.String())
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tand\nnewline", "tab\tand\nnewline"},
		{"nul\x00byte", "nulbyte"},
		{"\x1b[31mred\x1b[0m", "[31mred[0m"},
		{"crlf\r\n", "crlf\n"},
		{"bad \xff\xfe utf8", "bad \ufffd utf8"},
		{"surrogate \xed\xa0\x80!", "surrogate \ufffd!"},
		{"c1 \u0085 \u009b del \x7f", "c1   del "},
		{"non-char \ufffe\uffff", "non-char "},
		{"ünïcödé ✓ 🙂", "ünïcödé ✓ 🙂"},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer text", 8, "a longer" + cutMarker},
		{"ééééé", 3, "é" + cutMarker}, // never half a character
	}
	for _, tt := range tests {
		if got := cut(tt.in, tt.limit); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestHuman(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{400 * time.Microsecond, "<1ms"},
		{3 * time.Millisecond, "3ms"},
		{45400 * time.Microsecond, "45ms"},
		{999 * time.Millisecond, "999ms"},
		{999600 * time.Microsecond, "1.00s"},
		{1234 * time.Millisecond, "1.23s"},
		{59994 * time.Millisecond, "59.99s"},
		{59996 * time.Millisecond, "1m00s"},
		{125 * time.Second, "2m05s"},
		{3723 * time.Second, "1h02m03s"},
	}
	for _, tt := range tests {
		if got := human(tt.d); got != tt.want {
			t.Errorf("human(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestJSONRoundTrip reads the JSON report back: every record decodes into
// the exported types, and turned back into outcomes renders the same
// JUnit file as the run itself, so a merged report equals an unsharded one.
func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	play(t, newTestJSON(&b), 7, outcomes(), summary)
	rep, err := DecodeJSONL(&b, "shard.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 7 || rep.Summary == nil {
		t.Fatalf("%d results, summary %v; want 7 and a summary", len(rep.Results), rep.Summary)
	}
	s := rep.Summary
	if s.Passed != 3 || s.Failed != 2 || s.Total != 7 || !s.Started.Equal(testStart) || s.Host != testHost {
		t.Errorf("summary = %+v", *s)
	}
	health := rep.Results[2]
	if string(health.Diffs[0].Expected) != "200" || string(health.Diffs[0].Actual) != "503" ||
		health.Diffs[0].ExpectedText != "200" || strings.Join(health.Tags, ",") != "web,health" {
		t.Errorf("http.health = %+v", health)
	}
	if !strings.Contains(string(health.Observed), `"secret":"(sensitive value)"`) || strings.Contains(string(health.Observed), "hunter2") {
		t.Errorf("observed = %s, want the secret redacted", health.Observed)
	}
	if rep.Results[3].SkipReason != "depends on dns.api, which errored" {
		t.Errorf("skip reason = %q", rep.Results[3].SkipReason)
	}

	dir := t.TempDir()
	direct, replayed := filepath.Join(dir, "direct.xml"), filepath.Join(dir, "replayed.xml")
	play(t, newTestJUnit(direct), 7, outcomes(), summary)
	var back []runner.Outcome
	for _, r := range rep.Results {
		back = append(back, r.Outcome())
	}
	play(t, newTestJUnit(replayed), 7, back, summary)
	a, _ := os.ReadFile(direct)
	z, _ := os.ReadFile(replayed)
	if !bytes.Equal(a, z) {
		al, zl := strings.Split(string(a), "\n"), strings.Split(string(z), "\n")
		for k := range min(len(al), len(zl)) {
			if al[k] != zl[k] {
				t.Fatalf("the JUnit file of the read-back records differs from the run's at line %d:\n%.300q\nwant:\n%.300q", k+1, zl[k], al[k])
			}
		}
		t.Errorf("the JUnit file of the read-back records has %d lines, the run's %d", len(zl), len(al))
	}
}

// TestDecodeJSONLErrors names the file and line of what cannot be read.
func TestDecodeJSONLErrors(t *testing.T) {
	for _, tt := range []struct{ name, input, want string }{
		{"not JSON", `{"type":"result","address":"tcp.a","kind":"tcp","status":"pass","diffs":[]}` + "\n\n<html>\n", "r.jsonl:3: not a JSON object of a nettest report"},
		{"no type", `{"address":"tcp.a"}`, `r.jsonl:1: a line without a "type"`},
		{"no address", `{"type":"result","status":"pass"}`, "r.jsonl:1: a result line without an address"},
		{"bad field", `{"type":"result","address":"tcp.a","line":"ten"}`, "r.jsonl:1: a result line that does not decode"},
		{"two summaries", `{"type":"summary"}` + "\n" + `{"type":"summary"}`, "r.jsonl:2: a second summary line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeJSONL(strings.NewReader(tt.input), "r.jsonl")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want one starting %q", err, tt.want)
			}
		})
	}
	// A line of a type this version does not know is left for newer readers.
	rep, err := DecodeJSONL(strings.NewReader(`{"type":"progress","done":3}`+"\n"+`{"type":"result","address":"tcp.a"}`), "r.jsonl")
	if err != nil || len(rep.Results) != 1 || rep.Summary != nil {
		t.Errorf("report = %+v, %v; want one result and no summary", rep, err)
	}
}

// TestJUnitAttachment: the capture of a failed check is a line of its own in
// <system-out>, [[ATTACHMENT|/absolute/path]], as Jenkins' and GitLab's JUnit
// readers expect; a relative --capture directory is made absolute.
func TestJUnitAttachment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.xml")
	o := outcomes()[2]
	o.Capture = filepath.Join("pcaps", "http.health.pcapng")
	play(t, newTestJUnit(path), 1, []runner.Outcome{o}, runner.Summary{Failed: 1})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitXML
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(o.Capture)
	out := doc.Suites[0].Cases[0].Out
	if !slices.Contains(strings.Split(out, "\n"), "[[ATTACHMENT|"+abs+"]]") {
		t.Errorf("system-out %q has no line [[ATTACHMENT|%s]]", out, abs)
	}
}
