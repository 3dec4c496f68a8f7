package runner

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// DefaultParallelism is how many checks run at once unless told otherwise.
// Checks spend their time waiting on the network (a filtered port waits its
// whole timeout), not on the CPU, so the bound is set by what waiting costs:
// a socket each. 512 stays below the 1024 open files many systems allow a
// process, and lets 1,000 filtered ports finish in two timeouts, not 1,000.
const DefaultParallelism = 512

// Options tune a run.
type Options struct {
	// Parallelism bounds the checks running at once; 0 means DefaultParallelism.
	Parallelism int
	// Reporter receives the run's events; nil discards them.
	Reporter Reporter
	// Vantages gives the Prober of each vantage a check names in `from`.
	// Checks without `from` probe here (checks.Local), and so do all checks
	// when Vantages is nil. The runner asks for a vantage's Prober only when
	// one of its checks is about to probe, so a vantage that nothing in the
	// run uses is never connected to.
	Vantages func(name string) checks.Prober
	// Recorder, when set, keeps evidence of each check's attempts.
	Recorder Recorder
}

// grace is how long a probe may overrun its timeout before the runner stops
// waiting for it. Probes honour their context; this is the guarantee that
// one that does not still cannot hang the run. (A variable for the tests.)
var grace = 2 * time.Second

type done struct {
	inst    *schema.Instance
	outcome Outcome
}

// job is an instance handed to a worker, bound to its dependencies' results.
type job struct {
	inst  *schema.Instance
	bound schema.Bound
}

// pool runs jobs on long-lived workers. A goroutine per check would do, but
// each new one grows its stack again on the deep path of a dial; a worker
// grows it once. Probes run inline on the worker, and one watchdog for the
// whole pool stands in for a probe that overruns its timeout.
//
// Workers are started as they are needed, up to the parallelism: one when a
// job is queued and no worker is free to take it. A job that waits on the
// network leaves its worker busy, so the next job starts a worker of its
// own, and checks that wait still all run at once; but checks that end
// without waiting (a ping of a local address is answered within the system
// call that sends it) are taken in turn by the few workers there are.
// Starting all the workers up front made a run of 1,000 such pings grow
// 1,000 stacks to 8 KiB, an eighth of its CPU time (page faults and
// copies), for checks of which a handful were ever in flight.
type pool struct {
	p        *Plan
	vantages func(name string) checks.Prober
	rec      Recorder // nil: none
	ctx      context.Context
	work     chan job
	finished chan done
	limit    int // workers at most

	mu      sync.Mutex
	watches map[*watch]struct{}
	// workers counts the workers started and not given up on by the
	// watchdog; free those of them that wait for a job or are about to
	// take one; queued the jobs submitted and not yet taken.
	workers, free, queued int
}

// watch is what the watchdog knows of one worker's probe in flight.
type watch struct {
	// state goes from running to returned (the probe came back) or to
	// gaveUp (the watchdog gave up on it), whichever happens first.
	state atomic.Int32

	mu      sync.Mutex
	inst    *schema.Instance
	overdue time.Time // the probe's deadline plus grace

	// ctx is the worker's context, and base the same without its
	// cancellation, which the worker's probes hang below when they run on
	// ctx itself: a probe's context is then not one more of ctx's
	// children, put in its map and taken out under its lock for every
	// probe (2% of the CPU time of 1,000 DNS checks). Instead, ctx's end
	// calls interrupt, which cancels the probe in flight (cancel), and the
	// probes after it at once (stopped). base is nil when ctx has a
	// deadline, which a probe's context must keep.
	ctx, base context.Context
	cancel    context.CancelFunc // under mu
	stopped   bool               // under mu
	// timeoutCtx is base with the last timeout recorded in it (see
	// checks.WithTimeout): the checks of a suite mostly share one.
	timeoutCtx context.Context
	timeout    time.Duration
}

// interrupt cancels the probe in flight on wt.base, and those after it.
func (wt *watch) interrupt() {
	wt.mu.Lock()
	wt.stopped = true
	if wt.cancel != nil {
		wt.cancel()
	}
	wt.mu.Unlock()
}

