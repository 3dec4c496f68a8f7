package runner_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

func TestWriteDOT(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "g.nettest.hcl")
	src := `
fake "dns" {
  value = "api"
  expect { ok = true }
}
fake "web" {
  for_each = toset(["80", "443"])
  value    = "${fake.dns.value}:${each.key}"
  expect { ok = true }
}
fake "later" {
  value       = "x"
  description = "Waits for \"web\"."
  depends_on  = [fake.web["443"]]
  skip        = true
  expect { ok = true }
}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	suite, diags := schema.Load([]string{file}, schema.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	plan, diags := runner.NewPlan(suite, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var b strings.Builder
	if err := plan.WriteDOT(&b); err != nil {
		t.Fatal(err)
	}
	want := `digraph nettest {
  rankdir = "LR";
  node [shape = "box", style = "rounded", fontname = "Helvetica"];
  "fake.dns" [label = "fake.dns", tooltip = "FILE:2"];
  "fake.web[\"443\"]" [label = "fake.web[\"443\"]", tooltip = "FILE:6"];
  "fake.web[\"80\"]" [label = "fake.web[\"80\"]", tooltip = "FILE:6"];
  "fake.later" [label = "fake.later\n(skip = true)", tooltip = "FILE:11: Waits for \"web\".", style = "rounded,dashed", color = "grey50", fontcolor = "grey40"];
  "fake.dns" -> "fake.web[\"443\"]";
  "fake.dns" -> "fake.web[\"80\"]";
  "fake.web[\"443\"]" -> "fake.later";
}
`
	got := strings.ReplaceAll(b.String(), file, "FILE")
	if got != want {
		t.Errorf("DOT:\n%s\nwant:\n%s", got, want)
	}
}
