package tcp_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// BenchmarkRun measures the run phase of `nettest test --json` on b.N tcp
// checks against loopback, half to listeners that accept and close, half
// to closed ports, 50 at a time (bench/peers' parallelism), beside its
// floor: the same dials as a bare loop. Loading is not timed (the schema
// package's BenchmarkLoad and bench/peers measure it). Each sub-benchmark
// reports its wall time, CPU time (user and system, cpu-ns/op) and
// allocations per check; "runner" also reports its wall time as a multiple
// of the floor measured just before it.
//
//	go test ./checks/tcp -run '^$' -bench Run -benchmem -benchtime 10000x
func BenchmarkRun(b *testing.B) {
	var floor time.Duration
	b.Run("floor", func(b *testing.B) {
		targets := benchTargets(b)
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu := time.Now(), checktest.ProcessCPU()
		bareDials(targets)
		floor = time.Since(start) / time.Duration(b.N)
		b.ReportMetric(float64(checktest.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("runner", func(b *testing.B) {
		plan := benchPlan(b, benchTargets(b))
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu := time.Now(), checktest.ProcessCPU()
		sum := plan.Run(context.Background(), runner.Options{Parallelism: benchParallelism, Reporter: report.NewJSON(io.Discard)})
		per := time.Since(start) / time.Duration(b.N)
		b.StopTimer()
		b.ReportMetric(float64(checktest.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
		if sum.Passed != b.N {
			b.Fatalf("%d of %d passed: %+v", sum.Passed, b.N, sum)
		}
		if floor > 0 {
			b.ReportMetric(float64(per)/float64(floor), "×floor")
		}
	})
}

const benchParallelism = 50

// benchTargets are b.N loopback addresses, alternately open and closed.
func benchTargets(b *testing.B) []string {
	open := make([]int, 50)
	for i := range open {
		open[i] = lab.OpenPort(b, "tcp", "127.0.0.1:0")
	}
	closed := make([]int, 50)
	for i := range closed {
		closed[i] = lab.ClosedPort(b, "tcp", "127.0.0.1:0")
	}
	targets := make([]string, b.N)
	for i := range targets {
		p := open[i%len(open)]
		if i%2 == 1 {
			p = closed[i%len(closed)]
		}
		targets[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return targets
}

// benchPlan loads and plans a suite of one tcp check per target, as
// bench/peers writes it.
func benchPlan(b *testing.B, targets []string) *runner.Plan {
	var src strings.Builder
	src.WriteString("defaults {\n  timeout = \"5s\"\n}\n\n")
	for i, t := range targets {
		_, p, _ := net.SplitHostPort(t)
		fmt.Fprintf(&src, "tcp \"c%d\" {\n  host = \"127.0.0.1\"\n  port = %s\n  expect {\n    open = %t\n  }\n}\n\n", i, p, i%2 == 0)
	}
	file := filepath.Join(b.TempDir(), "bench"+schema.FileSuffix)
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return checktest.PlanOf(b, file)
}

// bareDials is the floor: benchParallelism workers dialing each target
// once under a timeout, as bench/peers' bare Go loop does.
func bareDials(targets []string) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range benchParallelism {
		wg.Go(func() {
			var d net.Dialer
			for t := range work {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if c, err := d.DialContext(ctx, "tcp", t); err == nil {
					c.Close()
				}
				cancel()
			}
		})
	}
	for _, t := range targets {
		work <- t
	}
	close(work)
	wg.Wait()
}