const (
	running = iota
	returned
	gaveUp
)

// submit queues a job for the workers, and starts one if none is free.
func (w *pool) submit(j job) {
	w.mu.Lock()
	w.queued++
	start := w.needWorker()
	w.mu.Unlock()
	w.work <- j
	if start {
		go w.worker()
	}
}

// needWorker tells whether a worker must be started for the queued jobs,
// and if so counts it as started and free. It is asked whenever a job is
// queued or taken, so a queued job always has a free worker to take it, or
// all workers the parallelism allows are busy (and one frees up for it
// before long: no more jobs are in flight than workers). The caller holds
// w.mu.
func (w *pool) needWorker() bool {
	if w.free > 0 || w.queued == 0 || w.workers >= w.limit {
		return false
	}
	w.workers++
	w.free++
	return true
}

func (w *pool) worker() {
	wt := &watch{}
	wt.state.Store(returned)
	w.mu.Lock()
	w.watches[wt] = struct{}{}
	w.mu.Unlock()
	// The worker's own child of the run's context, cancelled with it: each
	// probe's context hangs below this one, not beside the other workers'
	// on the run's, whose lock and list of children they would all share.
	// A worker the watchdog gave up on cancels it as it leaves, which tells
	// its overdue probe to stop.
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		wt.ctx, wt.base = ctx, context.WithoutCancel(ctx)
		defer context.AfterFunc(ctx, wt.interrupt)()
	}
	for j := range w.work {
		w.mu.Lock()
		w.queued--
		w.free--
		// Before the probe, which may wait: the jobs behind this one
		// need not wait for it.
		start := w.needWorker()
		w.mu.Unlock()
		if start {
			go w.worker()
		}
		o, abandoned := w.p.execute(ctx, j.bound, w.prober(j.inst), wt, w.rec)
		if abandoned {
			return // the watchdog reported this check and started a replacement
		}
		w.mu.Lock()
		w.free++
		w.mu.Unlock()
		w.finished <- done{j.inst, o}
	}
	w.mu.Lock()
	delete(w.watches, wt)
	w.mu.Unlock()
}

// prober is where the instance probes: its vantage's Prober, or here.
func (w *pool) prober(i *schema.Instance) checks.Prober {
	if i.Vantage == "" || w.vantages == nil {
		return checks.Local
	}
	return w.vantages(i.Vantage)
}

// watchdog looks at the probes in flight a few times per grace period until
// stop is closed. A probe past its deadline plus grace is reported as an
// error, its worker is replaced, and what the probe returns later is dropped.
func (w *pool) watchdog(stop <-chan struct{}, grace time.Duration) {
	tick := time.NewTicker(min(max(grace/4, 10*time.Millisecond), 500*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			w.mu.Lock()
			for wt := range w.watches {
				wt.mu.Lock()
				inst, over := wt.inst, now.After(wt.overdue)
				wt.mu.Unlock()
				if !over || !wt.state.CompareAndSwap(running, gaveUp) {
					continue
				}
				delete(w.watches, wt)
				o := newOutcome(inst, Error)
				o.Message = fmt.Sprintf("the %s check did not stop within %s of its %s timeout; this is a bug in nettest", inst.Kind().Name, grace, inst.Timeout)
				o.AttemptsMade = 1
				o.Interrupted = w.ctx.Err() != nil
				if w.rec != nil {
					o.Capture = w.rec.Finish(o)
				}
				w.finished <- done{inst, o} // room: at most one outcome per job in flight
				w.free++                    // the replacement, in place of the worker given up on
				go w.worker()
			}
			w.mu.Unlock()
		}
	}
}

