package runner_test

import (
	"strings"
	"testing"
)

func TestWriteDOT(t *testing.T) {
	plan := planOf(t, `
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
`)
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
	got := strings.ReplaceAll(b.String(), plan.Suite.FileNames[0], "FILE")
	if got != want {
		t.Errorf("DOT:\n%s\nwant:\n%s", got, want)
	}
}
