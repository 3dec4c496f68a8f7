package ulimit_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/ulimit"
	"github.com/nettest/nettest/runner"
	"golang.org/x/sys/unix"
)

// TestSuite runs ulimit blocks as users write them, through the loader and
// the runner: nettest's own limits, and those of a process started with
// open files limited to 512 (hard 1000), found by PID and by name.
func TestSuite(t *testing.T) {
	var own unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &own); err != nil {
		t.Fatal(err)
	}
	name := "nettest-ulimit-probe-" + strconv.Itoa(os.Getpid())
	pid := ulimit.StartProbe(t, name, 512, 1000)
	src := fmt.Sprintf(`
ulimit "self" {
  expect {
    nofile_min      = %[1]d
    nofile_hard_max = %[2]d
  }
}

ulimit "by_pid" {
  pid = %[3]d
  expect {
    nofile_min      = 512
    nofile_hard_min = 1000
    core_max        = "unlimited"
  }
  assert {
    condition     = self.nofile_hard == 1000 && self.process == %[4]q
    error_message = "wrong process"
  }
}

ulimit "by_name" {
  process = %[5]q
  expect {
    nofile_min      = 4096
    nofile_hard_min = "unlimited"
  }
}

ulimit "nginx" {
  process = "nettest-no-such-process"
  expect {
    nofile_min = 1024
  }
}
`, own.Cur, own.Max, pid, name[:15], name)
	outcomes := checktest.Run(t, src)
	// The order of diffs is the runner's; compare them as a set.
	for _, o := range outcomes {
		slices.SortFunc(o.Diffs, func(a, b checks.Diff) int { return strings.Compare(a.Field, b.Field) })
	}
	checktest.Expect(t, outcomes, []checktest.Want{
		{Address: "ulimit.self", Status: runner.Pass},
		{Address: "ulimit.by_pid", Status: runner.Pass},
		{Address: "ulimit.by_name", Status: runner.Fail, Diffs: []checks.Diff{
			{Field: "nofile", Expected: "at least 4096", Actual: fmt.Sprintf("512 (of %q (PID %d))", name[:15], pid)},
			{Field: "nofile_hard", Expected: `at least "unlimited"`, Actual: fmt.Sprintf("1000 (of %q (PID %d))", name[:15], pid)},
		}},
		{Address: "ulimit.nginx", Status: runner.Error, Message: "no process named nettest-no-such-process is running"},
	})
}

// TestInvalidLimit: a limit that is neither a number nor "unlimited" is
// refused before anything runs (testdata/invalid).
func TestInvalidLimit(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}