// Run executes the plan and returns the summary. Cancelling ctx (Ctrl-C)
// stops it at once: running checks are reported as errors, the ones not yet
// started as skipped, and the reporters still receive End.
func (p *Plan) Run(ctx context.Context, opts Options) Summary {
	start := time.Now()
	if opts.Vantages != nil {
		// A probe that needs another vantage's help (a udp check's
		// witness at the destination) reaches it through its context.
		ctx = checks.WithVantages(ctx, opts.Vantages)
	}
	rep := opts.Reporter
	if rep == nil {
		rep = discard{}
	}
	limit := opts.Parallelism
	if limit <= 0 {
		limit = DefaultParallelism
	}
	rep.Begin(len(p.Order))
	// Reporters run on a goroutine of their own, fed in finishing order,
	// so that formatting and writing a report line never holds up the
	// scheduling of the next check.
	// 256 outcomes of room: the reporter keeps up, and a ring that a run
	// of thousands goes round touches no more than its first pages (1,024
	// were 300 KB, each page of them faulted in by the run).
	events := make(chan Outcome, 256)
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		flusher, _ := rep.(Flusher)
		for o := range events {
			rep.Finished(o)
			if flusher != nil && len(events) == 0 {
				flusher.Flush()
			}
		}
	}()

	var sum Summary
	// Only the results some check refers to are kept, for its arguments
	// and expectations: a suite of thousands of checks that refer to none
	// would otherwise hold every result it observed until the end.
	referred := map[*schema.Instance]bool{}
	for _, i := range p.Order {
		for _, d := range i.Deps {
			referred[d] = true
		}
	}
	results := make(map[*schema.Instance]cty.Value, len(referred))
	status := make(map[*schema.Instance]Status, len(p.Order))
	walk := p.graph.Walk()
	finished := make(chan done, limit)
	running := 0
	workers := &pool{p: p, vantages: opts.Vantages, rec: opts.Recorder, ctx: ctx, work: make(chan job, limit), finished: finished, limit: limit, watches: map[*watch]struct{}{}}
	stopWatchdog := make(chan struct{})
	go workers.watchdog(stopWatchdog, grace)
	defer func() {
		close(stopWatchdog)
		close(workers.work)
	}()

	report := func(i *schema.Instance, o Outcome) {
		status[i] = o.Status
		if referred[i] {
			results[i] = o.Result.Value() // unredacted: dependents use what was observed
		}
		sum.count(o.Status)
		if o.Interrupted {
			sum.Unfinished++
		}
		events <- o.Redacted(p.Suite.Secrets())
	}
	finish := func(i *schema.Instance, o Outcome) {
		report(i, o)
		// A dependency that did not pass makes its dependents skip,
		// naming why, without running them.
		for _, s := range walk.Done(i, o.Status == Pass) {
			report(s.Node, p.skipped(s.Node, fmt.Sprintf("dependency %s did not pass (%s)", s.By.Address, status[s.By])))
		}
	}

	for len(status) < len(p.Order) {
		for running < limit && ctx.Err() == nil {
			i, ok := walk.Next()
			if !ok {
				break
			}
			running++
			workers.submit(job{i, i.Bind(results)})
		}
		if running == 0 {
			break // interrupted with nothing in flight
		}
		d := <-finished
		running--
		finish(d.inst, d.outcome)
	}
	if ctx.Err() != nil {
		sum.Interrupted = true
		for _, i := range p.Order {
			if _, ok := status[i]; !ok {
				o := p.skipped(i, "not run: the run was interrupted")
				o.Interrupted = true
				status[i] = Skip
				sum.count(Skip)
				sum.Unfinished++
				events <- o.Redacted(p.Suite.Secrets())
			}
		}
	}
	close(events)
	<-reported
	sum.Duration = time.Since(start)
	if err := rep.End(sum); err != nil {
		sum.ReportError = err
	}
	return sum
}

func (s *Summary) count(st Status) {
	switch st {
	case Pass:
		s.Passed++
	case Fail:
		s.Failed++
	case Error:
		s.Errored++
	case Skip:
		s.Skipped++
	}
}

