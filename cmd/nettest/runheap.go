package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// collectBeforeRun is the number of checks from which the test command
// collects garbage once, between loading and running: below it the heap is
// small and the collection would cost more than it saves.
const collectBeforeRun = 5000

// minRunHeapGoal is the least heap goal a run starts with (see readyHeap).
const minRunHeapGoal = 12 << 20

// readyHeap sets the collector up for a run of n checks, once the suite is
// loaded and planned (loadPlanDiags has let go of the syntax trees and the
// files' text):
//
//   - From collectBeforeRun checks it collects once: the run would
//     otherwise start with a heap goal of twice what was live at the last
//     collection, during loading, with the trees still held. 50,000 tcp
//     checks: peak RSS 107-109 -> 92-93 MiB, CPU no higher (3 alternating
//     runs each); 10,000: 35.8 -> 33.0 MiB, CPU within noise (medians of
//     14).
//   - The GC target stays 100 unless the heap goal would then be under
//     minRunHeapGoal: the runtime's own least goal is 4 MiB, and a run of
//     1,000 DNS checks (~3 MB live, ~7 MB allocated) was collected three
//     times, each time with 50 goroutines parked in network waits to scan:
//     10% of its CPU (104.8 -> 93.8 ms with the target at 200, the peak
//     27.1 -> 27.4 MiB; medians of 16). A GOGC the user set is left alone.
func readyHeap(n int) {
	if n >= collectBeforeRun {
		runtime.GC()
	}
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	// The heap marked live by the last collection; before any, what the
	// heap holds, garbage and all (more than is live).
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	var live uint64
	for _, s := range sample {
		if live == 0 && s.Value.Kind() == metrics.KindUint64 {
			live = s.Value.Uint64()
		}
	}
	debug.SetGCPercent(runGCPercent(live))
}

// runGCPercent is the GC target for a run whose live heap is live bytes:
// 100, or what makes the heap goal minRunHeapGoal when 100 would make it
// less.
func runGCPercent(live uint64) int {
	if live == 0 || 2*live >= minRunHeapGoal {
		return 100
	}
	return int(((minRunHeapGoal-live)*100 + live - 1) / live) // rounded up
}
