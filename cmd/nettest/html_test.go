package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestMergeHTMLIsTheRunsPage: `merge --html` of a run's JSON-lines report
// gives the page --html gave that run, and the merge of its three shards
// shows the same checks with the same verdicts and observed states.
func TestMergeHTMLIsTheRunsPage(t *testing.T) {
	dir := t.TempDir()
	vars := shardVars(t)
	runPage, whole := filepath.Join(dir, "run.html"), filepath.Join(dir, "whole.jsonl")
	if r := nettest(t, append([]string{"test", "testdata/ci", "--json-file=" + whole, "--html=" + runPage}, vars...)...); r.code != 1 {
		t.Fatalf("run: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	onePage := filepath.Join(dir, "merged-one.html")
	if m := nettest(t, "merge", "--html="+onePage, whole); m.code != 1 {
		t.Fatalf("merge: exit %d, want 1\n%s%s", m.code, m.stdout, m.stderr)
	}
	// The run's start is noted by each report as it begins, a few
	// microseconds apart: the line saying when is left out.
	meta := regexp.MustCompile(`(?m)^<p class="meta">.*$`)
	run, one := meta.ReplaceAllString(readFile(t, runPage), ""), meta.ReplaceAllString(readFile(t, onePage), "")
	if run != one {
		t.Errorf("merge --html of the run's report differs from the run's page:\n%s", firstDifference(run, one))
	}

	var shards []string
	for k := 1; k <= 3; k++ {
		file := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", k))
		shards = append(shards, file)
		if r := nettest(t, append([]string{"test", "testdata/ci", fmt.Sprintf("--shard=%d/3", k), "--json-file=" + file}, vars...)...); r.code > 1 {
			t.Fatalf("shard %d: exit %d\n%s%s", k, r.code, r.stdout, r.stderr)
		}
	}
	shardsPage := filepath.Join(dir, "merged-shards.html")
	if m := nettest(t, append([]string{"merge", "--html=" + shardsPage}, shards...)...); m.code != 1 {
		t.Fatalf("merge of the shards: exit %d, want 1\n%s%s", m.code, m.stdout, m.stderr)
	}
	want, got := matrixCells(readFile(t, runPage)), matrixCells(readFile(t, shardsPage))
	if len(want) < 20 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("matrix of the merged shards:\n%s\nof the run:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(readFile(t, shardsPage), "<tr><td><span class=\"st "); n != 31 {
		t.Errorf("the merged page lists %d checks, want 31", n)
	}

	if m := nettest(t, "merge", "--html="+filepath.Join(dir, "missing", "x.html"), whole); m.code != 2 || !strings.Contains(m.stderr, "--html: cannot write") {
		t.Errorf("merge --html into a missing directory: exit %d, %s", m.code, m.stderr)
	}
	if r := nettest(t, append([]string{"test", "testdata/ci", "--html=" + dir}, vars...)...); r.code != 2 || !strings.Contains(r.stderr, "is a directory") {
		t.Errorf("test --html=DIRECTORY: exit %d, %s", r.code, r.stderr)
	}
	// A suite that does not load still gets its page, saying why.
	broken := filepath.Join(dir, "broken.html")
	if r := nettest(t, "test", "testdata/invalid.nettest.hcl", "--html="+broken); r.code != 2 {
		t.Errorf("an invalid suite: exit %d, want 2", r.code)
	}
	if page := readFile(t, broken); !strings.Contains(page, "testdata/invalid.nettest.hcl:3") || !strings.Contains(page, `Invalid value for argument &#34;port&#34;`) {
		t.Errorf("the page of an invalid suite does not say why:\n%.2000s", page)
	}
}

// matrixCells lists the reachability matrix's entries, check by check:
// address, verdict and observed state.
func matrixCells(page string) []string {
	re := regexp.MustCompile(`<span class="v (\w+)" data-a="([^"]*)" title="[^"]*">([^<]*)</span>`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		out = append(out, m[2]+" "+m[1]+" "+m[3])
	}
	sort.Strings(out)
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  %.300s\n  %.300s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(la), len(lb))
}
