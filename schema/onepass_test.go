package schema_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// TestEveryErrorInOnePass: the messages that say what to do about a
// reference, and every cycle, not only the first.
func TestEveryErrorInOnePass(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.nettest.hcl")
	write(t, suite, `
variable "hosts" {
  type    = string
  default = "127.0.0.1"
}
locals {
  first = dns.multi.answers
}
dns "multi" {
  for_each = toset(["a", "b"])
  name     = "${each.key}.example.test"
  server   = "127.0.0.1:53"
  expect {
    rcode = "NOERROR"
  }
}
tcp "from_results" {
  for_each = toset(dns.multi["a"].answers)
  host     = each.value
  port     = 80
  expect {
    open = true
  }
}
tcp "typo" {
  host = var.hsots
  port = 80
  assert {
    condition = self.stat == "open"
  }
}
tcp "no_key" {
  host = dns.multi.name
  port = 80
  expect {
    open = true
  }
}
tcp "c1" {
  host = tcp.c2.host
  port = 80
  expect {
    open = true
  }
}
tcp "c2" {
  host = tcp.c1.host
  port = 80
  expect {
    open = true
  }
}
tcp "d1" {
  host       = "127.0.0.1"
  port       = 80
  depends_on = [tcp.d2]
  expect {
    open = true
  }
}
tcp "d2" {
  host       = "127.0.0.1"
  port       = 80
  depends_on = [tcp.d1]
  expect {
    open = true
  }
}
`)
	s, diags := schema.Load([]string{suite}, schema.Options{})
	_, d := runner.NewPlan(s, nil)
	diags = append(diags, d...)
	got := text(diags)
	for _, want := range []string{
		`:7,11-14: Check result used before the run: Check results, such as dns.NAME.FIELD, are known only at run time, so they cannot feed locals or for_each`,
		`:18,20-23: Check result used before the run:`,
		`This object does not have an attribute named "hsots". Did you mean "hosts"?`,
		`This object does not have an attribute named "stat". Did you mean "state"?`,
		`dns.multi has for_each, so it is one check per key: write dns.multi["KEY"].name`,
		`tcp.c1 → tcp.c2 → tcp.c1`,
		`tcp.d1 → tcp.d2 → tcp.d1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
	if n := count(diags, "Dependency cycle between checks"); n != 2 {
		t.Errorf("%d cycles reported, want 2:\n%s", n, got)
	}
}

func count(diags hcl.Diagnostics, summary string) int {
	n := 0
	for _, d := range diags {
		if d.Summary == summary {
			n++
		}
	}
	return n
}

// Variables without a value are reported in the order they are declared,
// on every run: they live in a map, whose order changes from run to run.
func TestMissingVariablesInFileOrder(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.nettest.hcl")
	var src strings.Builder
	names := []string{"zeta", "alpha", "mid", "beta", "omega", "gamma", "delta", "kappa"}
	for _, n := range names {
		src.WriteString("variable \"" + n + "\" {\n  type = string\n}\n")
	}
	src.WriteString("tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n")
	write(t, suite, src.String())
	for range 20 {
		_, diags := schema.Load([]string{suite}, schema.Options{})
		var got []string
		for _, d := range diags {
			if d.Summary == "No value for required variable" {
				got = append(got, d.Subject.String())
			}
		}
		if len(got) != len(names) {
			t.Fatalf("%d missing variables reported, want %d: %v", len(got), len(names), diags)
		}
		for i := range names {
			if want := filepath.Join(dir, "s.nettest.hcl") + ":" + strconv.Itoa(3*i+1); !strings.HasPrefix(got[i], want+",") {
				t.Fatalf("diagnostic %d is at %s, want %s (the order of declaration)", i, got[i], want)
			}
		}
	}
}
