package ulimit

import (
	"context"
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
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sys/unix"
)

// rlimits maps limit names to the resource numbers of getrlimit(2).
var rlimits = map[string]int{
	"cpu": unix.RLIMIT_CPU, "fsize": unix.RLIMIT_FSIZE, "data": unix.RLIMIT_DATA,
	"stack": unix.RLIMIT_STACK, "core": unix.RLIMIT_CORE, "rss": unix.RLIMIT_RSS,
	"nproc": unix.RLIMIT_NPROC, "nofile": unix.RLIMIT_NOFILE, "memlock": unix.RLIMIT_MEMLOCK,
	"as": unix.RLIMIT_AS, "locks": unix.RLIMIT_LOCKS, "sigpending": unix.RLIMIT_SIGPENDING,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME,
}

func asLimit(v uint64) int64 {
	if v == unix.RLIM_INFINITY {
		return Unlimited
	}
	return int64(v)
}

// TestOwnLimits reads nettest's own limits (neither pid nor process) and
// compares every one with what getrlimit(2) says.
func TestOwnLimits(t *testing.T) {
	r, err := Probe(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if r.PID != os.Getpid() || r.Matched != 1 || r.Process == "" {
		t.Fatalf("pid %d, matched %d, process %q; want this test's PID %d", r.PID, r.Matched, r.Process, os.Getpid())
	}
	for _, l := range Limits {
		var lim unix.Rlimit
		if err := unix.Getrlimit(rlimits[l.Name], &lim); err != nil {
			t.Fatal(err)
		}
		if got, want := r.Soft[l.Name], asLimit(lim.Cur); got != want {
			t.Errorf("%s = %d, getrlimit says %d", l.Name, got, want)
		}
		if got, want := r.Hard[l.Name], asLimit(lim.Max); got != want {
			t.Errorf("%s_hard = %d, getrlimit says %d", l.Name, got, want)
		}
	}
	obj := r.Object()
	if !obj.Type().Equals(resultType()) {
		t.Fatalf("result type %#v differs from the declared one", obj.Type())
	}
	if got := checks.Show(obj.GetAttr("nofile")); got != strconv.FormatInt(r.Soft["nofile"], 10) {
		t.Errorf("nofile field = %s", got)
	}
}

// startProbe starts a copy of sleep under the given name with open files
// limited to soft:hard by the shell, waits until it runs under its own name,
// and kills it at cleanup.
func startProbe(t *testing.T, name string, soft, hard int) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep program:", err)
	}
	bin := filepath.Join(t.TempDir(), name)
	copyFile(t, sleep, bin)
	// The soft limit goes down first: it may never exceed the hard one.
	cmd := exec.Command("sh", "-c", `ulimit -S -n "$1" && ulimit -H -n "$2" && exec "$3" 30`, "sh",
		strconv.Itoa(soft), strconv.Itoa(hard), bin)
	// A file, not a buffer: the shell writes it while the test may read it.
	stderr, err := os.Create(bin + ".stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	// The kernel cuts comm to 15 bytes.
	comm := name
	if len(comm) > 15 {
		comm = comm[:15]
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if strings.TrimSpace(string(b)) == comm {
			return pid
		}
		if time.Now().After(deadline) {
			msg, _ := os.ReadFile(stderr.Name())
			t.Fatalf("process %d did not exec %s within 5s (comm %q, stderr %q)", pid, bin, b, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestChildProcess(t *testing.T) {
	name := "nettest-ulimit-probe-" + strconv.Itoa(os.Getpid())
	pid := startProbe(t, name, 512, 1000)

	kind, _ := checks.Lookup("ulimit")
	byPID := cty.ObjectVal(map[string]cty.Value{"pid": cty.NumberIntVal(int64(pid)), "process": cty.NullVal(cty.String)})
	byName := cty.ObjectVal(map[string]cty.Value{"pid": cty.NullVal(cty.Number), "process": cty.StringVal(name)})

	tests := []struct {
		name   string
		expect map[string]cty.Value
		diffs  []checks.Diff
	}{
		{name: "met", expect: map[string]cty.Value{
			"nofile_min": cty.NumberIntVal(512), "nofile_max": cty.NumberIntVal(512),
			"nofile_hard_min": cty.NumberIntVal(1000), "nofile_hard_max": cty.StringVal("1000"),
		}},
		{name: "missed", expect: map[string]cty.Value{
			"nofile_min": cty.NumberIntVal(65536), "nofile_hard_min": cty.StringVal("unlimited"),
		}, diffs: []checks.Diff{
			{Field: "nofile", Expected: "at least 65536", Actual: fmt.Sprintf("512 (of %q (PID %d))", name[:15], pid)},
			{Field: "nofile_hard", Expected: `at least "unlimited"`, Actual: fmt.Sprintf("1000 (of %q (PID %d))", name[:15], pid)},
		}},
	}
	for _, args := range []cty.Value{byPID, byName} {
		v, err := kind.Probe.Call(context.Background(), args)
		if err != nil {
			t.Fatalf("probe %s: %v", checks.Show(args), err)
		}
		if got := v.GetAttr("pid"); !got.Equals(cty.NumberIntVal(int64(pid))).True() {
			t.Fatalf("probe %s read PID %s, want %d", checks.Show(args), checks.Show(got), pid)
		}
		if got := v.GetAttr("process").AsString(); got != name[:15] {
			t.Errorf("process = %q, want %q", got, name[:15])
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				diffs := kindtest.Verdict(t, "ulimit", v, tt.expect)
				if !slices.Equal(diffs, tt.diffs) {
					t.Errorf("diffs = %+v\nwant    %+v", diffs, tt.diffs)
				}
			})
		}
	}
}

// TestOldestOfSeveral starts two processes of one name: the older one is read.
func TestOldestOfSeveral(t *testing.T) {
	name := "ntul" + strconv.Itoa(os.Getpid())
	older := startProbe(t, name, 100, 200)
	time.Sleep(30 * time.Millisecond) // a later start time, in 10 ms clock ticks
	startProbe(t, name, 300, 400)

	r, err := Probe(context.Background(), Config{Process: &name})
	if err != nil {
		t.Fatal(err)
	}
	if r.PID != older || r.Matched != 2 || r.Soft["nofile"] != 100 || r.Hard["nofile"] != 200 {
		t.Fatalf("read PID %d (matched %d, nofile %d:%d), want the older %d (matched 2, nofile 100:200)",
			r.PID, r.Matched, r.Soft["nofile"], r.Hard["nofile"], older)
	}
}

func TestUnlimited(t *testing.T) {
	result := Result{Soft: map[string]int64{"core": Unlimited, "nofile": 1024}, Hard: map[string]int64{"core": Unlimited, "nofile": Unlimited}}.Object()
	tests := []struct {
		name   string
		expect map[string]cty.Value
		diffs  []checks.Diff
	}{
		{name: "unlimited is at least any number", expect: map[string]cty.Value{"core_min": cty.NumberIntVal(1 << 40), "nofile_hard_min": cty.NumberIntVal(1 << 20)}},
		{name: "unlimited spelled -1", expect: map[string]cty.Value{"core_min": cty.NumberIntVal(-1), "core_max": cty.NumberIntVal(-1)}},
		{name: "unlimited spelled out", expect: map[string]cty.Value{"core_hard_min": cty.StringVal("unlimited")}},
		{name: "unlimited is more than a maximum", expect: map[string]cty.Value{"core_max": cty.NumberIntVal(0)},
			diffs: []checks.Diff{{Field: "core", Expected: "at most 0", Actual: `"unlimited"`}}},
		{name: "a number is less than unlimited", expect: map[string]cty.Value{"nofile_min": cty.StringVal("unlimited")},
			diffs: []checks.Diff{{Field: "nofile", Expected: `at least "unlimited"`, Actual: "1024"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs := kindtest.Verdict(t, "ulimit", result, tt.expect)
			if !slices.Equal(diffs, tt.diffs) {
				t.Errorf("diffs = %+v\nwant    %+v", diffs, tt.diffs)
			}
		})
	}
}

func TestValidLimit(t *testing.T) {
	tests := []struct {
		v   cty.Value
		err string
	}{
		{v: cty.NumberIntVal(1024)},
		{v: cty.NumberIntVal(0)},
		{v: cty.NumberIntVal(-1)},
		{v: cty.StringVal("unlimited")},
		{v: cty.StringVal("4096")},
		{v: cty.NumberIntVal(-2), err: "a limit is a whole number from 0 up"},
		{v: cty.NumberFloatVal(1.5), err: "a limit is a whole number from 0 up"},
		{v: cty.StringVal("lots"), err: `"lots" is not a limit`},
		{v: cty.True, err: "not bool"},
	}
	for _, tt := range tests {
		err := ValidLimit(tt.v)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", checks.Show(tt.v), err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want one containing %q", checks.Show(tt.v), err, tt.err)
		}
	}
}

func TestProbeErrors(t *testing.T) {
	pidMax := 4194304
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		pidMax, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	// PIDs are below pid_max, so this one cannot be running.
	missing := pidMax
	absent := "nettest-no-such-process"
	one := 1
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{name: "no such name", cfg: Config{Process: &absent}, err: "no process named nettest-no-such-process is running"},
		{name: "no such pid", cfg: Config{PID: &missing}, err: "no process with PID " + strconv.Itoa(missing) + " is running"},
		{name: "both", cfg: Config{PID: &one, Process: &absent}, err: "give pid or process, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Probe(context.Background(), tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("error = %v, want one starting %q", err, tt.err)
			}
		})
	}
}

func TestFindOwnProcess(t *testing.T) {
	self, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	pids, err := FindProcess(context.Background(), strings.TrimSpace(string(self)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, os.Getpid()) {
		t.Fatalf("FindProcess(%q) = %v, which lacks this test's PID %d", self, pids, os.Getpid())
	}
}

// BenchmarkFindProcess measures one scan of /proc for a name, the cost of
// every ulimit check that names a process.
func BenchmarkFindProcess(b *testing.B) {
	for b.Loop() {
		if _, err := FindProcess(context.Background(), "nettest-no-such-process"); err != nil {
			b.Fatal(err)
		}
	}
}
