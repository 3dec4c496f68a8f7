package ping

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// benchTargets is how many loopback addresses the benchmarks ping at once:
// 127.0.1.1 and up, all answered by the loopback interface.
const benchTargets = 1000

func benchAddr(i int) string {
	return fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250)
}

// cpuTime is the user plus system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runBench pings benchTargets addresses concurrently with ping and reports
// CPU time and lost replies per round.
func runBench(b *testing.B, ping func(ctx context.Context, host string) (sent, received int, err error)) {
	var cpu time.Duration
	var lost atomic.Int64
	for b.Loop() {
		before := cpuTime()
		var wg sync.WaitGroup
		for i := range benchTargets {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				sent, received, err := ping(ctx, benchAddr(i))
				if err != nil {
					b.Error(err)
				}
				lost.Add(int64(sent - received))
			})
		}
		wg.Wait()
		cpu += cpuTime() - before
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(lost.Load())/float64(b.N), "lost/op")
}

// BenchmarkProbe1000 measures this package's probe: one shared raw socket
// (as root) or one datagram socket per check.
func BenchmarkProbe1000(b *testing.B) {
	runBench(b, func(ctx context.Context, host string) (int, int, error) {
		r, err := Probe(ctx, Config{Host: host, Packets: 3, Interval: "200ms", Size: DefaultSize})
		return r.Sent, r.Received, err
	})
}

// BenchmarkProbe1000Single is BenchmarkProbe1000 with one packet per
// check: the cost of a check beside the cost of its packets.
func BenchmarkProbe1000Single(b *testing.B) {
	runBench(b, func(ctx context.Context, host string) (int, int, error) {
		r, err := Probe(ctx, Config{Host: host, Packets: 1, Interval: "200ms", Size: DefaultSize})
		return r.Sent, r.Received, err
	})
}

// BenchmarkProBing1000 measures pro-bing's Pinger in privileged (raw socket)
// mode, one socket per check with its BPF identifier filter: the design
// this package avoids.
func BenchmarkProBing1000(b *testing.B) {
	runBench(b, func(ctx context.Context, host string) (int, int, error) {
		p := probing.New(host)
		p.SetPrivileged(true)
		p.SetLogger(probing.NoopLogger{})
		p.Count, p.Interval, p.Size = 3, 200*time.Millisecond, 56
		if err := p.RunWithContext(ctx); err != nil && ctx.Err() == nil {
			return 0, 0, err
		}
		s := p.Statistics()
		return s.PacketsSent, s.PacketsRecv, nil
	})
}
