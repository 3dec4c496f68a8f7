package runner

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// DefaultParallelism is how many checks run at once unless told otherwise.
// Checks spend their time waiting on the network (a filtered port waits its
// whole timeout), not on the CPU, so the bound is set by what waiting costs:
// a socket and a goroutine each. 256 keeps well below the usual 1024 open
// files while letting a suite of filtered ports finish in a few timeouts.
const DefaultParallelism = 256

// Options tune a run.
type Options struct {
	// Parallelism bounds the checks running at once; 0 means DefaultParallelism.
	Parallelism int
	// Reporter receives the run's events; nil discards them.
	Reporter Reporter
}

// grace is how long a probe may overrun its timeout before the runner stops
// waiting for it. Probes honour their context; this is the guarantee that
// one that does not still cannot hang the run.
const grace = 2 * time.Second

type done struct {
	inst    *schema.Instance
	outcome Outcome
}

// Run executes the plan and returns the summary. Cancelling ctx (Ctrl-C)
// stops it at once: running checks are reported as errors, the ones not yet
// started as skipped, and the reporters still receive End.
func (p *Plan) Run(ctx context.Context, opts Options) Summary {
	start := time.Now()
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
	events := make(chan Outcome, 1024)
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		for o := range events {
			rep.Finished(o)
		}
	}()

	var sum Summary
	results := make(map[*schema.Instance]cty.Value, len(p.Order))
	status := make(map[*schema.Instance]Status, len(p.Order))
	blocked := map[*schema.Instance]*schema.Instance{} // instance → first dependency that did not pass
	pending := make(map[*schema.Instance]int, len(p.Order))
	for _, i := range p.Order {
		pending[i] = len(i.Deps)
	}
	ready := make([]*schema.Instance, 0, len(p.Order))
	for _, i := range p.Order {
		if pending[i] == 0 {
			ready = append(ready, i)
		}
	}
	finished := make(chan done, limit)
	running := 0

	var finish func(i *schema.Instance, o Outcome)
	finish = func(i *schema.Instance, o Outcome) {
		o.Message = p.Suite.Redact(o.Message)
		for k := range o.Diffs {
			o.Diffs[k].Expected = p.Suite.Redact(o.Diffs[k].Expected)
			o.Diffs[k].Actual = p.Suite.Redact(o.Diffs[k].Actual)
		}
		status[i] = o.Status
		results[i] = o.Result
		sum.count(o.Status)
		if o.Interrupted {
			sum.Unfinished++
		}
		events <- o
		for _, d := range p.dependents[i] {
			if _, planned := pending[d]; !planned {
				continue
			}
			if o.Status != Pass && blocked[d] == nil {
				blocked[d] = i
			}
			pending[d]--
			if pending[d] > 0 {
				continue
			}
			if b := blocked[d]; b != nil {
				// A dependency that did not pass makes the dependent skip,
				// naming why, without running it.
				finish(d, p.skipped(d, fmt.Sprintf("dependency %s did not pass (%s)", b.Address, status[b])))
				continue
			}
			ready = append(ready, d)
		}
	}

	for len(status) < len(p.Order) {
		for len(ready) > 0 && running < limit && ctx.Err() == nil {
			i := ready[0]
			ready = ready[1:]
			evalCtx := i.RunContext(results)
			running++
			go func() { finished <- done{i, p.execute(ctx, i, evalCtx)} }()
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
				events <- o
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
	return Outcome{Address: i.Address, Kind: i.Kind().Name, File: r.Filename, Line: r.Start.Line,
		Description: i.Description, Status: st, Attempts: i.Retries + 1, Result: cty.NilVal}
}

func (p *Plan) skipped(i *schema.Instance, why string) Outcome {
	o := newOutcome(i, Skip)
	o.Message = why
	return o
}

// execute runs one instance: skip, arguments, then the attempts.
func (p *Plan) execute(ctx context.Context, i *schema.Instance, evalCtx *hcl.EvalContext) (o Outcome) {
	start := time.Now()
	o = newOutcome(i, Error)
	defer func() { o.Duration = time.Since(start) }()

	skip, diags := i.Skip(evalCtx)
	if diags.HasErrors() {
		o.Message = diagText(diags)
		return o
	}
	if skip {
		o.Status, o.Message = Skip, "skip is true"
		return o
	}
	args, diags := i.EvalArgs(evalCtx)
	if diags.HasErrors() {
		o.Message = diagText(diags)
		return o
	}
	args, _ = args.UnmarkDeep()

	var messages []string
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		o.Attempt = attempt
		o.Status, o.Result, o.Diffs, messages = p.attempt(ctx, i, evalCtx, args)
		if ctx.Err() != nil {
			o.Status, o.Diffs, o.Interrupted = Error, nil, true
			o.Message = "interrupted before the check finished"
			return o
		}
		if o.Status == Pass || attempt == o.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			o.Status, o.Message, o.Interrupted = Error, "interrupted between attempts", true
			return o
		case <-time.After(i.RetryInterval):
		}
	}
	o.Message = strings.Join(messages, "; ")
	switch {
	case o.Status == Pass && o.Attempt > 1:
		o.Message = fmt.Sprintf("passed on attempt %d of %d", o.Attempt, o.Attempts)
	case o.Status != Pass && o.Attempts > 1:
		o.Message = strings.TrimPrefix(o.Message+fmt.Sprintf(" (%s on all %d attempts)", verb(o.Status), o.Attempts), " ")
	}
	return o
}

