package dns_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/dns"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// BenchmarkQueries1000 measures 1,000 A queries to a server on loopback,
// 50 at a time, as bench/peers runs them (one op is the 1,000): the bare
// loop (a miekg client per query: floor), the kind's Probe function on its
// Go Config (probe), the probe as the runner calls it, its arguments
// decoded from cty and its result encoded to cty by checks.Typed (typed),
// and the whole runner on a loaded plan with the JSON report, loading not
// timed (runner). floor and probe differ by what the probe itself costs,
// probe and typed by the conversions, typed and runner by what the runner
// and the report cost per check.
//
//	go test ./checks/dns -run '^$' -bench Queries1000 -benchmem
func BenchmarkQueries1000(b *testing.B) {
	const n, parallelism = 1000, 50
	server := dns.Serve(b, "127.0.0.1", "0", miekg.HandlerFunc(func(w miekg.ResponseWriter, req *miekg.Msg) {
		m := new(miekg.Msg)
		m.SetReply(req)
		m.Authoritative = true
		m.Answer = []miekg.RR{&miekg.A{
			Hdr: miekg.RR_Header{Name: req.Question[0].Name, Rrtype: miekg.TypeA, Class: miekg.ClassINET, Ttl: 60},
			A:   []byte{127, 0, 0, 1},
		}}
		w.WriteMsg(m)
	}), false)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("c%d.bench.test", i)
	}

	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		var cpu cpuClock
		defer cpu.report(b)
		for b.Loop() {
			cpu.start()
			parallel(b, n, parallelism, func(i int) error {
				c := &miekg.Client{Timeout: 5 * time.Second}
				m := new(miekg.Msg)
				m.SetQuestion(miekg.Fqdn(names[i]), miekg.TypeA)
				r, _, err := c.Exchange(m, server)
				if err == nil && (len(r.Answer) != 1 || r.Answer[0].(*miekg.A).A.String() != "127.0.0.1") {
					err = fmt.Errorf("unexpected answer %v", r.Answer)
				}
				return err
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
				_, err := dns.Probe(ctx, dns.Config{Name: names[i], Type: "A", Server: &server, Protocol: "udp", RecursionDesired: true})
				return err
			})
			cpu.stop()
		}
	})

	b.Run("typed", func(b *testing.B) {
		k, _ := checks.Lookup("dns")
		args := make([]cty.Value, n)
		for i := range args {
			args[i] = cty.ObjectVal(map[string]cty.Value{
				"name":              cty.StringVal(names[i]),
				"type":              cty.StringVal("A"),
				"server":            cty.StringVal(server),
				"protocol":          cty.StringVal("udp"),
				"recursion_desired": cty.True,
			})
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
		for i, name := range names {
			fmt.Fprintf(&src, "dns \"c%d\" {\n  name   = %q\n  server = %q\n  expect {\n    answers = [\"127.0.0.1\"]\n  }\n}\n\n", i, name, server)
		}
		runPlans(b, src.String(), n, parallelism)
	})
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
