package main

import "testing"

// A run's heap goal, live × (1 + target/100), is at least minRunHeapGoal,
// and the target is the usual 100 whenever that already makes it so.
func TestRunGCPercent(t *testing.T) {
	for _, live := range []uint64{1, 1 << 10, 1 << 20, 3 << 20, minRunHeapGoal/2 - 1, minRunHeapGoal / 2, 8 << 20, 1 << 30} {
		pct := runGCPercent(live)
		goal := live + live*uint64(pct)/100
		switch {
		case pct < 100:
			t.Errorf("live %d: target %d, below the usual 100", live, pct)
		case goal < minRunHeapGoal:
			t.Errorf("live %d: target %d makes the goal %d, under %d", live, pct, goal, minRunHeapGoal)
		case pct > 100 && 2*live >= minRunHeapGoal:
			t.Errorf("live %d: target %d, where 100 makes the goal %d already", live, pct, 2*live)
		case pct > 100 && live+live*uint64(pct-1)/100 >= minRunHeapGoal:
			t.Errorf("live %d: target %d is more than it takes", live, pct)
		}
	}
	if got := runGCPercent(0); got != 100 {
		t.Errorf("nothing live: target %d, want 100", got)
	}
}
