package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nettest/nettest/internal/lab"
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

// nettestEnv runs the binary in dir ("" for this one) with only the
// environment env (and PATH), as a CI job with exactly those variables.
func nettestEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runNettest(t, dir, append([]string{"PATH=" + os.Getenv("PATH"), "NO_COLOR=1"}, env...), args...)
}

// shardVars are the variables of testdata/ci/shards.nettest.hcl.
func shardVars(t *testing.T) []string {
	open, closed := ports(t)
	return []string{"--var", "open_port=" + strconv.Itoa(open), "--var", "closed_port=" + strconv.Itoa(closed)}
}

// junitCase is what a JUnit reader takes from one testcase, but its time.
type junitCase struct {
	Suite, Classname, Status, Message, Body string
}

// junitCases reads a JUnit file into its testcases by name.
func junitCases(t *testing.T, path string) map[string]junitCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type elem struct {
		Message string `xml:"message,attr"`
		Body    string `xml:",chardata"`
	}
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *elem  `xml:"failure"`
				Error     *elem  `xml:"error"`
				Skipped   *elem  `xml:"skipped"`
				Out       string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	cases := map[string]junitCase{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			jc := junitCase{Suite: s.Name, Classname: c.Classname, Status: "pass", Body: c.Out}
			for status, e := range map[string]*elem{"fail": c.Failure, "error": c.Error, "skip": c.Skipped} {
				if e != nil {
					jc.Status, jc.Message, jc.Body = status, e.Message, e.Body
				}
			}
			if _, dup := cases[c.Name]; dup {
				t.Errorf("%s: testcase %s twice", path, c.Name)
			}
			cases[c.Name] = jc
		}
	}
	return cases
}

