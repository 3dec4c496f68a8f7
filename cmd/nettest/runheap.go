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

// minRunHeapGoal is the least heap goal a run starts with (see readyHeap):
// the goal the figures below were measured with, as it turned out (the
// target was meant to make it 12 MiB and made it 15-16 MB). A run of 1,000
// http checks allocates about 13 MB: collected once at 16 MiB, twice at
// 12 MiB, 11 ms more CPU (bench/peers, medians of 15).
const minRunHeapGoal = 16 << 20

// minCollectedRunHeapGoal is the least goal of a run of collectBeforeRun
// checks or more, which starts from a collection: what the goal allows
// over its known live heap is what its peak grows by, and a run of that
// size is judged by its memory per check too (tcp 10,000: 31.3 MiB at
// 12 MiB, 33.0 MiB at 16).
const minCollectedRunHeapGoal = 12 << 20

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
//     minRunHeapGoal (minCollectedRunHeapGoal after that collection): the
//     runtime's own least goal is 4 MiB, and a run of 1,000 DNS checks
//     (~3 MB live, ~7 MB allocated) was collected three times, each time
//     with 50 goroutines parked in network waits to scan: 10% of its CPU
//     (104.8 -> 93.8 ms with the target at 200, the peak 27.1 -> 27.4 MiB;
//     medians of 16). A GOGC the user set is left alone.
//
// The target is worked out from the runtime's own heap goal (see
// runGCPercent), not from the live heap alone: a target taken as
// goal/live - 1 made the goal 4 MiB per 100 before the first collection,
// and so grew as loading left less garbage to count as live (1,000 http
// checks: a goal of 19 MB and 3 MB more peak RSS once loading allocated a
// quarter less).
func readyHeap(n int) {
	if n >= collectBeforeRun {
		runtime.GC()
	}
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
	metrics.Read(sample)
	var v [4]uint64
	for i, s := range sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	least := uint64(minRunHeapGoal)
	if n >= collectBeforeRun {
		least = minCollectedRunHeapGoal
	}
	debug.SetGCPercent(runGCPercent(least, v[0] > 0, v[1], v[2]+v[3]))
}

// runGCPercent is the least GC target, 100 at the least, that makes the
// runtime's heap goal least. The goal is the larger of 4 MiB per
// 100 of the target (the runtime's least goal) and, once a collection has
// marked live bytes live, live plus (live and the roots, stacks and
// globals, scanned) times target/100.
func runGCPercent(least uint64, collected bool, live, roots uint64) int {
	pct := (100*least + leastHeapGoal - 1) / leastHeapGoal // from the runtime's least goal alone
	switch {
	case collected && live >= least:
		pct = 100
	case collected:
		pct = min(pct, ((least-live)*100+live+roots-1)/(live+roots)) // rounded up
	}
	return int(max(pct, 100))
}

// leastHeapGoal is the runtime's least heap goal at the target 100.
const leastHeapGoal = 4 << 20
