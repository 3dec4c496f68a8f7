package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// The goal readyHeap leaves the run with, as the runtime reports it, is
// minRunHeapGoal (no less, and not much more) while the heap is small, and
// twice the live heap, with the usual target, when it is not.
func TestReadyHeapGoal(t *testing.T) {
	if v, set := os.LookupEnv("GOGC"); set {
		os.Unsetenv("GOGC")
		defer os.Setenv("GOGC", v)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	read := func(name string) uint64 {
		s := []metrics.Sample{{Name: name}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	for _, c := range []struct {
		n    int
		want uint64
	}{{0, minRunHeapGoal}, {collectBeforeRun, minCollectedRunHeapGoal}} {
		runtime.GC()
		// What the test process itself holds is usually far less; if it
		// is not, the goal is twice that, which is more than the least.
		want := max(c.want, 2*read("/gc/heap/live:bytes"))
		readyHeap(c.n)
		if g := read("/gc/heap/goal:bytes"); g < want || g > want+want/20 {
			t.Errorf("%d checks: goal %.2f MiB, want %.2f MiB", c.n, float64(g)/(1<<20), float64(want)/(1<<20))
		}
	}
	// A live heap past half the least goal: the usual target.
	var held [][]byte
	for range 2 * minRunHeapGoal >> 20 {
		held = append(held, make([]byte, 1<<20))
	}
	runtime.GC()
	readyHeap(0)
	if pct := debug.SetGCPercent(100); pct != 100 {
		t.Errorf("%d MiB live: target %d, want 100", 2*minRunHeapGoal>>20, pct)
	}
	runtime.KeepAlive(held)
}

// Where the least goal and the goal of what is live cross, the target is
// the least that makes either minRunHeapGoal.
func TestRunGCPercent(t *testing.T) {
	for _, c := range []struct {
		collected   bool
		live, roots uint64
		want        int
	}{
		{false, 0, 0, 400},            // before any collection: 4 MiB per 100
		{false, 50 << 20, 0, 400},     // live is not known yet
		{true, 1 << 20, 1 << 20, 400}, // the least goal gets there first
		{true, 4 << 20, 0, 300},       // 4 + 4 × 3
		{true, 6 << 20, 1 << 20, 143}, // 6 + 7 × 1.43 ≥ 16
		{true, 8 << 20, 0, 100},       // twice what is live
		{true, 100 << 20, 0, 100},     // never below the usual
	} {
		if got := runGCPercent(minRunHeapGoal, c.collected, c.live, c.roots); got != c.want {
			t.Errorf("runGCPercent(%v, %d MiB, %d MiB) = %d, want %d", c.collected, c.live>>20, c.roots>>20, got, c.want)
		}
	}
}