// newOutcome fills in what every outcome of i says, whatever its status.
func newOutcome(i *schema.Instance, st Status) Outcome {
	r := i.Range()
	o := Outcome{Address: i.Address, Kind: i.Kind().Name, File: r.Filename, Line: r.Start.Line,
		Description: i.Description, Tags: i.Tags, Status: st, AttemptsAllowed: i.Retries + 1, Vantage: i.Vantage}
	if len(i.Deps) > 0 {
		o.DependsOn = make([]string, len(i.Deps))
		for k, d := range i.Deps {
			o.DependsOn[k] = d.Address
		}
	}
	return o
}

func (p *Plan) skipped(i *schema.Instance, why string) Outcome {
	o := newOutcome(i, Skip)
	o.Message = why
	return o
}

// execute runs one instance: skip, arguments, then the attempts. It
// reports abandoned when the watchdog gave up on a probe, which has then
// reported the outcome itself.
func (p *Plan) execute(ctx context.Context, b schema.Bound, pr checks.Prober, wt *watch, rec Recorder) (o Outcome, abandoned bool) {
	i := b.Instance()
	start := time.Now()
	o = newOutcome(i, Error)
	defer func() { o.Duration = time.Since(start) }()

	skip, diags := b.Skip()
	if diags.HasErrors() {
		o.Message = diagText(diags)
		return o, false
	}
	if skip {
		o.Status, o.Message = Skip, "skip is true"
		return o, false
	}
	args, sensitive, diags := b.ProbeArgs()
	if diags.HasErrors() {
		o.Message = diagText(diags)
		return o, false
	}
	if rec != nil {
		// Whatever way the attempts end, the recorder hears the verdict
		// (the watchdog tells it itself about a probe it gave up on).
		defer func() {
			if !abandoned {
				o.Capture = rec.Finish(o)
			}
		}()
	}

	var messages []string
	for attempt := 1; attempt <= o.AttemptsAllowed; attempt++ {
		o.AttemptsMade = attempt
		actx := ctx
		if rec != nil {
			actx = rec.StartAttempt(ctx, Attempt{Address: i.Address, Number: attempt, Of: o.AttemptsAllowed, Sensitive: sensitive})
		}
		var a attemptOutcome
		a, abandoned = p.attempt(actx, b, pr, args, wt)
		if abandoned {
			return o, true
		}
		if rec != nil {
			rec.EndAttempt(actx)
		}
		o.Status, o.Result, o.Diffs, o.DiffValues, messages = a.status, a.result, a.diffs, a.values, a.messages
		if ctx.Err() != nil {
			o.Status, o.Diffs, o.DiffValues, o.Interrupted = Error, nil, nil, true
			o.Message = "interrupted before the check finished"
			return o, false
		}
		if o.Status == Pass || attempt == o.AttemptsAllowed {
			break
		}
		select {
		case <-ctx.Done():
			o.Status, o.Message, o.Interrupted = Error, "interrupted between attempts", true
			return o, false
		case <-time.After(i.RetryInterval):
		}
	}
	o.Message = strings.Join(messages, "; ")
	switch {
	case o.Status == Pass && o.AttemptsMade > 1:
		o.Message = fmt.Sprintf("passed on attempt %d of %d", o.AttemptsMade, o.AttemptsAllowed)
	case o.Status != Pass && o.AttemptsAllowed > 1:
		// The headline CI shows keeps the reason, not only the count.
		if o.Message == "" {
			o.Message = checks.Headline(o.Diffs)
		}
		o.Message = strings.TrimPrefix(o.Message+fmt.Sprintf(" (%s on all %d attempts)", verb(o.Status), o.AttemptsAllowed), " ")
	}
	return o, false
}

func verb(s Status) string {
	if s == Fail {
		return "failed"
	}
	return "errored"
}

// attemptOutcome is what one attempt at a check came to.
type attemptOutcome struct {
	status   Status
	result   checks.Result // nothing when the probe failed
	diffs    []checks.Diff
	values   []schema.DiffValues
	messages []string
}

