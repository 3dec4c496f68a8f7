package checktest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
)

// starvedEnv tells a child test process that it is RunStarved's child, and
// carries the suite to run.
const starvedEnv = "CHECKTEST_STARVED_SUITE"

// starvedLine starts each outcome line the child prints.
const starvedLine = "STARVED-OUTCOME "

// RunStarved runs src like Run, but in a child test process (the test
// binary again, running only the calling test) whose open-files limit is
// used up after the suite is loaded and before any check runs: what a
// check sees when --parallelism outgrows `ulimit -n`. Servers the suite
// talks to run in the parent test, so they still have descriptors. It
// returns the outcomes with their status, message and diffs.
//
// In the child, RunStarved prints the outcomes and skips the rest of the
// calling test, so call it before anything the child should not do.
func RunStarved(t *testing.T, src string) map[string]runner.Outcome {
	t.Helper()
	if child := os.Getenv(starvedEnv); child != "" {
		runStarvedChild(t, child)
		t.SkipNow()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), starvedEnv+"="+src)
	out, err := cmd.CombinedOutput()
	outcomes := map[string]runner.Outcome{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), starvedLine)
		if !ok {
			continue
		}
		var o starvedOutcome
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("the child printed an outcome that does not parse: %v\n%s", err, line)
		}
		outcomes[o.Address] = runner.Outcome{Address: o.Address, Status: o.Status, Message: o.Message, Diffs: o.Diffs}
	}
	if err != nil || len(outcomes) == 0 {
		t.Fatalf("the child test process failed (%v) or reported nothing:\n%s", err, out)
	}
	return outcomes
}

func runStarvedChild(t *testing.T, src string) {
	plan, diags := plan(t, src)
	if diags.HasErrors() {
		t.Fatalf("the suite does not load:\n%s", Text(diags))
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = min(lim.Max, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	for range lim.Cur {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break // EMFILE: every descriptor is taken
		}
		held = append(held, f)
	}
	rec := &recorder{outcomes: map[string]runner.Outcome{}}
	plan.Run(context.Background(), runner.Options{Reporter: rec})
	for _, f := range held {
		f.Close()
	}
	for _, o := range rec.outcomes {
		line, _ := json.Marshal(starvedOutcome{Address: o.Address, Status: o.Status, Message: o.Message, Diffs: o.Diffs})
		fmt.Printf("%s%s\n", starvedLine, line)
	}
}

// starvedOutcome is what the child reports of an outcome.
type starvedOutcome struct {
	Address string
	Status  runner.Status
	Message string
	Diffs   []checks.Diff
}
