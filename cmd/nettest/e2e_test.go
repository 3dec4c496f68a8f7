package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/report"
)

// These tests run the built binary as a user or a CI job would and check
// what they would see: exit codes, output and report files.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nettest-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "nettest")
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func nettest(t *testing.T, args ...string) result {
	t.Helper()
	return runNettest(t, "", append(os.Environ(), "NO_COLOR=1"), args...)
}

// runNettest runs the binary in dir ("" for this one) with the environment
// env.
func runNettest(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// ports returns a listening port and a port nothing listens on.
func ports(t *testing.T) (open, closed int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed = l2.Addr().(*net.TCPAddr).Port
	l2.Close()
	return l.Addr().(*net.TCPAddr).Port, closed
}

func TestExitCodes(t *testing.T) {
	open, closed := ports(t)
	vars := []string{"--var", "open_port=" + strconv.Itoa(open), "--var=closed_port=" + strconv.Itoa(closed)}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"all pass", append([]string{"test", "testdata/ports.nettest.hcl"}, vars...), 0, "3 passed, 0 failed, 0 errored, 0 skipped in ", ""},
		{"a failure", []string{"test", "testdata/ports.nettest.hcl", "--var", "open_port=" + strconv.Itoa(closed), "--var", "closed_port=" + strconv.Itoa(closed)}, 1,
			"1 passed, 1 failed, 0 errored, 1 skipped in ", ""},
		{"invalid config", []string{"test", "testdata/invalid.nettest.hcl"}, 2, "", `Invalid value for argument "port"`},
		{"missing variable", []string{"test", "testdata/ports.nettest.hcl"}, 2, "", "No value for required variable"},
		{"unknown flag", []string{"test", "--paralelism=3", "testdata"}, 2, "", "flag provided but not defined"},
		{"unknown command", []string{"tset"}, 2, "", `unknown command "tset"`},
		{"validate ok", append([]string{"validate", "testdata/ports.nettest.hcl"}, vars...), 0, "Valid: 3 checks in 1 file.", ""},
		{"validate without variable values", []string{"validate", "testdata/ports.nettest.hcl"}, 0, "Valid: 3 checks in 1 file.", ""},
		{"validate checks a value given", []string{"validate", "testdata/ports.nettest.hcl", "--var", "open_port=0"}, 2, "", `Invalid value for argument "port"`},
		{"plan without variable values", []string{"plan", "testdata/ports.nettest.hcl"}, 2, "", "No value for required variable"},
		{"validate invalid", []string{"validate", "testdata/invalid.nettest.hcl"}, 2, "", "on testdata/invalid.nettest.hcl line 3"},
		{"plan", append([]string{"plan", "testdata/ports.nettest.hcl"}, vars...), 0, "(known after tcp.open)", ""},
		{"graph", append([]string{"graph", "testdata/ports.nettest.hcl"}, vars...), 0, "\"tcp.open\" -> \"tcp.after_open\";\n}\n", ""},
		{"graph invalid", []string{"graph", "testdata/invalid.nettest.hcl"}, 2, "", `Invalid value for argument "port"`},
		{"--run matches nothing", append([]string{"test", "testdata/ports.nettest.hcl", "--run", "^udp\\."}, vars...), 2, "", `--run=^udp\. selects none of the 3 checks: nothing to run`},
		{"no checks", []string{"test", "testdata/empty.nettest.hcl"}, 2, "", "the suite has no checks, so nothing would be tested"},
		{"--timeout=0s", append([]string{"test", "testdata/ports.nettest.hcl", "--timeout=0s"}, vars...), 2, "", "--timeout must be more than 0"},
		{"--timeout=-1s", append([]string{"test", "testdata/ports.nettest.hcl", "--timeout=-1s"}, vars...), 2, "", "--timeout must be more than 0"},
		{"--timeout=abc", append([]string{"test", "testdata/ports.nettest.hcl", "--timeout=abc"}, vars...), 2, "", `invalid value "abc" for flag -timeout`},
		{"--progress=-1s", append([]string{"test", "testdata/ports.nettest.hcl", "--progress=-1s"}, vars...), 2, "", "--progress must be 0 (no progress lines) or more"},
		{"--parallelism=0", append([]string{"test", "testdata/ports.nettest.hcl", "--parallelism=0"}, vars...), 2, "", "--parallelism must be at least 1"},
		{"--parallelism=-1", append([]string{"test", "testdata/ports.nettest.hcl", "--parallelism=-1"}, vars...), 2, "", "--parallelism must be at least 1"},
		{"--parallelism=abc", append([]string{"test", "testdata/ports.nettest.hcl", "--parallelism=abc"}, vars...), 2, "", `invalid value "abc" for flag -parallelism`},
		{"--run=(", append([]string{"test", "testdata/ports.nettest.hcl", "--run=("}, vars...), 2, "", "--run: invalid regular expression"},
		{"help", []string{"test", "--help"}, 0, "", "--parallelism=N"},
		{"version", []string{"version"}, 0, "nettest ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := nettest(t, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, r.stderr)
			}
		})
	}
}

