package schema_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/schema"
)

// TestInvalidFixtures loads each file of testdata/invalid and compares the
// diagnostics, line by line, with the "# ERROR: summary" markers in the file.
// Every marked line must get exactly that summary, and no other line any.
func TestInvalidFixtures(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}

func text(diags hcl.Diagnostics) string {
	var lines []string
	for _, d := range diags {
		l := d.Summary + ": " + d.Detail
		if d.Subject != nil {
			l = d.Subject.String() + ": " + l
		}
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestValidSuite(t *testing.T) {
	suite, diags := schema.Load([]string{"testdata/valid"}, schema.Options{})
	if diags.HasErrors() {
		t.Fatalf("valid suite refused:\n%s", text(diags))
	}
	var addrs []string
	for _, i := range suite.Instances {
		addrs = append(addrs, i.Address)
	}
	want := []string{`tcp.public["443"]`, `tcp.public["80"]`, `tcp.named["http"]`, `tcp.named["https"]`, "tcp.ssh_blocked", "tcp.after"}
	if strings.Join(addrs, " ") != strings.Join(want, " ") {
		t.Errorf("instances:\n got %q\nwant %q", addrs, want)
	}
	byAddr := map[string]*schema.Instance{}
	for _, i := range suite.Instances {
		byAddr[i.Address] = i
	}
	pub := byAddr[`tcp.public["80"]`]
	if pub.Description != "public port 80" || strings.Join(pub.Tags, ",") != "public,web-2" {
		t.Errorf("description/tags: %q %q", pub.Description, pub.Tags)
	}
	if pub.Timeout.String() != "3s" || pub.Retries != 1 || pub.RetryInterval.String() != "100ms" {
		t.Errorf("defaults not applied: %s %d %s", pub.Timeout, pub.Retries, pub.RetryInterval)
	}
	ssh := byAddr["tcp.ssh_blocked"]
	if ssh.Timeout.String() != "1s" || ssh.Retries != 0 {
		t.Errorf("own meta-arguments not applied: %s %d", ssh.Timeout, ssh.Retries)
	}
	if got := ssh.Arg("host").AsString(); got != "198.18.0.1" {
		t.Errorf("cidrhost local: got %q", got)
	}
	after := byAddr["tcp.after"]
	var deps []string
	for _, d := range after.Deps {
		deps = append(deps, d.Address)
	}
	if strings.Join(deps, " ") != `tcp.named["https"] tcp.public["80"] tcp.ssh_blocked` {
		t.Errorf("deps of tcp.after: %q", deps)
	}
	if after.Arg("host").IsKnown() {
		t.Error("a value from another check must be unknown before the run")
	}
}

// TestVariablePrecedence follows Terraform: default < environment < --var
// and --var-file in command-line order.
func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.nettest.hcl")
	write(t, suite, `
variable "host" {
  type    = string
  default = "from-default"
}
variable "ports" {
  type    = list(number)
  default = [1]
}
tcp "x" {
  host = var.host
  port = var.ports[0]
  expect {
    open = true
  }
}
`)
	varFile := filepath.Join(dir, "v.hcl")
	write(t, varFile, `host = "from-file"`+"\n"+`ports = [3, 4]`+"\n")
	tests := []struct {
		name     string
		vars     []schema.VarArg
		env      []string
		wantHost string
		wantPort string
	}{
		{"default", nil, nil, "from-default", "1"},
		{"env", nil, []string{"NETTEST_VAR_host=from-env", "NETTEST_VAR_ports=[2]"}, "from-env", "2"},
		{"file beats env", []schema.VarArg{{File: varFile}}, []string{"NETTEST_VAR_host=from-env"}, "from-file", "3"},
		{"later flag wins", []schema.VarArg{{Name: "host", Value: "from-flag"}, {File: varFile}}, nil, "from-file", "3"},
		{"flag after file wins", []schema.VarArg{{File: varFile}, {Name: "host", Value: "from-flag"}, {Name: "ports", Value: "[9]"}}, nil, "from-flag", "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, diags := schema.Load([]string{suite}, schema.Options{Vars: tt.vars, Env: tt.env})
			if diags.HasErrors() {
				t.Fatal(text(diags))
			}
			inst := s.Instances[0]
			if got := inst.Arg("host").AsString(); got != tt.wantHost {
				t.Errorf("host = %q, want %q", got, tt.wantHost)
			}
			if got := inst.Arg("port").AsBigFloat().String(); got != tt.wantPort {
				t.Errorf("port = %s, want %s", got, tt.wantPort)
			}
		})
	}
}

