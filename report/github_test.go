package report

import (
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
)

// TestAnnotationEscaping escapes what the runner's command parser would
// take for the end of a property or of the command: %, CR and LF in the
// message, and : and , in properties too.
func TestAnnotationEscaping(t *testing.T) {
	o := runner.Outcome{Address: `http.api["a,b:c"]`, Kind: "http", File: "/ws/net/a,b.nettest.hcl", Line: 7,
		Status: runner.Error, Message: "100% down\r\nsecond: line", Vantage: "bastion"}
	got := annotation(o, "/ws")
	want := "::error file=net/a%2Cb.nettest.hcl,line=7,title=http.api[\"a%2Cb%3Ac\"] from bastion::100%25 down%0Asecond: line\n"
	if got != want {
		t.Errorf("annotation:\n%q\nwant\n%q", got, want)
	}
	// A file outside the workspace keeps its path.
	if got := relativeTo("/elsewhere/a.hcl", "/ws"); got != "/elsewhere/a.hcl" {
		t.Errorf("relativeTo = %q", got)
	}
}

// TestStepSummaryCap keeps the Markdown under GitHub's 1 MiB per step and
// says how many rows were left out.
func TestStepSummaryCap(t *testing.T) {
	var bad []runner.Outcome
	for range 5000 {
		bad = append(bad, runner.Outcome{Address: "tcp.x", Kind: "tcp", File: "a.nettest.hcl", Line: 1, Status: runner.Fail,
			Diffs: []checks.Diff{{Field: "body", Expected: `contains "ok"`, Actual: strings.Repeat("<|>", 2000)}}})
	}
	md := StepSummary(runner.Summary{Failed: 5000, Duration: time.Minute}, bad)
	if len(md) > 1<<20 || !strings.Contains(md, "more checks did not pass") {
		t.Errorf("summary of %d bytes, tail %q", len(md), md[len(md)-200:])
	}
	if strings.Contains(md, "<|>") {
		t.Errorf("markup and | not escaped in a cell")
	}
	if !strings.HasPrefix(md, "### ❌ nettest: 0 passed, 5000 failed, 0 errored, 0 skipped in 1m00s\n") {
		t.Errorf("heading: %.100q", md)
	}
}
