package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// planJSON runs `nettest ARGS` on src as the only file of a suite and
// decodes its JSON document.
func planJSON(t *testing.T, src string, args ...string) (PlanDocument, result) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "suite.nettest.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runNettest(t, dir, []string{"NO_COLOR=1", "NETTEST_VAR_token=s3cr3t-t0ken"}, append(args, ".")...)
	var doc PlanDocument
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not one JSON document (%v):\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("stderr is not empty with --json: %s", r.stderr)
	}
	return doc, r
}

const planSuite = `
variable "port" { type = number }
variable "token" {
  type      = string
  sensitive = true
}

tcp "web" {
  host = "127.0.0.1"
  port = var.port
  tags = ["web"]
  expect {
    open = true
  }
}

http "api" {
  url     = "http://${tcp.web.address}/health"
  headers = { Authorization = "Bearer ${var.token}" }
  expect {
    status = 200
  }
  assert {
    condition = self.duration_ms < 500
  }
}
`

func TestPlanJSON(t *testing.T) {
	doc, r := planJSON(t, planSuite, "plan", "--json", "--var", "port=8080")
	if r.code != exitOK || !doc.Valid || doc.FormatVersion != "1" || len(doc.Diagnostics) != 0 {
		t.Fatalf("exit %d, valid %v, version %q, diagnostics %v", r.code, doc.Valid, doc.FormatVersion, doc.Diagnostics)
	}
	if len(doc.Checks) != 2 || doc.Checks[0].Address != "tcp.web" || doc.Checks[1].Address != "http.api" {
		t.Fatalf("checks %+v, want tcp.web then http.api", doc.Checks)
	}
	web, api := doc.Checks[0], doc.Checks[1]
	if web.Kind != "tcp" || web.File != "suite.nettest.hcl" || web.Line != 8 || len(web.DependsOn) != 0 || web.Timeout != "5s" || strings.Join(web.Tags, ",") != "web" {
		t.Errorf("tcp.web = %+v", web)
	}
	if got := string(web.Arguments["port"].Value); got != "8080" {
		t.Errorf("port = %s, want 8080", got)
	}
	if got := string(web.Expect["open"].Value); got != "true" {
		t.Errorf("expect.open = %s, want true", got)
	}
	if strings.Join(api.DependsOn, ",") != "tcp.web" || !api.Arguments["url"].Unknown || api.Asserts != 1 {
		t.Errorf("http.api = %+v, want it after tcp.web with an unknown url", api)
	}
	if h := api.Arguments["headers"]; !h.Sensitive || h.Value != nil {
		t.Errorf("headers = %+v, want sensitive without a value", h)
	}
	if strings.Contains(r.stdout, "s3cr3t-t0ken") {
		t.Error("the plan shows the secret")
	}
}

// validate --json needs no variable values: what depends on one is unknown.
func TestValidateJSON(t *testing.T) {
	doc, r := planJSON(t, planSuite, "validate", "--json")
	if r.code != exitOK || !doc.Valid || len(doc.Checks) != 2 || !doc.Checks[0].Arguments["port"].Unknown {
		t.Fatalf("exit %d, valid %v, checks %+v", r.code, doc.Valid, doc.Checks)
	}
}

func TestValidateJSONDiagnostics(t *testing.T) {
	doc, r := planJSON(t, "tcp \"x\" {\n  host = \"127.0.0.1\"\n  port = 80000\n  expect {\n    open = true\n  }\n}\n", "validate", "--json")
	if r.code != exitConfig || doc.Valid || len(doc.Checks) != 0 || len(doc.Diagnostics) != 1 {
		t.Fatalf("exit %d, valid %v, checks %d, diagnostics %+v", r.code, doc.Valid, len(doc.Checks), doc.Diagnostics)
	}
	d := doc.Diagnostics[0]
	if d.Severity != "error" || d.Summary != `Invalid value for argument "port"` || d.File != "suite.nettest.hcl" || d.Line != 3 || d.Range == nil ||
		d.Range.Start.Line != 3 || d.Range.Start.Column != 10 || d.Range.End.Column != 15 {
		t.Errorf("diagnostic %+v (range %+v)", d, d.Range)
	}
}

// A plan large enough to be written on several cores reads exactly as the
// same entries written one after the other: every entry once, numbered in
// run order, a check after the ones it depends on.
func TestPlanTextOfALargeSuite(t *testing.T) {
	const n = 5000
	var src strings.Builder
	for i := range n {
		fmt.Fprintf(&src, "tcp \"c%d\" {\n  host = \"127.0.0.1\"\n  port = %d\n", i, 1+i)
		if i%7 == 3 {
			fmt.Fprintf(&src, "  description = \"after c%d\"\n  depends_on = [tcp.c%d]\n", i+1, i+1)
		}
		if i%5 == 0 {
			src.WriteString("  tags = [\"five\"]\n")
		}
		fmt.Fprintf(&src, "  expect {\n    open = %t\n  }\n}\n\n", i%2 == 0)
	}
	file := filepath.Join(t.TempDir(), "large.nettest.hcl")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	suite, diags := schema.Load([]string{file}, schema.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, diags := runner.NewPlan(suite, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var want bytes.Buffer
	fmt.Fprintf(&want, "%d checks in 1 file, in run order:\n", n)
	for k, inst := range plan.Order {
		planInstance(&want, k, inst)
	}
	got := planText(plan, "")
	if got != want.String() {
		t.Fatalf("the plan differs from its entries written in one loop (%d and %d bytes)", len(got), len(want.String()))
	}
	c3, c4 := strings.Index(got, "  tcp.c3  ("), strings.Index(got, "  tcp.c4  (")
	if c3 < 0 || c4 < 0 || c3 < c4 || !strings.HasPrefix(got[strings.IndexByte(got[c3:], '\n')+c3:], "\n        after tcp.c4\n        # after c4\n") {
		t.Errorf("tcp.c3 is not planned after tcp.c4:\n%s", got[:min(len(got), 2000)])
	}
}
