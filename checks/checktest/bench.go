package checktest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// Parallel calls do for 0 … n-1 on p goroutines, as the runner and the
// bare loops of the kinds' benchmarks work, and fails b on the first error.
func Parallel(b *testing.B, n, p int, do func(i int) error) {
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range p {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					failed.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// ParallelOps is the body of a benchmark whose op is do for 0 … n-1 on p
// goroutines: it reports allocations and cpu-ms/op beside the wall time.
func ParallelOps(b *testing.B, n, p int, do func(i int) error) {
	b.ReportAllocs()
	var cpu CPUClock
	defer cpu.Report(b)
	for b.Loop() {
		cpu.Start()
		Parallel(b, n, p, do)
		cpu.Stop()
	}
}

// RunPlans loads src once per op, untimed, and times the run of its plan
// with the JSON-lines report of nettest test --json, written to nowhere;
// every one of the n checks must pass.
func RunPlans(b *testing.B, src string, n, parallelism int) {
	file := filepath.Join(b.TempDir(), "bench"+schema.FileSuffix)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var cpu CPUClock
	defer cpu.Report(b)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		plan := PlanOf(b, file)
		b.StartTimer()
		cpu.Start()
		sum := plan.Run(context.Background(), runner.Options{Parallelism: parallelism, Reporter: report.NewJSON(io.Discard)})
		cpu.Stop()
		if sum.Passed != n {
			b.Fatalf("%d of %d passed: %+v", sum.Passed, n, sum)
		}
	}
}

// PlanOf loads the suite file and plans all of it, failing tb on any error.
func PlanOf(tb testing.TB, file string) *runner.Plan {
	tb.Helper()
	suite, diags := schema.Load([]string{file}, schema.Options{})
	if diags.HasErrors() {
		tb.Fatal(diags.Error())
	}
	plan, diags := runner.NewPlan(suite, nil)
	if diags.HasErrors() {
		tb.Fatal(diags.Error())
	}
	return plan
}

// CPUClock adds up the CPU time (user and system) of the process over the
// timed parts of a benchmark, and reports it per op as cpu-ms/op: on a
// machine shared with other work, CPU time is steadier than wall time.
type CPUClock struct {
	from, total time.Duration
}

// Start begins a timed part.
func (c *CPUClock) Start() { c.from = ProcessCPU() }

// Stop ends it.
func (c *CPUClock) Stop() { c.total += ProcessCPU() - c.from }

// Report adds cpu-ms/op to b's figures.
func (c *CPUClock) Report(b *testing.B) {
	b.ReportMetric(float64(c.total.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// ProcessCPU is the CPU time (user and system) the process has used.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