func TestDiagnosticShowsSnippet(t *testing.T) {
	r := nettest(t, "validate", "testdata/invalid.nettest.hcl")
	for _, want := range []string{"Error: Invalid value for argument \"port\"", "on testdata/invalid.nettest.hcl line 3", "port = 80000", "Must be a whole number from 1 to 65535"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestJSONAndJUnit(t *testing.T) {
	open, closed := ports(t)
	junit := filepath.Join(t.TempDir(), "report.xml")
	r := nettest(t, "test", "--json", "--junit="+junit, "testdata/ports.nettest.hcl",
		"--var", "open_port="+strconv.Itoa(closed), "--var", "closed_port="+strconv.Itoa(open))
	if r.code != 1 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 3 results and a summary, got:\n%s", r.stdout)
	}
	statuses := map[string]string{}
	for _, l := range lines[:3] {
		var ev report.Result
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Type != "result" {
			t.Fatalf("bad line %q: %v", l, err)
		}
		statuses[ev.Address] = ev.Status
		// The values are JSON values, their HCL text beside them.
		if ev.Address == "tcp.closed" && (len(ev.Diffs) != 1 || string(ev.Diffs[0].Expected) != `"closed"` || string(ev.Diffs[0].Actual) != `"open"` ||
			ev.Diffs[0].ExpectedText != `"closed"` || ev.Diffs[0].ActualText != `"open"`) {
			t.Errorf("diff of tcp.closed: %+v", ev.Diffs)
		}
	}
	if statuses["tcp.open"] != "fail" || statuses["tcp.closed"] != "fail" || statuses["tcp.after_open"] != "skip" {
		t.Errorf("statuses %v", statuses)
	}
	var sum map[string]any
	json.Unmarshal([]byte(lines[3]), &sum)
	if sum["type"] != "summary" || sum["failed"] != 2.0 || sum["skipped"] != 1.0 {
		t.Errorf("summary %v", sum)
	}
	validateJUnit(t, junit, 3)
}

// TestInterrupt sends SIGINT while a check waits on a port that never
// answers: the run stops at once with exit code 130, and the JUnit report
// is still written and valid.
func TestInterrupt(t *testing.T) {
	port := silentPort(t)
	dir := t.TempDir()
	suite := filepath.Join(dir, "hang.nettest.hcl")
	os.WriteFile(suite, []byte(`
tcp "silent" {
  host    = "127.0.0.1"
  port    = `+strconv.Itoa(port)+`
  timeout = "60s"
  expect {
    open = true
  }
}
tcp "later" {
  host       = "127.0.0.1"
  port       = `+strconv.Itoa(port)+`
  depends_on = [tcp.silent]
  expect {
    open = true
  }
}
`), 0o644)
	junit := filepath.Join(dir, "report.xml")
	cmd := exec.Command(binary, "test", "--junit="+junit, suite)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s to stop after SIGINT", took)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("want exit 130, got %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0 passed, 0 failed, 1 errored, 1 skipped") {
		t.Errorf("output:\n%s", out.String())
	}
	validateJUnit(t, junit, 2)
}

