package http_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	nhttp "github.com/nettest/nettest/checks/http"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// BenchmarkRequests1000 measures 1,000 GETs to one server on loopback, 50
// at a time, as bench/peers runs them (one op is the 1,000), each on a new
// connection: the bare loop (one http.Client without keep-alives: floor),
// the kind's Probe function on its Go Config (probe), the probe as the
// runner calls it, its arguments decoded from cty and its result encoded
// to cty by checks.Typed (typed), and the whole runner on a loaded plan
// with the JSON report, loading not timed (runner). The server runs in the
// same process, so its cost is in every row alike.
//
//	go test ./checks/http -run '^$' -bench Requests1000 -benchmem
func BenchmarkRequests1000(b *testing.B) {
	const n, parallelism = 1000, 50
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }))
	b.Cleanup(srv.Close)
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/c%d", srv.URL, i)
	}

	b.Run("floor", func(b *testing.B) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
		b.ReportAllocs()
		var cpu cpuClock
		defer cpu.report(b)
		for b.Loop() {
			cpu.start()
			parallel(b, n, parallelism, func(i int) error {
				resp, err := client.Get(urls[i])
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return nil
			})
			cpu.stop()
		}
	})

	b.Run("probe", func(b *testing.B) {
		b.ReportAllocs()
		var cpu cpuClock
		defer cpu.report(b)
		for b.Loop() {
			cpu.start()
			parallel(b, n, parallelism, func(i int) error {
				ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), 5*time.Second), 5*time.Second)
				defer cancel()
				_, err := nhttp.Probe(ctx, nhttp.Config{URL: urls[i], Method: "GET", Headers: map[string]string{}, BodyLimit: nhttp.DefaultBodyLimit})
				return err
			})
			cpu.stop()
		}
	})

	b.Run("typed", func(b *testing.B) {
		k, _ := checks.Lookup("http")
		args := make([]cty.Value, n)
		for i := range args {
			args[i] = argsWith(k, map[string]cty.Value{"url": cty.StringVal(urls[i])})
		}
		b.ReportAllocs()
		var cpu cpuClock
		defer cpu.report(b)
		for b.Loop() {
			cpu.start()
			parallel(b, n, parallelism, func(i int) error {
				ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), 5*time.Second), 5*time.Second)
				defer cancel()
				_, err := checks.Local.Probe(ctx, k, args[i])
				return err
			})
			cpu.stop()
		}
	})

	b.Run("runner", func(b *testing.B) {
		var src strings.Builder
		for i, url := range urls {
			fmt.Fprintf(&src, "http \"c%d\" {\n  url = %q\n  expect {\n    status = 200\n  }\n}\n\n", i, url)
		}
		runPlans(b, src.String(), n, parallelism)
	})
}

// argsWith is the object of arguments the loader hands the probe: the
// given ones, the defaults, null for the rest.
func argsWith(k *checks.Kind, given map[string]cty.Value) cty.Value {
	obj := map[string]cty.Value{}
	for _, a := range k.Args {
		v, ok := given[a.Name]
		switch {
		case ok:
		case a.Default != cty.NilVal:
			v = a.Default
		default:
			v = cty.NullVal(a.Type)
		}
		obj[a.Name] = v
	}
	return cty.ObjectVal(obj)
}

// parallel calls do for 0 … n-1 on p goroutines and fails b on the first
// error.
func parallel(b *testing.B, n, p int, do func(i int) error) {
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

// runPlans loads src once per op, untimed, and times the run of its plan
// with the JSON-lines report of nettest test --json, written to nowhere.
func runPlans(b *testing.B, src string, n, parallelism int) {
	file := filepath.Join(b.TempDir(), "bench"+schema.FileSuffix)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var cpu cpuClock
	defer cpu.report(b)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		suite, diags := schema.Load([]string{file}, schema.Options{})
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		plan, diags := runner.NewPlan(suite, nil)
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		b.StartTimer()
		cpu.start()
		sum := plan.Run(context.Background(), runner.Options{Parallelism: parallelism, Reporter: report.NewJSON(io.Discard)})
		cpu.stop()
		if sum.Passed != n {
			b.Fatalf("%d of %d passed: %+v", sum.Passed, n, sum)
		}
	}
}

// cpuClock adds up the CPU time (user and system) of the process over the
// timed parts of a benchmark, and reports it per op as cpu-ms/op: on a
// machine shared with other work, CPU time is steadier than wall time.
type cpuClock struct {
	from, total time.Duration
}

func (c *cpuClock) start() { c.from = processCPU() }
func (c *cpuClock) stop()  { c.total += processCPU() - c.from }

func (c *cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(c.total.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
