package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nettest/nettest/report"
)

// These end-to-end tests cover what nettest does for CI pipelines: the
// JSON-lines file beside the human report, shards and their merge, GitHub
// annotations and step summaries, reports of configuration errors,
// progress lines, tags and the Terraform hand-off.

// TestJSONFile writes the JSON-lines report to a file while the human
// report still goes to stdout.
func TestJSONFile(t *testing.T) {
	open, _ := ports(t)
	file := filepath.Join(t.TempDir(), "run.jsonl")
	r := nettest(t, "test", "testdata/ports.nettest.hcl", "--json-file="+file,
		"--var", "open_port="+strconv.Itoa(open), "--var", "closed_port="+strconv.Itoa(open))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (tcp.closed fails)\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "2 passed, 1 failed, 0 errored, 0 skipped in ") {
		t.Errorf("stdout is not the human report:\n%s", r.stdout)
	}
	rep, err := report.ReadJSONL(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || rep.Summary == nil || rep.Summary.Passed != 2 || rep.Summary.Failed != 1 || rep.Summary.Total != 3 {
		t.Fatalf("the file holds %d results and summary %+v", len(rep.Results), rep.Summary)
	}
	byAddr := map[string]report.Result{}
	for _, res := range rep.Results {
		byAddr[res.Address] = res
	}
	c := byAddr["tcp.closed"]
	if c.Status != "fail" || c.File != "testdata/ports.nettest.hcl" || c.Line != 19 || len(c.Diffs) != 1 ||
		string(c.Diffs[0].Expected) != `"closed"` || string(c.Diffs[0].Actual) != `"open"` ||
		!strings.Contains(string(c.Observed), `"state":"open"`) {
		t.Errorf("tcp.closed = %+v (observed %s)", c, c.Observed)
	}
	if rep.Summary.Host == "" || rep.Summary.Started.IsZero() {
		t.Errorf("summary without host or start: %+v", *rep.Summary)
	}
}