// silentPort returns a loopback port whose handshakes never complete: a
// socket listening with a backlog of zero whose queue is already full, so
// the kernel drops further SYNs as a firewall would.
func silentPort(t *testing.T) int {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := sa.(*syscall.SockaddrInet4).Port
	// Fill the accept queue; connections beyond it are left unanswered.
	for i := 0; i < 4; i++ {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return port
}

// validateJUnit counts the file's test cases and validates it against the
// strict schema (lab.ValidateJUnit); call it last, since it may skip.
func validateJUnit(t *testing.T, path string, cases int) {
	t.Helper()
	countJUnit(t, path, cases)
	lab.ValidateJUnit(t, path)
}

// countJUnit checks that the JUnit file parses and holds cases test cases.
func countJUnit(t *testing.T, path string, cases int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("JUnit report not written: %v", err)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("JUnit report does not parse: %v\n%s", err, data)
	}
	n := 0
	for _, s := range doc.Suites {
		n += len(s.Cases)
	}
	if n != cases {
		t.Errorf("JUnit has %d test cases, want %d", n, cases)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.nettest.hcl")
	os.WriteFile(file, []byte("tcp \"x\" {\nhost = \"127.0.0.1\"\n   port=80\n  expect {\n open = true\n}\n}\n"), 0o644)
	if r := nettest(t, "fmt", "--check", dir); r.code != 1 || !strings.Contains(r.stdout, "a.nettest.hcl") {
		t.Errorf("fmt --check on an unformatted file: %+v", r)
	}
	if r := nettest(t, "fmt", dir); r.code != 0 {
		t.Errorf("fmt: %+v", r)
	}
	got, _ := os.ReadFile(file)
	want := "tcp \"x\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n"
	if string(got) != want {
		t.Errorf("formatted:\n%s\nwant:\n%s", got, want)
	}
	if r := nettest(t, "fmt", "--check", dir); r.code != 0 || r.stdout != "" {
		t.Errorf("fmt --check on a formatted file: %+v", r)
	}
	os.WriteFile(file, []byte("tcp \"x\" {\n  port = \n"), 0o644)
	// As validate shows it: with the snippet, and not "nothing was run".
	if r := nettest(t, "fmt", dir); r.code != 2 || !strings.Contains(r.stderr, "   2:   port = ") || strings.Contains(r.stderr, "nothing was run") {
		t.Errorf("fmt on a broken file: %+v", r)
	}
}

// TestDemo runs the README's first command: the embedded quickstart
// against servers the binary starts itself.
func TestDemo(t *testing.T) {
	r := nettest(t, "demo")
	if r.code != 0 || !strings.Contains(r.stdout, " passed, 0 failed, 0 errored, 0 skipped in ") {
		t.Errorf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestReportDestinationsCheckedFirst: a report file that cannot be written
// (a directory, a missing or read-only directory, a read-only file) is exit
// 2 before any check runs, for every report flag.
func TestReportDestinationsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "ro")
	os.Mkdir(readOnly, 0o555)
	roFile := filepath.Join(dir, "ro.xml")
	os.WriteFile(roFile, nil, 0o444)
	suite := filepath.Join(dir, "s.nettest.hcl")
	// The check would take its whole timeout: a run that started shows.
	os.WriteFile(suite, []byte(`tcp "x" {
  host    = "127.0.0.1"
  port    = 1
  timeout = "1s"
  expect {
    open = false
  }
}
`), 0o644)
	bad := map[string]string{
		"a directory":                  dir,
		"a missing directory":          filepath.Join(dir, "nope", "r.out"),
		"a directory it may not write": filepath.Join(readOnly, "r.out"),
		"a read-only file":             roFile,
	}
	for _, flag := range []string{"junit", "json-file", "html"} {
		for what, path := range bad {
			if os.Geteuid() == 0 && (what == "a directory it may not write" || what == "a read-only file") {
				continue // root writes anyway
			}
			r := nettest(t, "test", suite, "--"+flag+"="+path)
			if r.code != 2 || !strings.Contains(r.stderr, "--"+flag+":") || strings.Contains(r.stdout, "tcp.x") {
				t.Errorf("--%s at %s: exit %d, want 2 before the run\nstdout:\n%s\nstderr:\n%s", flag, what, r.code, r.stdout, r.stderr)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("the checks left files behind: %v", entries)
	}
}

// TestFmtOnAFullDisk: when the formatted file cannot be written whole (here
// the file-size limit stands in for a full disk), the suite is left as it
// was, not cut in half.
func TestFmtOnAFullDisk(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash for ulimit -f")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "a.nettest.hcl")
	var src strings.Builder
	for n := range 60 {
		fmt.Fprintf(&src, "tcp \"x%d\" {\nhost = \"127.0.0.1\"\n   port=80\n  expect {\n open = true\n}\n}\n", n)
	}
	os.WriteFile(file, []byte(src.String()), 0o640)
	// ulimit -f counts 1024-byte blocks in bash: a 1 KiB file at most.
	out, err := exec.Command(bash, "-c", `ulimit -f 1; exec "$0" fmt "$1"`, binary, dir).CombinedOutput()
	if err == nil {
		t.Errorf("fmt succeeded beyond the file-size limit:\n%s", out)
	}
	got, _ := os.ReadFile(file)
	if string(got) != src.String() {
		t.Errorf("the suite was changed by a write that failed: %d bytes left of %d\n%s", len(got), src.Len(), out)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a temporary file was left behind: %v", entries)
	}
}

// TestDemoJSONIsOnlyJSON: with --json, stdout holds JSON lines and nothing
// else; the banner goes to stderr.
func TestDemoJSONIsOnlyJSON(t *testing.T) {
	r := nettest(t, "demo", "--json")
	if r.code != 0 || !strings.Contains(r.stderr, "Demo: web server on 127.0.0.1:") {
		t.Errorf("demo --json: exit %d\n%s", r.code, r.stderr)
	}
	for n, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("stdout line %d is not JSON: %q", n+1, line)
		}
	}
}

// TestPlanShowsSkipped: a check whose skip is known true before the run
// reads as skipped in the plan; one whose skip waits on a result does not.
func TestPlanShowsSkipped(t *testing.T) {
	suite := filepath.Join(t.TempDir(), "s.nettest.hcl")
	os.WriteFile(suite, []byte(`variable "off" {
  default = true
}
tcp "a" {
  host = "127.0.0.1"
  port = 1
  skip = var.off
  expect {
    open = false
  }
}
tcp "b" {
  host = "127.0.0.1"
  port = 1
  skip = tcp.a.open
  expect {
    open = false
  }
}
`), 0o644)
	r := nettest(t, "plan", suite)
	if r.code != 0 || !strings.Contains(r.stdout, "tcp.a  ("+suite+":4)  skipped: skip is true\n") || strings.Contains(r.stdout, ":12)  skipped") {
		t.Errorf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestDemoNamesItsEmbeddedSuite: demo's reports point at the quickstart as
// it is in the binary, not at a temporary copy that is gone once the demo
// ends (a JUnit body or an annotation naming /tmp/… would lead nowhere).
func TestDemoNamesItsEmbeddedSuite(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "demo.xml")
	r := nettest(t, "demo", "--json", "--junit="+junit)
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s", r.code, r.stderr)
	}
	for n, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		var rec struct {
			Type, File string
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if rec.Type == "result" && rec.File != "quickstart/quickstart.nettest.hcl" {
			t.Errorf("line %d names the file %q, want quickstart/quickstart.nettest.hcl", n+1, rec.File)
		}
	}
	xml, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(xml), `name="quickstart/quickstart.nettest.hcl"`) || strings.Contains(string(xml), os.TempDir()+"/nettest-demo") {
		t.Errorf("the JUnit report does not name the embedded suite:\n%s", xml)
	}
}