// attempt probes once through pr and judges what the probe saw. abandoned
// is true when the watchdog gave up on the probe.
func (p *Plan) attempt(ctx context.Context, b schema.Bound, pr checks.Prober, args checks.Args, wt *watch) (a attemptOutcome, abandoned bool) {
	i := b.Instance()
	if c, ok := pr.(checks.Connector); ok {
		// Before the check's clock, its duration and the watchdog start:
		// connecting bounds itself (see checks.Connector).
		if err := c.Connect(ctx, i.Timeout); err != nil {
			return attemptOutcome{status: Error, messages: []string{err.Error()}}, false
		}
	}
	start := time.Now()
	res, err, abandoned := probe(ctx, i, pr, args, wt, start)
	if abandoned {
		return attemptOutcome{status: Error}, true
	}
	if err != nil {
		return attemptOutcome{status: Error, messages: []string{err.Error()}}, false
	}
	v := b.Judge(res)
	if v.Diags.HasErrors() {
		return attemptOutcome{status: Error, result: res, messages: []string{diagText(v.Diags)}}, false
	}
	if len(v.Diffs) > 0 {
		return attemptOutcome{status: Fail, result: res, diffs: v.Diffs, values: v.Values, messages: v.Messages}, false
	}
	return attemptOutcome{status: Pass, result: res}, false
}

// probe calls the prober under the check's timeout, on the worker's
// own goroutine, and recovers a panicking probe into an error. It tells the
// watchdog when the probe is overdue; abandoned is true when the watchdog
// gave up on it (and has reported the check).
//
// The result holds duration_ms, the time since start: the prober adds it
// when it can (checks.TimedProber), the runner otherwise.
func probe(ctx context.Context, i *schema.Instance, pr checks.Prober, args checks.Args, wt *watch, start time.Time) (r checks.Result, err error, abandoned bool) {
	var pctx context.Context
	var cancel context.CancelFunc
	// The check's clock started at start, a moment ago: its deadline and
	// the watchdog's are counted from there, without reading the clock
	// again.
	deadline := start.Add(i.Timeout)
	onBase := wt.base != nil && ctx == wt.ctx
	if onBase {
		if wt.timeoutCtx == nil || wt.timeout != i.Timeout {
			wt.timeoutCtx, wt.timeout = checks.WithTimeout(wt.base, i.Timeout), i.Timeout
		}
		pctx, cancel = context.WithDeadline(wt.timeoutCtx, deadline)
	} else {
		// A context of the attempt's own (a recorder's): the probe's hangs
		// below it.
		pctx, cancel = context.WithDeadline(checks.WithTimeout(ctx, i.Timeout), deadline)
	}
	defer cancel()
	wt.mu.Lock()
	wt.inst, wt.overdue = i, deadline.Add(grace)
	stopped := false
	if onBase {
		wt.cancel, stopped = cancel, wt.stopped
	}
	wt.state.Store(running)
	wt.mu.Unlock()
	if stopped {
		cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			r, err = checks.Result{}, fmt.Errorf("internal error in the %s check: %v\n%s", i.Kind().Name, p, debug.Stack())
		}
		if onBase {
			wt.mu.Lock()
			wt.cancel = nil
			wt.mu.Unlock()
		}
		abandoned = !wt.state.CompareAndSwap(running, returned)
	}()
	if tp, ok := pr.(checks.TimedProber); ok {
		r, err = tp.ProbeTimed(pctx, i.Kind(), args, start)
	} else {
		var v cty.Value
		if v, err = pr.Probe(pctx, i.Kind(), args); err == nil {
			r = checks.ResultOf(checks.WithDuration(v, time.Since(start)))
		}
	}
	return r, err, false
}

// diagText flattens diagnostics into one message with their locations.
func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags.Errs() {
		msg := d.Error()
		if hd, ok := d.(*hcl.Diagnostic); ok {
			msg = hd.Summary
			if hd.Detail != "" {
				msg += ": " + hd.Detail
			}
			if hd.Subject != nil {
				msg = fmt.Sprintf("%s:%d: %s", hd.Subject.Filename, hd.Subject.Start.Line, msg)
			}
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, "; ")
}

type discard struct{}

func (discard) Begin(int)         {}
func (discard) Finished(Outcome)  {}
func (discard) End(Summary) error { return nil }
