package main

import (
	"testing"
	"time"

	"github.com/nettest/nettest/bench/internal/launcher"
)

// TestVerdict covers the targets of issue 11 as the rows show them.
func TestVerdict(t *testing.T) {
	use := func(wall, cpu time.Duration, mib int64) launcher.Usage {
		return launcher.Usage{Wall: wall, CPU: cpu, PeakRSS: mib << 10}
	}
	floor := row{runner: runner{role: roleFloor}, usage: use(time.Second, time.Second, 10)}
	nettest := func(u launcher.Usage) row { return row{runner: runner{role: roleNettest}, usage: u} }
	goss := row{runner: runner{role: roleGoss}, usage: use(2*time.Second, time.Second, 20)}
	ms := time.Millisecond
	for _, c := range []struct {
		name         string
		w            workload
		rows         []row
		target, held string
	}{
		{"tcp within", workload{"tcp", 10000}, []row{floor, nettest(use(1500*ms, 1400*ms, 29))}, "≤1.5× wall and CPU, ≤2 KiB/check", "held"},
		{"tcp over", workload{"tcp", 10240}, []row{floor, nettest(use(3*time.Second, 1200*ms, 160))}, "≤1.5× wall and CPU, ≤2 KiB/check", "NOT held: wall 3.00×, 15.0 KiB/check"},
		{"dns beats goss", workload{"dns", 1000}, []row{floor, nettest(use(1200*ms, 1100*ms, 30)), goss}, "≤1.5× wall and CPU, wall < goss", "held"},
		{"http slower than goss", workload{"http", 1000}, []row{floor, nettest(use(1400*ms, 1600*ms, 30)), row{runner: runner{role: roleGoss}, usage: use(1300*ms, time.Second, 20)}}, "≤1.5× wall and CPU, wall < goss", "NOT held: CPU 1.60×, wall 1.08× goss's (CPU 1.60×)"},
		{"no goss", workload{"http", 1000}, []row{floor, nettest(use(time.Second, time.Second, 30))}, "≤1.5× wall and CPU, wall < goss", "NOT held: no goss in this run"},
		{"start-up", workload{"load", 1}, []row{floor, nettest(use(8*ms, 7*ms, 15))}, "≤10 ms", "held"},
		{"start-up under load", workload{"load", 1}, []row{floor, nettest(use(30*ms, 8*ms, 15))}, "≤10 ms", "NOT held: wall 30ms (CPU 8ms would hold)"},
		{"start-up just over", workload{"load", 1}, []row{floor, nettest(use(10340*time.Microsecond, 9960*time.Microsecond, 15))}, "≤10 ms", "NOT held: wall 10.3ms (CPU 10ms would hold)"},
		{"load 100000", workload{"load", 100000}, []row{floor, nettest(use(900*ms, 1500*ms, 977))}, "≤1 s, ≤300 MiB", "NOT held: 977 MiB"},
		{"load at another N", workload{"load", 10000}, []row{floor, nettest(use(time.Second, time.Second, 100))}, "none at this N", "-"},
		{"foreach", workload{"foreach", 50000}, []row{floor, nettest(use(2500*ms, 2*time.Second, 250))}, "≤1 s", "NOT held: wall 2.5s"},
		{"the floor", workload{"tcp", 10000}, []row{floor}, "-", "-"},
	} {
		// The row judged is the second, nettest's (the first, the floor,
		// when it is alone).
		target, held := verdict(c.w, c.rows[min(1, len(c.rows)-1)], c.rows)
		if target != c.target || held != c.held {
			t.Errorf("%s: got %q, %q; want %q, %q", c.name, target, held, c.target, c.held)
		}
	}
}