func TestVariableErrors(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.nettest.hcl")
	write(t, suite, `
variable "port" {
  type = number
}
tcp "x" {
  host = "127.0.0.1"
  port = var.port
  expect {
    open = true
  }
}
`)
	tests := []struct {
		name string
		vars []schema.VarArg
		want string
	}{
		{"missing", nil, "No value for required variable"},
		{"wrong type", []schema.VarArg{{Name: "port", Value: "eighty"}}, "Invalid value for variable"},
		{"undeclared", []schema.VarArg{{Name: "prot", Value: "80"}}, "Value for undeclared variable"},
		{"out of range", []schema.VarArg{{Name: "port", Value: "0"}}, `Invalid value for argument "port"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := schema.Load([]string{suite}, schema.Options{Vars: tt.vars})
			if !strings.Contains(text(diags), tt.want) {
				t.Errorf("want %q in:\n%s", tt.want, text(diags))
			}
		})
	}
	_, diags := schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{Name: "prot", Value: "80"}}})
	if !strings.Contains(text(diags), `Did you mean "port"?`) {
		t.Errorf("no suggestion for a misspelt variable:\n%s", text(diags))
	}
}

func TestNoFiles(t *testing.T) {
	_, diags := schema.Load([]string{t.TempDir()}, schema.Options{})
	if !strings.Contains(text(diags), "No suite files") {
		t.Errorf("got %s", text(diags))
	}
	_, diags = schema.Load([]string{"testdata/nonexistent"}, schema.Options{})
	if !strings.Contains(text(diags), "Cannot read path") {
		t.Errorf("got %s", text(diags))
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLiteralsBesideExpressions loads checks whose arguments and
// expectations mix literals (converted when the block is decoded) with
// expressions (evaluated with the suite): each instance must see both,
// converted to their types, and a literal that does not convert is still
// reported where it is written.
func TestLiteralsBesideExpressions(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "s.nettest.hcl"), `
variable "port" {
  default = "8080"
}

tcp "mixed" {
  for_each = toset(["a", "b"])
  host     = "127.0.0.${each.key == "a" ? 1 : 2}"
  port     = var.port
  expect {
    open = "true"
  }
}

http "literal" {
  url = "http://127.0.0.1:1/"
  expect {
    status        = 204
    body_contains = "ok"
  }
}
`)
	s, diags := schema.Load([]string{dir}, schema.Options{})
	if diags.HasErrors() {
		t.Fatal(text(diags))
	}
	got := map[string]string{}
	for _, i := range s.Instances {
		line := checks.Show(i.Kind().Object(i.Args()))
		for _, e := range i.Kind().Expect {
			if v, ok := i.Expected(e.Name); ok {
				line += " " + e.Name + "=" + checks.Show(v)
			}
		}
		got[i.Address] = line
	}
	for addr, want := range map[string][]string{
		`tcp.mixed["a"]`: {`host = "127.0.0.1"`, "port = 8080", "open=true"},
		`tcp.mixed["b"]`: {`host = "127.0.0.2"`, "port = 8080", "open=true"},
		"http.literal":   {`url = "http://127.0.0.1:1/"`, "status=204", `body_contains="ok"`},
	} {
		for _, w := range want {
			if !strings.Contains(got[addr], w) {
				t.Errorf("%s: %s lacks %s", addr, got[addr], w)
			}
		}
	}

	write(t, filepath.Join(dir, "s.nettest.hcl"), "tcp \"bad\" {\n  host = \"127.0.0.1\"\n  port = \"eighty\"\n  expect {\n    open = \"maybe\"\n  }\n}\n")
	_, diags = schema.Load([]string{dir}, schema.Options{})
	if got := text(diags); !strings.Contains(got, "s.nettest.hcl:3,10-18: Incorrect attribute value type") || !strings.Contains(got, "s.nettest.hcl:5,12-19: Incorrect attribute value type") {
		t.Errorf("literals that do not convert are not reported where written:\n%s", got)
	}
}

// TestUnclosedQuoteIsOneError: one quote left open makes hclsyntax report
// nearly every line after it; the user sees the first of those errors,
// told how many followed and why, beside HCL's own "Unterminated template
// string".
func TestUnclosedQuoteIsOneError(t *testing.T) {
	dir := t.TempDir()
	var src strings.Builder
	for i := range 40 {
		quote := `"`
		if i == 3 {
			quote = ""
		}
		fmt.Fprintf(&src, "tcp \"c%d\" {\n  host = \"127.0.0.1%s\n  port = %d\n  expect {\n    open = false\n  }\n}\n\n", i, quote, 20000+i)
	}
	write(t, filepath.Join(dir, "s.nettest.hcl"), src.String())
	_, diags := schema.Load([]string{dir}, schema.Options{})
	if len(diags) != 2 {
		t.Fatalf("%d diagnostics, want 2:\n%s", len(diags), text(diags))
	}
	first := diags[0]
	if first.Summary != "Invalid multi-line string" || first.Subject.Start.Line != 26 {
		t.Errorf("first diagnostic %s at line %d, want the multi-line string at line 26", first.Summary, first.Subject.Start.Line)
	}
	if !strings.Contains(first.Detail, "more lines after this one in") || !strings.Contains(first.Detail, "Close this string first.") {
		t.Errorf("the first error does not say what followed: %s", first.Detail)
	}
	if diags[1].Summary != "Unterminated template string" {
		t.Errorf("second diagnostic %q, want HCL's unterminated string", diags[1].Summary)
	}

	// Two strings split over lines in two files: each file keeps its own.
	write(t, filepath.Join(dir, "t.nettest.hcl"), "tcp \"t\" {\n  host = \"127.0.0.1\n\"\n  port = 1\n  expect {\n    open = false\n  }\n}\n")
	_, diags = schema.Load([]string{dir}, schema.Options{})
	files := map[string]int{}
	for _, d := range diags {
		if d.Summary == "Invalid multi-line string" {
			files[filepath.Base(d.Subject.Filename)]++
		}
	}
	if files["s.nettest.hcl"] != 1 || files["t.nettest.hcl"] != 1 {
		t.Errorf("multi-line string errors by file: %v, want one in each", files)
	}
}
