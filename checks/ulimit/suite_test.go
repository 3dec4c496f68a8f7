package ulimit_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
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
	pid := startSleeper(t, name)
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
	tests := []struct {
		address string
		status  runner.Status
		message string
		diffs   []checks.Diff
	}{
		{address: "ulimit.self", status: runner.Pass},
		{address: "ulimit.by_pid", status: runner.Pass},
		{address: "ulimit.by_name", status: runner.Fail, diffs: []checks.Diff{
			{Field: "nofile", Expected: "at least 4096", Actual: "512"},
			{Field: "nofile_hard", Expected: `at least "unlimited"`, Actual: "1000"},
		}},
		{address: "ulimit.nginx", status: runner.Error, message: "no process named nettest-no-such-process is running"},
	}
	for _, tt := range tests {
		o, ok := outcomes[tt.address]
		if !ok {
			t.Errorf("%s: no outcome", tt.address)
			continue
		}
		// The order of diffs is the runner's; compare them as a set.
		slices.SortFunc(o.Diffs, func(a, b checks.Diff) int { return strings.Compare(a.Field, b.Field) })
		if o.Status != tt.status || !strings.Contains(o.Message, tt.message) || !slices.Equal(o.Diffs, tt.diffs) {
			t.Errorf("%s: %s %q %+v\nwant %s containing %q %+v", tt.address, o.Status, o.Message, o.Diffs, tt.status, tt.message, tt.diffs)
		}
	}
}

// TestInvalidLimit: a limit that is neither a number nor "unlimited" is
// refused before anything runs.
func TestInvalidLimit(t *testing.T) {
	diags := checktest.Load(t, `
ulimit "self" {
  expect {
    nofile_min = "lots"
  }
}
`)
	if text := checktest.Text(diags); !diags.HasErrors() || !strings.Contains(text, `"lots" is not a limit`) {
		t.Fatalf("diagnostics:\n%s", text)
	}
}

// startSleeper runs a copy of sleep named name with open files limited to
// 512 (hard 1000), waits until it runs under that name, and kills it by
// PID at cleanup.
func startSleeper(t *testing.T, name string) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep program:", err)
	}
	bin := filepath.Join(t.TempDir(), name)
	in, err := os.Open(sleep)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `ulimit -S -n 512 && ulimit -H -n 1000 && exec "$0" 30`, bin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if strings.TrimSpace(string(b)) == name[:15] {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not exec %s within 5s", pid, bin)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
