package tcp_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// The two benchmarks below measure the same work, b.N TCP checks against
// loopback (half open, half closed) with 256 at a time: once through the
// loader's plan and the runner, once as a bare loop of dials. ns/op is the
// cost of one check; their ratio is the runner's overhead. Loading is not
// timed (bench/scale.sh measures it).
//
//	go test ./checks/tcp -run '^$' -bench . -benchtime 10000x

const benchParallelism = 256

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

func BenchmarkRunner(b *testing.B) {
	targets := benchTargets(b)
	var src strings.Builder
	for i, t := range targets {
		_, p, _ := net.SplitHostPort(t)
		fmt.Fprintf(&src, "tcp \"c%d\" {\n  host = \"127.0.0.1\"\n  port = %s\n  expect {\n    open = %t\n  }\n}\n", i, p, i%2 == 0)
	}
	file := filepath.Join(b.TempDir(), "bench"+schema.FileSuffix)
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	suite, diags := schema.Load([]string{file}, schema.Options{})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	plan, diags := runner.NewPlan(suite, nil)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	b.ResetTimer()
	sum := plan.Run(context.Background(), runner.Options{Parallelism: benchParallelism})
	b.StopTimer()
	if sum.Passed != b.N {
		b.Fatalf("%d of %d passed: %+v", sum.Passed, b.N, sum)
	}
}

func BenchmarkBareDial(b *testing.B) {
	targets := benchTargets(b)
	work := make(chan string)
	var wg sync.WaitGroup
	b.ResetTimer()
	for range benchParallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d net.Dialer
			for t := range work {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if c, err := d.DialContext(ctx, "tcp", t); err == nil {
					c.Close()
				}
				cancel()
			}
		}()
	}
	for _, t := range targets {
		work <- t
	}
	close(work)
	wg.Wait()
}
