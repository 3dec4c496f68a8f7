package launcher

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// envAllocate makes the test binary, started as a child, touch that many
// MiB and exit.
const envAllocate = "LAUNCHER_TEST_ALLOCATE_MIB"

func TestMain(m *testing.M) {
	Serve()
	if mib, err := strconv.Atoi(os.Getenv(envAllocate)); err == nil {
		b := make([]byte, mib<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		os.Stdout.WriteString("allocated " + strconv.Itoa(int(b[0])) + "\n")
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// TestPeakRSSIsTheChilds runs a child that touches 64 MiB from a test that
// holds 256 MiB: the child's figure is its own, not the parent's, as it is
// when os/exec starts the child.
func TestPeakRSSIsTheChilds(t *testing.T) {
	const held, allocated = 256, 64
	hold := make([]byte, held<<20)
	for i := 0; i < len(hold); i += 4096 {
		hold[i] = 1
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), envAllocate+"="+strconv.Itoa(allocated))

	l, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out bytes.Buffer
	u, err := l.Run([]string{self}, env, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "allocated 1\n" || u.Exit != 3 {
		t.Errorf("the child wrote %q and exited %d, want %q and 3", out.String(), u.Exit, "allocated 1\n")
	}
	mib := float64(u.PeakRSS) / 1024
	if mib < allocated || mib > allocated+32 || u.Bounded() {
		t.Errorf("peak RSS %.1f MiB (launcher %.1f MiB), want the child's own: %d MiB and its runtime, not the %d MiB the test holds", mib, float64(u.LauncherRSS)/1024, allocated, held)
	}
	if u.Wall <= 0 || u.CPU <= 0 || u.CPU > 10*u.Wall+u.Wall {
		t.Errorf("wall %v, CPU %v", u.Wall, u.CPU)
	}

	// What os/exec's rusage says of the same child, for the record.
	cmd := exec.Command(self)
	cmd.Env = env
	cmd.Run()
	t.Logf("launcher: %.1f MiB (its own peak %.1f MiB); os/exec: %.1f MiB", mib, float64(u.LauncherRSS)/1024, float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024)
	hold[0] = hold[len(hold)-1]
}

// TestRun covers the plumbing: the environment, both outputs, the exit
// status, a signal, and a program that does not exist.
func TestRun(t *testing.T) {
	l, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out, errOut bytes.Buffer
	u, err := l.Run([]string{"sh", "-c", `echo "$X"; echo e >&2; exit 7`}, []string{"PATH=/usr/bin:/bin", "X=x"}, &out, &errOut)
	if err != nil || out.String() != "x\n" || errOut.String() != "e\n" || u.Exit != 7 {
		t.Errorf("got %q, %q, exit %d, %v", out.String(), errOut.String(), u.Exit, err)
	}
	u, err = l.Run([]string{"sh", "-c", "kill -9 $$"}, nil, nil, nil)
	if err != nil || u.Exit != 128+9 {
		t.Errorf("killed: exit %d, %v", u.Exit, err)
	}
	if _, err := l.Run([]string{"/nonexistent/program"}, nil, nil, nil); err == nil {
		t.Error("a program that does not exist ran")
	}
	// The launcher still answers after an error.
	if u, err := l.Run([]string{"true"}, nil, nil, nil); err != nil || u.Exit != 0 {
		t.Errorf("true: exit %d, %v", u.Exit, err)
	}
}