// TestShardsMergeAsOneRun splits a suite three ways, runs each part as a
// CI job would, merges the three JSON-lines reports and compares the
// merged JUnit file with the one of an unsharded run, check for check.
func TestShardsMergeAsOneRun(t *testing.T) {
	dir := t.TempDir()
	vars := shardVars(t)
	whole := filepath.Join(dir, "whole.xml")
	r := nettest(t, append([]string{"test", "testdata/ci", "--junit=" + whole}, vars...)...)
	if r.code != 1 {
		t.Fatalf("unsharded run: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	var shards []string
	seen := map[string]int{}
	for k := 1; k <= 3; k++ {
		part := fmt.Sprintf("%d/3", k)
		file := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", k))
		shards = append(shards, file)
		r := nettest(t, append([]string{"test", "testdata/ci", "--shard=" + part, "--json-file=" + file}, vars...)...)
		if r.code != 0 && r.code != 1 {
			t.Fatalf("shard %s: exit %d\n%s%s", part, r.code, r.stdout, r.stderr)
		}
		rep, err := report.ReadJSONL(file)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Summary == nil || rep.Summary.Shard != part {
			t.Errorf("shard %s: summary %+v, want shard %q", part, rep.Summary, part)
		}
		for _, res := range rep.Results {
			seen[res.Address] = k
		}
		// plan --shard shows the same part.
		p := nettest(t, append([]string{"plan", "testdata/ci", "--shard=" + part}, vars...)...)
		if !strings.Contains(p.stdout, fmt.Sprintf("Shard %s: %d of the 31 checks of the suite.", part, len(rep.Results))) {
			t.Errorf("plan --shard=%s does not show the part's %d checks:\n%.300s", part, len(rep.Results), p.stdout)
		}
	}
	if len(seen) != 31 {
		t.Errorf("the shards ran %d checks, the suite has 31", len(seen))
	}
	if seen["tcp.chain_first"] != seen["tcp.chain_second"] || seen["tcp.chain_second"] != seen["tcp.chain_third"] {
		t.Errorf("dependent checks ran in different shards: %d %d %d", seen["tcp.chain_first"], seen["tcp.chain_second"], seen["tcp.chain_third"])
	}

	merged, mergedJSON := filepath.Join(dir, "merged.xml"), filepath.Join(dir, "merged.jsonl")
	m := nettest(t, append([]string{"merge", "--junit=" + merged, "--json-file=" + mergedJSON}, shards...)...)
	if m.code != 1 {
		t.Fatalf("merge: exit %d, want 1 (two checks failed)\n%s%s", m.code, m.stdout, m.stderr)
	}
	if !strings.Contains(m.stdout, "29 passed, 2 failed, 0 errored, 0 skipped in ") || !strings.Contains(m.stdout, "--- FAIL: tcp.must_be_closed") {
		t.Errorf("merge's human report:\n%s", m.stdout)
	}
	want, got := junitCases(t, whole), junitCases(t, merged)
	if len(want) != 31 || len(got) != len(want) {
		t.Errorf("the merged JUnit has %d testcases, the unsharded run's %d", len(got), len(want))
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s:\n merged    %+v\n unsharded %+v", name, g, w)
		}
	}
	lab.ValidateJUnit(t, merged)
	rep, err := report.ReadJSONL(mergedJSON)
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Summary; len(rep.Results) != 31 || s == nil || s.Passed != 29 || s.Failed != 2 || s.Total != 31 || s.Shard != "" {
		t.Errorf("merged JSON: %d results, summary %+v", len(rep.Results), rep.Summary)
	}
}

// TestMergeRefuses: what merge cannot combine is exit 2 with the reason,
// and an incomplete merge is not green.
func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	vars := shardVars(t)
	one := filepath.Join(dir, "one.jsonl")
	if r := nettest(t, append([]string{"test", "testdata/ci", "--shard=1/3", "--json-file=" + one}, vars...)...); r.code > 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	garbage := filepath.Join(dir, "garbage.jsonl")
	data, _ := os.ReadFile(one)
	os.WriteFile(garbage, append(append([]byte{}, data[:bytes.IndexByte(data, '\n')+1]...), "Killed\n"...), 0o644)
	truncated := filepath.Join(dir, "truncated.jsonl")
	os.WriteFile(truncated, data[:bytes.IndexByte(data, '\n')+1], 0o644)

	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"the same shard twice", []string{one, one}, 2, "is in both " + one + " and " + one},
		{"a line that is not JSON", []string{garbage}, 2, garbage + ":2: not a JSON object of a nettest report"},
		{"no such file", []string{filepath.Join(dir, "nope.jsonl")}, 2, "nope.jsonl: no such file or directory"},
		{"no files", nil, 2, "name the JSON-lines reports to merge"},
		{"a shard missing", []string{one}, 1, "no report of shard 2/3, 3/3: its checks are not in the merged report"},
		{"a report cut short", []string{truncated}, 1, "truncated.jsonl has no summary line"},
		{"html where it cannot be written", []string{"--html=" + filepath.Join(dir, "missing", "r.html"), one}, 2, "--html: cannot write"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := nettest(t, append([]string{"merge"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to hold %q", r.code, tt.code, r.stderr, tt.stderr)
			}
		})
	}
}