func verb(s Status) string {
	if s == Fail {
		return "failed"
	}
	return "errored"
}

// attempt probes once and judges what the probe saw.
func (p *Plan) attempt(ctx context.Context, i *schema.Instance, evalCtx *hcl.EvalContext, args cty.Value) (Status, cty.Value, []checks.Diff, []string) {
	start := time.Now()
	res, err := probe(ctx, i, args)
	if err != nil {
		return Error, cty.NilVal, nil, []string{err.Error()}
	}
	res = withDuration(res, time.Since(start))
	diffs, messages, diags := i.Judge(evalCtx, res)
	if diags.HasErrors() {
		return Error, res, nil, []string{diagText(diags)}
	}
	if len(diffs) > 0 {
		return Fail, res, diffs, messages
	}
	return Pass, res, nil, nil
}

// probe calls the kind's probe under the check's timeout. It recovers a
// panicking probe into an error and stops waiting for one that overruns its
// deadline by more than grace.
func probe(ctx context.Context, i *schema.Instance, args cty.Value) (cty.Value, error) {
	pctx, cancel := context.WithTimeout(checks.WithTimeout(ctx, i.Timeout), i.Timeout)
	defer cancel()
	type answer struct {
		v   cty.Value
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- answer{err: fmt.Errorf("internal error in the %s check: %v\n%s", i.Kind().Name, r, debug.Stack())}
			}
		}()
		v, err := i.Kind().Probe(pctx, args)
		ch <- answer{v, err}
	}()
	select {
	case a := <-ch:
		return a.v, a.err
	case <-pctx.Done():
	}
	select {
	case a := <-ch:
		return a.v, a.err
	case <-time.After(grace):
		return cty.NilVal, fmt.Errorf("the %s check did not stop within %s of its %s timeout; this is a bug in nettest", i.Kind().Name, grace, i.Timeout)
	}
}

// withDuration adds duration_ms, measured around the probe, to a result.
func withDuration(res cty.Value, d time.Duration) cty.Value {
	attrs := map[string]cty.Value{}
	if !res.IsNull() && res.IsKnown() {
		for it := res.ElementIterator(); it.Next(); {
			k, v := it.Element()
			attrs[k.AsString()] = v
		}
	}
	attrs["duration_ms"] = cty.NumberFloatVal(float64(d.Microseconds()) / 1000)
	return cty.ObjectVal(attrs)
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
