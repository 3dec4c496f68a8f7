package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// selectFlags are the flags that choose which checks run: --run, --tag and
// --shard. test and plan share them, so that `plan --shard=2/3` shows what
// `test --shard=2/3` runs.
type selectFlags struct {
	run   string
	tags  []string
	shard string

	re   *regexp.Regexp
	part *runner.ShardSpec // nil: the whole suite
}

func (s *selectFlags) register(fs *flag.FlagSet, verb string) {
	fs.StringVar(&s.run, "run", "", verb+" only the checks whose address matches `REGEX` (and the checks they depend on).")
	fs.Func("tag", verb+" only the checks with the tag `NAME` (and the checks they depend on). Repeatable: a check\nwith any of the tags is selected.", func(v string) error {
		if v == "" {
			return fmt.Errorf("write --tag=NAME")
		}
		s.tags = append(s.tags, v)
		return nil
	})
	fs.StringVar(&s.shard, "shard", "", verb+" only part `K/N` of the checks (1 ≤ K ≤ N), for N CI jobs that split a suite: each\ncheck is in exactly one part, dependent checks stay together, and a check keeps its part\nwhen others are added. 'auto' reads the CI's variables: CI_NODE_INDEX/CI_NODE_TOTAL\n(GitLab), CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL, TEST_SHARD_INDEX/TEST_TOTAL_SHARDS (Bazel);\n'auto/N' takes the index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or those.")
}

// parse checks the flags' values; env is the environment for --shard=auto.
func (s *selectFlags) parse(env func(string) string) error {
	if s.run != "" {
		re, err := regexp.Compile(s.run)
		if err != nil {
			return fmt.Errorf("--run: invalid regular expression: %v", err)
		}
		s.re = re
	}
	if s.shard != "" {
		part, err := parseShard(s.shard, env)
		if err != nil {
			return fmt.Errorf("--shard=%s: %v", s.shard, err)
		}
		s.part = &part
	}
	return nil
}

// selection is the selection of the flags over suite.
func (s *selectFlags) selection(suite *schema.Suite) runner.Selection {
	var shard runner.Selection
	if s.part != nil {
		shard = runner.Shard(suite, *s.part)
	}
	return runner.All(runner.Match(s.re), runner.Tagged(s.tags), shard)
}

// checkSelected says whether a plan of no checks is an error: --run or
// --tag that select nothing is a typo to report (exit 2), not a green run;
// a shard that holds none of what they select is a small suite split many
// ways, said and not an error.
func (s *selectFlags) checkSelected(plan *runner.Plan, stderr io.Writer) bool {
	if len(plan.Order) > 0 {
		return true
	}
	sel := runner.All(runner.Match(s.re), runner.Tagged(s.tags))
	selected := 0
	for _, i := range plan.Suite.Instances {
		if sel == nil || sel(i) {
			selected++
		}
	}
	if selected == 0 && (s.re != nil || len(s.tags) > 0) {
		var what []string
		if s.re != nil {
			what = append(what, "--run="+s.run)
		}
		for _, t := range s.tags {
			what = append(what, "--tag="+t)
		}
		verb := "select"
		if len(what) == 1 {
			verb = "selects"
		}
		fmt.Fprintf(stderr, "nettest: %s %s none of the %s: nothing to run\n", strings.Join(what, " "), verb, counted(len(plan.Suite.Instances), "check"))
		return false
	}
	if s.part != nil {
		fmt.Fprintf(stderr, "nettest: shard %s holds none of the %s selected: nothing to run\n", s.part, counted(selected, "check"))
	}
	return true
}

// shardName is "K/N", or "" without --shard.
func (s *selectFlags) shardName() string {
	if s.part == nil {
		return ""
	}
	return s.part.String()
}

// ciShardVars are the CI systems' variables for a job's index among
// parallel jobs, and whether that index counts from 0.
var ciShardVars = []struct {
	index, total string
	zeroBased    bool
}{
	{"CI_NODE_INDEX", "CI_NODE_TOTAL", false},        // GitLab parallel:
	{"CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", true}, // CircleCI parallelism
	{"TEST_SHARD_INDEX", "TEST_TOTAL_SHARDS", true},  // Bazel shard_count
	{"JOB_COMPLETION_INDEX", "", true},               // Kubernetes Indexed Job: total given as auto/N
}

// parseShard reads K/N, auto or auto/N.
func parseShard(spec string, env func(string) string) (runner.ShardSpec, error) {
	if rest, ok := strings.CutPrefix(spec, "auto"); ok {
		given := 0
		if rest != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(rest, "/"))
			if !strings.HasPrefix(rest, "/") || err != nil || n < 1 {
				return runner.ShardSpec{}, fmt.Errorf("write auto or auto/N with N the number of parts")
			}
			given = n
		}
		for _, v := range ciShardVars {
			idx := env(v.index)
			if idx == "" {
				continue
			}
			k, err := strconv.Atoi(idx)
			if err != nil {
				return runner.ShardSpec{}, fmt.Errorf("%s=%q is not a number", v.index, idx)
			}
			if v.zeroBased {
				k++
			}
			n := given
			if v.total != "" && env(v.total) != "" {
				t, err := strconv.Atoi(env(v.total))
				if err != nil {
					return runner.ShardSpec{}, fmt.Errorf("%s=%q is not a number", v.total, env(v.total))
				}
				if given != 0 && t != given {
					return runner.ShardSpec{}, fmt.Errorf("%s=%d says %d parts, auto/%d says %d", v.total, t, t, given, given)
				}
				n = t
			}
			if n == 0 {
				return runner.ShardSpec{}, fmt.Errorf("%s gives this job's index but nothing gives the number of parts: write --shard=auto/N", v.index)
			}
			part := runner.ShardSpec{K: k, N: n}
			if err := part.Valid(); err != nil {
				return runner.ShardSpec{}, fmt.Errorf("%s=%s: %v", v.index, idx, err)
			}
			return part, nil
		}
		return runner.ShardSpec{}, fmt.Errorf("no CI variable gives this job's index (CI_NODE_INDEX, CIRCLE_NODE_INDEX, TEST_SHARD_INDEX or JOB_COMPLETION_INDEX): write --shard=K/N, with K from your CI's matrix")
	}
	ks, ns, ok := strings.Cut(spec, "/")
	k, errK := strconv.Atoi(ks)
	n, errN := strconv.Atoi(ns)
	if !ok || errK != nil || errN != nil {
		return runner.ShardSpec{}, fmt.Errorf("write K/N, such as 2/3 for the second of three parts, or auto")
	}
	part := runner.ShardSpec{K: k, N: n}
	return part, part.Valid()
}

// touchBazelShardFile tells Bazel that the test runner shards, as its test
// encyclopedia asks of runners that honour TEST_SHARD_INDEX.
func touchBazelShardFile(env func(string) string) {
	if p := env("TEST_SHARD_STATUS_FILE"); p != "" && env("TEST_SHARD_INDEX") != "" {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
}
