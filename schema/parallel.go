package schema

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFrom is the number of items from which eachIndex works on more
// than one core: below it, starting goroutines costs more than it saves,
// and a small suite (start-up) loads as before, on one.
const parallelFrom = 1024

// eachIndex calls fn(i) for every i in [0, n), on the cores there are for a
// large n. The calls must be independent of each other: each writes only
// what belongs to its index, so that the caller can then go through the
// results in order (diagnostics stay in file order).
func eachIndex(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/parallelFrom+1)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	// Indexes are handed out in runs, so that the workers rarely meet on
	// the counter and neighbouring items (neighbouring blocks of a file)
	// stay on one core.
	const run = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				from := int(next.Add(run)) - run
				if from >= n {
					return
				}
				for i := from; i < min(from+run, n); i++ {
					fn(i)
				}
			}
		})
	}
	wg.Wait()
}
