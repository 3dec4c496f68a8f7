package report

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nettest/nettest/runner"
)

// NewProgress returns the report that, on a long run without a terminal (a
// CI log), prints a plain line now and then while checks are still
// running: "412/2000 done, 3 failed, 1 errored (1m10s)". The first comes
// after every, then one every every; a run that ends sooner prints none.
// CI systems kill jobs that print nothing for a while, and a person reading
// the log wants to see that the run is alive when slow checks (filtered
// ports, retries) finish nothing for a while. The lines go to w from a
// goroutine of their own, so w must not be a writer another report shares
// without a lock: the CLI gives it standard error.
func NewProgress(w io.Writer, every time.Duration) runner.Reporter {
	return &progress{w: w, every: every, now: time.Now}
}

type progress struct {
	w     io.Writer
	every time.Duration
	now   func() time.Time

	mu                           sync.Mutex
	total, done, failed, errored int
	start                        time.Time
	stop                         chan struct{}
	stopped                      chan struct{}
}

// Begin starts the ticker.
func (p *progress) Begin(total int) {
	p.mu.Lock()
	p.total, p.start = total, p.now()
	p.mu.Unlock()
	if p.every <= 0 {
		return
	}
	p.stop, p.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.stopped)
		tick := time.NewTicker(p.every)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.line()
			}
		}
	}()
}

func (p *progress) line() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done >= p.total {
		return
	}
	fmt.Fprintf(p.w, "%d/%d done, %d failed, %d errored (%s)\n", p.done, p.total, p.failed, p.errored, human(p.now().Sub(p.start)))
}

// Finished counts the check.
func (p *progress) Finished(o runner.Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	switch o.Status {
	case runner.Fail:
		p.failed++
	case runner.Error:
		p.errored++
	}
}

// End stops the ticker; the other reports print the summary.
func (p *progress) End(runner.Summary) error {
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
	}
	return nil
}