// TestShardAuto reads the part from the CI's variables, minding which
// count from 0.
func TestShardAuto(t *testing.T) {
	vars := shardVars(t)
	want := nettest(t, append([]string{"plan", "testdata/ci", "--shard=2/3"}, vars...)...)
	head := strings.SplitN(want.stdout, "\n", 2)[0]
	for _, tt := range []struct {
		env   []string
		shard string
	}{
		{[]string{"CI_NODE_INDEX=2", "CI_NODE_TOTAL=3"}, "auto"},         // GitLab: from 1
		{[]string{"CIRCLE_NODE_INDEX=1", "CIRCLE_NODE_TOTAL=3"}, "auto"}, // CircleCI: from 0
		{[]string{"TEST_SHARD_INDEX=1", "TEST_TOTAL_SHARDS=3"}, "auto"},  // Bazel: from 0
		{[]string{"JOB_COMPLETION_INDEX=1"}, "auto/3"},                   // Kubernetes: from 0, total given
	} {
		r := nettestEnv(t, "", tt.env, append([]string{"plan", "testdata/ci", "--shard=" + tt.shard}, vars...)...)
		if got := strings.SplitN(r.stdout, "\n", 2)[0]; r.code != 0 || got != head {
			t.Errorf("%v --shard=%s: exit %d, %q, want %q\n%s", tt.env, tt.shard, r.code, got, head, r.stderr)
		}
	}
	for _, tt := range []struct {
		env          []string
		shard, error string
	}{
		{nil, "auto", "no CI variable gives this job's index"},
		{[]string{"JOB_COMPLETION_INDEX=1"}, "auto", "write --shard=auto/N"},
		{[]string{"CI_NODE_INDEX=4", "CI_NODE_TOTAL=3"}, "auto", "shard 4/3 does not exist"},
		{nil, "0/3", "shard 0/3 does not exist"},
		{nil, "two", "write K/N"},
	} {
		r := nettestEnv(t, "", tt.env, append([]string{"test", "testdata/ci", "--shard=" + tt.shard}, vars...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.error) {
			t.Errorf("%v --shard=%s: exit %d, stderr %q, want 2 and %q", tt.env, tt.shard, r.code, r.stderr, tt.error)
		}
	}
}

// TestTag runs the checks with a tag and what they depend on; plan shows
// the tags and JSON carries them.
func TestTag(t *testing.T) {
	vars := shardVars(t)
	junit := filepath.Join(t.TempDir(), "r.xml")
	r := nettest(t, append([]string{"test", "testdata/ci", "--tag=security", "--json", "--junit=" + junit}, vars...)...)
	if data, _ := os.ReadFile(junit); strings.Count(string(data), `group="security"`) != 4 {
		t.Errorf("the JUnit testcases do not carry the tag:\n%s", data)
	}
	rep, err := report.DecodeJSONL(strings.NewReader(r.stdout), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, res := range rep.Results {
		if strings.Join(res.Tags, ",") != "security" {
			t.Errorf("%s has tags %v", res.Address, res.Tags)
		}
		got = append(got, res.Address)
	}
	if r.code != 1 || len(got) != 4 {
		t.Errorf("--tag=security: exit %d, ran %v; want the 4 security checks, one failing", r.code, got)
	}
	p := nettest(t, append([]string{"plan", "testdata/ci", "--tag=smoke", "--tag=security"}, vars...)...)
	if !strings.HasPrefix(p.stdout, "28 checks in 1 file, in run order:") || !strings.Contains(p.stdout, "tags: smoke") {
		t.Errorf("plan --tag=smoke --tag=security:\n%.400s", p.stdout)
	}
}

// TestGitHub: under GITHUB_ACTIONS=true each failed check is an error
// annotation on its line, with the path relative to the workspace, and the
// step summary gets the counts and a table of what failed.
func TestGitHub(t *testing.T) {
	workspace, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(t.TempDir(), "step_summary.md")
	os.WriteFile(summary, []byte("earlier step\n"), 0o644)
	env := []string{"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + workspace, "GITHUB_STEP_SUMMARY=" + summary}
	r := nettestEnv(t, "", env, append([]string{"test", "testdata/ci"}, shardVars(t)...)...)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var annotations []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "::") {
			annotations = append(annotations, l)
		}
	}
	want := []string{
		"::error file=nettest/testdata/ci/shards.nettest.hcl,line=36,title=tcp.must_be_closed::the database port stays closed to the web tier%0A  state  - expected \"closed\"%0A         + actual   \"open\"",
		"::error file=nettest/testdata/ci/shards.nettest.hcl,line=62,title=tcp.chain_third::open  - expected true%0A      + actual   false (closed: connection refused)",
	}
	if strings.Join(annotations, "\n") != strings.Join(want, "\n") {
		t.Errorf("annotations:\n%s\nwant:\n%s", strings.Join(annotations, "\n"), strings.Join(want, "\n"))
	}
	md, _ := os.ReadFile(summary)
	for _, w := range []string{
		"earlier step\n### ❌ nettest: 29 passed, 2 failed, 0 errored, 0 skipped in ",
		"| ❌ fail | <code>tcp.must_be_closed</code> | here | testdata/ci/shards.nettest.hcl:36 | <code>state</code>: expected <code>\"closed\"</code>, got <code>\"open\"</code> |",
	} {
		if !strings.Contains(string(md), w) {
			t.Errorf("step summary lacks %q:\n%s", w, md)
		}
	}

	// With --json on stdout the annotations go to stderr, keeping the
	// JSON lines clean.
	r = nettestEnv(t, "", env, append([]string{"test", "testdata/ci", "--json"}, shardVars(t)...)...)
	if _, err := report.DecodeJSONL(strings.NewReader(r.stdout), "stdout"); err != nil || !strings.Contains(r.stderr, "::error file=") {
		t.Errorf("with --json: %v; stderr:\n%s", err, r.stderr)
	}
}

// TestGitHubAnnotationLimit: GitHub shows ten error annotations per step,
// so the eleventh and later are counted in a notice.
func TestGitHubAnnotationLimit(t *testing.T) {
	_, closed := ports(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "many.nettest.hcl"), []byte(fmt.Sprintf(`
tcp "down" {
  for_each = toset([for i in range(13) : "n${i}"])
  host     = "127.0.0.1"
  port     = %d
  expect {
    open = true
  }
}
`, closed)), 0o644)
	r := nettestEnv(t, dir, []string{"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + dir}, "test", ".")
	if n := strings.Count(r.stdout, "\n::error file=many.nettest.hcl,line=2,title=tcp.down["); n != 10 {
		t.Errorf("%d error annotations, want 10:\n%s", n, r.stdout)
	}
	if !strings.Contains(r.stdout, "::notice title=nettest::3 more checks failed or errored than GitHub shows annotations for") {
		t.Errorf("no notice of the 3 more:\n%s", r.stdout)
	}
}

// TestConfigErrorReports: an invalid suite runs nothing (exit 2) but still
// writes the reports asked for, each saying what is wrong and where.
func TestConfigErrorReports(t *testing.T) {
	dir := t.TempDir()
	junit, jsonFile := filepath.Join(dir, "r.xml"), filepath.Join(dir, "r.jsonl")
	r := nettestEnv(t, "", []string{"GITHUB_ACTIONS=true"}, "test", "testdata/invalid.nettest.hcl", "--junit="+junit, "--json-file="+jsonFile)
	if r.code != 2 || !strings.Contains(r.stderr, `Invalid value for argument "port"`) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	cases := junitCases(t, junit)
	c, ok := cases[`configuration: testdata/invalid.nettest.hcl:3: Invalid value for argument "port"`]
	if len(cases) != 1 || !ok || c.Status != "error" || c.Classname != "configuration" ||
		!strings.Contains(c.Body, "testdata/invalid.nettest.hcl:3") || !strings.Contains(c.Body, "Must be a whole number from 1 to 65535") {
		t.Errorf("JUnit testcases: %+v", cases)
	}
	rep, err := report.ReadJSONL(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Summary; s == nil || len(s.Diagnostics) != 1 || s.Diagnostics[0].Line != 3 || s.Diagnostics[0].Summary != `Invalid value for argument "port"` {
		t.Errorf("JSON summary: %+v", rep.Summary)
	}
	if !strings.Contains(r.stdout, "::error file=testdata/invalid.nettest.hcl,line=3,title=configuration%3A testdata/invalid.nettest.hcl%3A3%3A Invalid value for argument \"port\"::") {
		t.Errorf("no annotation of the configuration error:\n%s", r.stdout)
	}
	lab.ValidateJUnit(t, junit)
}

// TestProgress: without a terminal a run prints a plain progress line now
// and then while checks run, and none with --json.
func TestProgress(t *testing.T) {
	// A listener nothing reads from: the HTTP checks wait for an answer
	// that does not come, for their whole timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slow.nettest.hcl"), []byte(fmt.Sprintf(`
http "slow" {
  for_each = toset(["a", "b", "c"])
  url      = "http://%s/${each.key}"
  timeout  = "1500ms"
  expect {
    status = 200
  }
}
`, ln.Addr())), 0o644)
	r := nettestEnv(t, "", nil, "test", dir, "--progress=400ms")
	if !strings.Contains(r.stderr, "0/3 done, 0 failed, 0 errored (") {
		t.Errorf("no progress line on stderr (exit %d):\n%s\nstdout:\n%s", r.code, r.stderr, r.stdout)
	}
	r = nettestEnv(t, "", nil, "test", dir, "--progress=400ms", "--json")
	if strings.Contains(r.stderr+r.stdout, " done, ") {
		t.Errorf("a progress line with --json:\n%s", r.stderr)
	}
}

// TestTerraformHandOff feeds a suite with `terraform output -json` and
// with a .json --var-file: values converted by their recorded types, a
// sensitive output kept out of every report, unused outputs listed with
// --verbose.
func TestTerraformHandOff(t *testing.T) {
	open, closed := ports(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.nettest.hcl"), []byte(`
variable "hosts" {
  type = list(string)
}
variable "ports" {
  type = object({ open = number, closed = number })
}
variable "token" {
  type    = string
  default = ""
}
tcp "open" {
  for_each    = toset(var.hosts)
  host        = each.value
  port        = var.ports.open
  description = "reached with ${var.token}"
  expect {
    open = false # fails, so that the description is reported
  }
}
tcp "closed" {
  host = var.hosts[0]
  port = var.ports.closed
  expect {
    state = "closed"
  }
}
`), 0o644)
	outputs := filepath.Join(dir, "outputs.json")
	os.WriteFile(outputs, []byte(fmt.Sprintf(`{
  "hosts": {"sensitive": false, "type": ["tuple", ["string", "string"]], "value": ["127.0.0.1", "127.0.0.2"]},
  "ports": {"sensitive": false, "type": ["object", {"closed": "number", "open": "number"}], "value": {"closed": %d, "open": %d}},
  "token": {"sensitive": true, "type": "string", "value": "tok-1f2e3d4c5b"},
  "vpc_id": {"sensitive": false, "type": "string", "value": "vpc-0a1b2c3d"}
}`, closed, open)), 0o644)
	jsonFile := filepath.Join(dir, "r.jsonl")
	r := nettest(t, "test", dir, "--terraform-outputs="+outputs, "--verbose", "--json-file="+jsonFile)
	if r.code != 1 || !strings.Contains(r.stdout, "2 passed, 1 failed, 0 errored, 0 skipped") { // nothing listens on 127.0.0.2
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "Terraform outputs no variable is named after, ignored: vpc_id") {
		t.Errorf("--verbose does not list the unused output:\n%s", r.stderr)
	}
	data, _ := os.ReadFile(jsonFile)
	if strings.Contains(r.stdout+r.stderr+string(data), "tok-1f2e3d4c5b") || !strings.Contains(r.stdout, "reached with (sensitive value)") {
		t.Errorf("the sensitive output shows in a report:\n%s\n%s", r.stdout, data)
	}

	// The same values from a .json --var-file, and a later --var wins.
	vars := filepath.Join(dir, "vars.json")
	os.WriteFile(vars, []byte(fmt.Sprintf(`{"hosts": ["127.0.0.1"], "ports": {"open": %d, "closed": %d}}`, open, closed)), 0o644)
	r = nettest(t, "test", dir, "--var-file="+vars, "--var", fmt.Sprintf("ports={open=%d, closed=%d}", closed, closed))
	if r.code != 0 || !strings.Contains(r.stdout, "2 passed, 0 failed") {
		t.Errorf("--var-file vars.json then --var: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(vars, []byte("{\n  \"hosts\": \"127.0.0.1\"\n}"), 0o644)
	r = nettest(t, "validate", dir, "--var-file="+vars)
	if r.code != 2 || !strings.Contains(r.stderr, "Invalid value for variable") || !strings.Contains(r.stderr, "vars.json line 2") {
		t.Errorf("a bad value in vars.json: exit %d\n%s", r.code, r.stderr)
	}
}

// TestTerraformExample plans the three-tier VPC example from its
// realistic `terraform output -json` file, as the README shows.
func TestTerraformExample(t *testing.T) {
	r := nettest(t, "plan", "../../examples/three-tier-vpc", "--terraform-outputs=../../examples/three-tier-vpc/terraform-outputs.json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"9 checks in 1 file, in run order:", `host = "10.20.21.84"`, `tcp.app_not_from_public["10.20.12.201"]`, "Authorization = (sensitive value)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "hc-7f3e9b2a41d04c6e") {
		t.Errorf("the sensitive output shows in the plan")
	}
}

// TestSelectsNothing: --tag or --run that select no check are exit 2, not
// a green run of nothing; an empty shard of a small suite is no error.
func TestSelectsNothing(t *testing.T) {
	vars := shardVars(t)
	for _, args := range [][]string{{"test", "--tag=securty"}, {"plan", "--tag=securty"}, {"test", "--run=^nope"}} {
		r := nettest(t, append(append(args, "testdata/ci"), vars...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "selects none of the 31 checks: nothing to run") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	// One check split four ways: three parts are empty.
	empty := 0
	for k := 1; k <= 4; k++ {
		r := nettest(t, append([]string{"test", "testdata/ci", "--run=must_be_closed", fmt.Sprintf("--shard=%d/4", k)}, vars...)...)
		if strings.Contains(r.stderr, "holds none of the 1 check selected") {
			empty++
			if r.code != 0 {
				t.Errorf("empty shard %d/4: exit %d", k, r.code)
			}
		}
	}
	if empty != 3 {
		t.Errorf("%d empty shards of 4, want 3", empty)
	}
}

// TestJSONFileRedacts: the values in the JSON report (observed results,
// diff values) hold no secret either.
func TestJSONFileRedacts(t *testing.T) {
	open, _ := ports(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.nettest.hcl"), []byte(fmt.Sprintf(`
variable "secret_host" {
  type      = string
  default   = "127.0.0.1"
  sensitive = true
}
variable "secret_state" {
  type      = string
  default   = "closed"
  sensitive = true
}
tcp "x" {
  host = var.secret_host
  port = %d
  expect {
    state = var.secret_state
  }
}
`, open)), 0o644)
	file := filepath.Join(dir, "r.jsonl")
	r := nettest(t, "test", dir, "--json-file="+file)
	data, _ := os.ReadFile(file)
	if r.code != 1 || strings.Contains(string(data), "127.0.0.1") || strings.Contains(string(data), `"closed"`) {
		t.Fatalf("exit %d; a secret in the JSON report:\n%s", r.code, data)
	}
	rep, err := report.ReadJSONL(file)
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Results[0].Diffs[0]
	if string(d.Expected) != "null" || d.ExpectedText != "(sensitive value)" || string(d.Actual) != `"open"` ||
		!strings.Contains(string(rep.Results[0].Observed), `"host":"(sensitive value)"`) {
		t.Errorf("diff %+v, observed %s", d, rep.Results[0].Observed)
	}
}

// TestBazelShardStatusFile: a runner that shards touches the file Bazel
// names, so Bazel knows the shards split the tests.
func TestBazelShardStatusFile(t *testing.T) {
	status := filepath.Join(t.TempDir(), "shard_status")
	env := []string{"TEST_SHARD_INDEX=0", "TEST_TOTAL_SHARDS=2", "TEST_SHARD_STATUS_FILE=" + status}
	r := nettestEnv(t, "", env, append([]string{"test", "testdata/ci", "--shard=auto"}, shardVars(t)...)...)
	if _, err := os.Stat(status); err != nil || r.code > 1 {
		t.Errorf("exit %d, status file: %v\n%s", r.code, err, r.stderr)
	}
}
