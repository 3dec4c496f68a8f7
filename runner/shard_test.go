package runner_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// shardSuite is n independent checks, a chain of three dependent ones and
// three checks from one vantage, plus extra independent checks named
// extra_*.
func shardSuite(t *testing.T, n, extra int) *schema.Suite {
	t.Helper()
	var b strings.Builder
	b.WriteString(`
vantage "blue" {
  netns = "blue"
}
fake "many" {
  for_each = toset([for i in range(` + fmt.Sprint(n) + `) : tostring(i)])
  value    = each.key
  expect {
    ok = true
  }
}
fake "chain_a" {
  value = "a"
  expect {
    ok = true
  }
}
fake "chain_b" {
  value = fake.chain_a.value
  expect {
    ok = true
  }
}
fake "chain_c" {
  value      = "c"
  expect {
    ok = true
  }
  depends_on = [fake.chain_b]
}
fake "from_blue" {
  for_each = toset(["1", "2", "3"])
  from     = vantage.blue
  value    = each.key
  expect {
    ok = true
  }
}
`)
	for k := range extra {
		fmt.Fprintf(&b, "fake \"extra_%d\" {\n  value = \"x\"\n  expect {\n    ok = true\n  }\n}\n", k)
	}
	return loadSuite(t, b.String())
}

// loadSuite loads src as the only file of a suite.
func loadSuite(t *testing.T, src string) *schema.Suite {
	t.Helper()
	file := filepath.Join(t.TempDir(), "s.nettest.hcl")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	suite, diags := schema.Load([]string{file}, schema.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return suite
}

// TestShard: the parts of a suite are disjoint and whole, keep dependent
// checks and a small vantage together, balance many checks, and do not move
// a check when unrelated checks are added.
func TestShard(t *testing.T) {
	suite := shardSuite(t, 600, 0)
	const n = 3
	part := map[string]int{}
	sizes := make([]int, n+1)
	for k := 1; k <= n; k++ {
		plan, diags := runner.NewPlan(suite, runner.Shard(suite, runner.ShardSpec{K: k, N: n}))
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		for _, i := range plan.Order {
			if prev, dup := part[i.Address]; dup {
				t.Errorf("%s is in part %d and part %d", i.Address, prev, k)
			}
			part[i.Address] = k
			sizes[k]++
		}
	}
	if len(part) != len(suite.Instances) {
		t.Errorf("the parts hold %d checks, the suite %d", len(part), len(suite.Instances))
	}
	if part["fake.chain_a"] != part["fake.chain_b"] || part["fake.chain_b"] != part["fake.chain_c"] {
		t.Errorf("the dependent chain is split: a %d, b %d, c %d", part["fake.chain_a"], part["fake.chain_b"], part["fake.chain_c"])
	}
	if p := part[`fake.from_blue["1"]`]; part[`fake.from_blue["2"]`] != p || part[`fake.from_blue["3"]`] != p {
		t.Errorf("the vantage's checks are split")
	}
	for k := 1; k <= n; k++ {
		// 606 checks: a fair part is 202; a hash stays within 15% of it.
		if sizes[k] < 170 || sizes[k] > 235 {
			t.Errorf("part %d holds %d checks of %d: unbalanced (%v)", k, sizes[k], len(part), sizes[1:])
		}
	}

	// Adding checks moves none of the others.
	grown := shardSuite(t, 600, 50)
	for i, k := range runner.ShardOf(grown, n) {
		if was, ok := part[i.Address]; ok && was != k {
			t.Errorf("%s moved from part %d to %d when unrelated checks were added", i.Address, was, k)
		}
	}
}

// TestShardBigVantage: a vantage with more than a fair part of the checks
// is spread over the parts rather than unbalancing them.
func TestShardBigVantage(t *testing.T) {
	src := `
vantage "blue" {
  netns = "blue"
}
fake "from_blue" {
  for_each = toset([for i in range(300) : tostring(i)])
  from     = vantage.blue
  value    = each.key
  expect {
    ok = true
  }
}
`
	suite := loadSuite(t, src)
	sizes := map[int]int{}
	for _, k := range runner.ShardOf(suite, 3) {
		sizes[k]++
	}
	if len(sizes) != 3 || sizes[1] < 70 || sizes[2] < 70 || sizes[3] < 70 {
		t.Errorf("the big vantage's checks by part: %v, want all three parts used", sizes)
	}
}

// TestSelections: --tag selects the tagged checks with what they depend
// on, and selections combine.
func TestSelections(t *testing.T) {
	src := `
fake "base" {
  value = "b"
  expect {
    ok = true
  }
}
fake "web" {
  value = fake.base.value
  expect {
    ok = true
  }
  tags  = ["web", "smoke"]
}
fake "db" {
  value = "d"
  expect {
    ok = true
  }
  tags  = ["db"]
}
fake "other" {
  value = "o"
  expect {
    ok = true
  }
}
`
	suite := loadSuite(t, src)
	for _, tt := range []struct {
		name string
		sel  runner.Selection
		want string
	}{
		{"all", nil, "fake.base fake.db fake.other fake.web"},
		{"tag web", runner.Tagged([]string{"web"}), "fake.base fake.web"},
		{"tag web or db", runner.Tagged([]string{"db", "web"}), "fake.base fake.db fake.web"},
		{"tag and run", runner.All(runner.Tagged([]string{"db", "web"}), runner.Match(regexpMust(`db`))), "fake.db"},
		{"no such tag", runner.Tagged([]string{"nope"}), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan, _ := runner.NewPlan(suite, tt.sel)
			var got []string
			for _, i := range plan.Order {
				got = append(got, i.Address)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("selected %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}
