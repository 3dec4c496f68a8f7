package runner_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// The runner is tested with a kind of its own, "fake", whose probe does
// what its arguments say: pass, fail, error, panic or wait, after a delay,
// and records when it ran. The engine is what is under test here; real
// kinds are tested against real sockets in their own packages.

type fakeConfig struct {
	Value     string `cty:"value"`
	Sleep     string `cty:"sleep,optional"`
	Mode      string `cty:"mode,optional"`
	PassAfter int    `cty:"pass_after,optional"`
}

type fakeResult struct {
	Value string `cty:"value"`
	OK    bool   `cty:"ok"`
}

var (
	mu        sync.Mutex
	attempts  = map[string]int{}
	started   = map[string]time.Time{}
	ended     = map[string]time.Time{}
	running   atomic.Int32
	maxActive atomic.Int32
)

func init() {
	checks.Register(checks.Kind{
		Name: "fake",
		Docs: map[string]checks.ArgDoc{
			"value":      {},
			"sleep":      {Validate: checks.ValidDuration},
			"mode":       {Validate: checks.OneOf("pass", "fail", "error", "panic", "hang", "stuck")},
			"pass_after": {},
		},
		Expect: []checks.Expectation{checks.Equal("ok", cty.Bool, ""), checks.Equal("value", cty.String, "")},
		Probe:  checks.Typed(fakeConfig{Sleep: "0s", Mode: "pass"}, fakeProbe),
	})
}

func fakeProbe(ctx context.Context, c fakeConfig) (fakeResult, error) {
	n := running.Add(1)
	defer running.Add(-1)
	for {
		m := maxActive.Load()
		if n <= m || maxActive.CompareAndSwap(m, n) {
			break
		}
	}
	mu.Lock()
	attempts[c.Value]++
	attempt := attempts[c.Value]
	if _, ok := started[c.Value]; !ok {
		started[c.Value] = time.Now()
	}
	mu.Unlock()
	checks.ReportFlow(ctx, checks.Flow{Protocol: "tcp", Remote: netip.MustParseAddrPort("127.0.0.1:9")})
	defer func() {
		mu.Lock()
		ended[c.Value] = time.Now()
		mu.Unlock()
	}()

	sleep, _ := time.ParseDuration(c.Sleep)
	if c.Mode == "stuck" { // a buggy probe that ignores its context
		time.Sleep(sleep)
		return fakeResult{Value: c.Value, OK: true}, nil
	}
	if c.Mode == "hang" {
		sleep = time.Hour
	}
	// Without a sleep the probe does not wait at all, as a check of a
	// local address that is answered within the system call.
	if sleep > 0 {
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
			return fakeResult{}, errors.New("gave up: " + ctx.Err().Error())
		}
	}
	switch {
	case c.Mode == "error":
		return fakeResult{}, errors.New("cannot observe: " + c.Value)
	case c.Mode == "panic":
		panic("boom")
	case c.Mode == "fail" || attempt <= c.PassAfter:
		return fakeResult{Value: c.Value, OK: false}, nil
	}
	return fakeResult{Value: c.Value, OK: true}, nil
}

func reset() {
	mu.Lock()
	defer mu.Unlock()
	attempts, started, ended = map[string]int{}, map[string]time.Time{}, map[string]time.Time{}
	maxActive.Store(0)
}

type recorder struct {
	begun    int
	order    []string
	outcomes map[string]runner.Outcome
	summary  *runner.Summary
}

func (r *recorder) Begin(n int) { r.begun = n }
func (r *recorder) Finished(o runner.Outcome) {
	r.order = append(r.order, o.Address)
	r.outcomes[o.Address] = o
}
func (r *recorder) End(s runner.Summary) error { r.summary = &s; return nil }

func run(t *testing.T, ctx context.Context, src string, parallelism int) (*recorder, runner.Summary) {
	t.Helper()
	return runWith(t, ctx, src, runner.Options{Parallelism: parallelism})
}

func runWith(t *testing.T, ctx context.Context, src string, opts runner.Options) (*recorder, runner.Summary) {
	t.Helper()
	reset()
	plan := planOf(t, src)
	rec := &recorder{outcomes: map[string]runner.Outcome{}}
	opts.Reporter = rec
	sum := plan.Run(ctx, opts)
	if rec.summary == nil {
		t.Fatal("End was not called")
	}
	return rec, sum
}

func TestDependencyOrderAndResults(t *testing.T) {
	rec, sum := run(t, context.Background(), `
fake "b" {
  value = "${fake.a.value}-then-b"
  expect {
    value = "a-then-b"
  }
}
fake "a" {
  value = "a"
  sleep = "50ms"
  expect {
    ok = true
  }
}
`, 10)
	if sum.Passed != 2 {
		t.Fatalf("summary %+v, outcomes %+v", sum, rec.outcomes)
	}
	if !ended["a"].Before(started["a-then-b"]) {
		t.Error("fake.b started before fake.a finished")
	}
	if strings.Join(rec.order, " ") != "fake.a fake.b" {
		t.Errorf("finish order %q", rec.order)
	}
	if d := rec.outcomes["fake.b"].DependsOn; strings.Join(d, " ") != "fake.a" || rec.outcomes["fake.a"].DependsOn != nil {
		t.Errorf("DependsOn of fake.b %q, of fake.a %q", d, rec.outcomes["fake.a"].DependsOn)
	}
}

func TestParallelismBound(t *testing.T) {
	_, sum := run(t, context.Background(), `
fake "many" {
  for_each = toset([for i in range(12) : tostring(i)])
  value    = each.key
  sleep    = "30ms"
  expect {
    ok = true
  }
}
`, 3)
	if sum.Passed != 12 {
		t.Fatalf("summary %+v", sum)
	}
	if got := maxActive.Load(); got != 3 {
		t.Errorf("at most %d probes ran at once, want exactly 3", got)
	}
}

// TestWorkersAsNeeded: checks that wait all run at once, up to the
// parallelism, but checks that do not wait do not each get a goroutine of
// their own (a stack grown on the path of a probe): the few workers there
// are take them in turn.
func TestWorkersAsNeeded(t *testing.T) {
	const n = 300
	suite := func(sleep string) string {
		return fmt.Sprintf(`
fake "many" {
  for_each = toset([for i in range(%d) : tostring(i)])
  value    = each.key
  sleep    = %q
  expect {
    ok = true
  }
}
`, n, sleep)
	}
	idle := runtime.NumGoroutine()
	_, sum := run(t, context.Background(), suite("500ms"), n)
	if sum.Passed != n {
		t.Fatalf("summary %+v", sum)
	}
	if got := maxActive.Load(); got != n {
		t.Errorf("at most %d of %d waiting probes ran at once, want all", got, n)
	}

	// The first run's workers end after it returns.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > idle && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	before := runtime.NumGoroutine()
	rec := &goroutines{}
	plan := planOf(t, suite("0s"))
	reset()
	// No collection during the run: its pause holds the workers in the
	// middle of their checks, which then count as busy, and each job
	// queued meanwhile starts a worker of its own, as it should for a
	// check that waits. Whether one lands there depends on what the test
	// process allocated before, not on the pool: with loading allocating
	// less, 3 runs in 100 went past n/2 (without a collection the most of
	// 100 runs was 24, and the median 4).
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if sum := plan.Run(context.Background(), runner.Options{Parallelism: n, Reporter: rec}); sum.Passed != n {
		t.Fatalf("summary %+v", sum)
	}
	// The workers live until the run ends, so the last outcome sees all
	// that were started, besides the run's own few goroutines.
	if started := rec.most - before; started > n/2 {
		t.Errorf("%d goroutines ran %d checks that do not wait, with parallelism %d; want a few", started, n, n)
	}
}

// goroutines is a reporter that notes the most goroutines alive when an
// outcome came.
type goroutines struct{ most int }

func (g *goroutines) Begin(int) {}
func (g *goroutines) Finished(runner.Outcome) {
	g.most = max(g.most, runtime.NumGoroutine())
}
func (g *goroutines) End(runner.Summary) error { return nil }

func TestSkipWhenDependencyDidNotPass(t *testing.T) {
	rec, sum := run(t, context.Background(), `
fake "a" {
  value = "a"
  mode  = "fail"
  expect {
    ok = true
  }
}
fake "b" {
  value      = "b"
  depends_on = [fake.a]
  expect {
    ok = true
  }
}
fake "c" {
  value = fake.b.value
  expect {
    ok = true
  }
}
fake "independent" {
  value = "i"
  expect {
    ok = true
  }
}
`, 4)
	if sum.Failed != 1 || sum.Skipped != 2 || sum.Passed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if got := rec.outcomes["fake.b"].Message; got != "dependency fake.a did not pass (fail)" {
		t.Errorf("fake.b: %q", got)
	}
	if got := rec.outcomes["fake.c"].Message; got != "dependency fake.b did not pass (skip)" {
		t.Errorf("fake.c: %q", got)
	}
	if _, ran := started["b"]; ran {
		t.Error("a skipped check was probed")
	}
	a := rec.outcomes["fake.a"]
	if len(a.Diffs) != 1 || a.Diffs[0] != (checks.Diff{Field: "ok", Expected: "true", Actual: "false"}) {
		t.Errorf("diff of fake.a: %+v", a.Diffs)
	}
}

func TestRetries(t *testing.T) {
	rec, _ := run(t, context.Background(), `
fake "flaky" {
  value          = "flaky"
  pass_after     = 2
  retries        = 3
  retry_interval = "10ms"
  expect {
    ok = true
  }
}
fake "broken" {
  value          = "broken"
  mode           = "fail"
  retries        = 1
  retry_interval = "10ms"
  expect {
    ok = true
  }
}
`, 4)
	flaky := rec.outcomes["fake.flaky"]
	if flaky.Status != runner.Pass || flaky.Message != "passed on attempt 3 of 4" || flaky.AttemptsMade != 3 {
		t.Errorf("flaky: %+v", flaky)
	}
	broken := rec.outcomes["fake.broken"]
	// The headline keeps the reason: it is what CI shows beside the test.
	if broken.Status != runner.Fail || broken.Message != "ok: expected true, got false (failed on all 2 attempts)" || attempts["broken"] != 2 {
		t.Errorf("broken: %+v (attempts %d)", broken, attempts["broken"])
	}
}

func TestErrorsTimeoutsAndPanics(t *testing.T) {
	rec, sum := run(t, context.Background(), `
fake "cannot" {
  value = "cannot"
  mode  = "error"
  expect {
    ok = true
  }
}
fake "slow" {
  value   = "slow"
  mode    = "hang"
  timeout = "50ms"
  expect {
    ok = true
  }
}
fake "bug" {
  value = "bug"
  mode  = "panic"
  expect {
    ok = true
  }
}
fake "skipped" {
  value = "s"
  skip  = true
  expect {
    ok = true
  }
}
`, 4)
	if sum.Errored != 3 || sum.Skipped != 1 {
		t.Fatalf("summary %+v", sum)
	}
	for addr, want := range map[string]string{
		"fake.cannot":  "cannot observe: cannot",
		"fake.slow":    "gave up: context deadline exceeded",
		"fake.bug":     "internal error in the fake check: boom",
		"fake.skipped": "skip is true",
	} {
		if got := rec.outcomes[addr].Message; !strings.Contains(got, want) {
			t.Errorf("%s: message %q, want it to contain %q", addr, got, want)
		}
	}
}

func TestCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	rec, sum := run(t, ctx, `
fake "hang" {
  for_each = toset(["1", "2", "3", "4", "5"])
  value    = each.key
  mode     = "hang"
  timeout  = "1m"
  expect {
    ok = true
  }
}
`, 2)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("cancellation took %s", took)
	}
	if !sum.Interrupted || sum.Errored != 2 || sum.Skipped != 3 {
		t.Fatalf("summary %+v", sum)
	}
	if rec.begun != 5 || len(rec.outcomes) != 5 {
		t.Errorf("every check must be reported: begun %d, reported %d", rec.begun, len(rec.outcomes))
	}
	for _, o := range rec.outcomes {
		if o.Status == runner.Error && o.Message != "interrupted before the check finished" ||
			o.Status == runner.Skip && o.Message != "not run: the run was interrupted" {
			t.Errorf("%s: %s %q", o.Address, o.Status, o.Message)
		}
	}
}

func TestSensitiveValuesAreRedacted(t *testing.T) {
	rec, _ := run(t, context.Background(), `
variable "token" {
  default   = "hunter2-secret"
  sensitive = true
}
fake "echo" {
  value = var.token
  expect {
    value = "${var.token}-other"
  }
  assert {
    condition     = self.value == "x"
    error_message = "got ${self.value}"
  }
}
`, 1)
	o := rec.outcomes["fake.echo"]
	if o.Status != runner.Fail {
		t.Fatalf("%+v", o)
	}
	all := o.Message
	for _, d := range o.Diffs {
		all += d.Expected + d.Actual
	}
	if strings.Contains(all, "hunter2") {
		t.Errorf("secret in the report: %q / %+v", o.Message, o.Diffs)
	}
	if !strings.Contains(all, "(sensitive value)") {
		t.Errorf("redaction not shown: %q / %+v", o.Message, o.Diffs)
	}
}

func TestRunFilterKeepsDependencies(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.nettest.hcl")
	os.WriteFile(file, []byte(`
fake "a" {
  value = "a"
  expect {
    ok = true
  }
}
fake "b" {
  value = fake.a.value
  expect {
    ok = true
  }
}
fake "c" {
  value = "c"
  expect {
    ok = true
  }
}
`), 0o644)
	suite, diags := schema.Load([]string{file}, schema.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, _ := runner.NewPlan(suite, runner.Match(regexpMust(`^fake\.b$`)))
	var got []string
	for _, i := range plan.Order {
		got = append(got, i.Address)
	}
	if strings.Join(got, " ") != "fake.a fake.b" {
		t.Errorf("plan with --run: %q", got)
	}
}

// TestWatchdog: a probe that ignores its context cannot hang the run. The
// check is reported as an error shortly after its timeout, the other checks
// still run on the workers left, and the late result is dropped.
func TestWatchdog(t *testing.T) {
	defer runner.SetGrace(100 * time.Millisecond)()
	start := time.Now()
	rec, sum := run(t, context.Background(), `
fake "stuck" {
  value   = "stuck"
  mode    = "stuck"
  sleep   = "1s"
  timeout = "50ms"
  expect {
    ok = true
  }
}
fake "others" {
  for_each = toset(["1", "2", "3"])
  value    = each.key
  sleep    = "20ms"
  expect {
    ok = true
  }
}
`, 1)
	if took := time.Since(start); took > 800*time.Millisecond {
		t.Errorf("the run waited %s for a stuck probe", took)
	}
	if sum.Errored != 1 || sum.Passed != 3 || len(rec.outcomes) != 4 {
		t.Fatalf("summary %+v, %d outcomes", sum, len(rec.outcomes))
	}
	if got := rec.outcomes["fake.stuck"].Message; !strings.Contains(got, "did not stop within 100ms of its 50ms timeout") {
		t.Errorf("message %q", got)
	}
	time.Sleep(1200 * time.Millisecond) // the stuck probe returns now; nothing may be reported twice
	if len(rec.order) != 4 {
		t.Errorf("reported %d times: %q", len(rec.order), rec.order)
	}
}

// evidence is a runner.Recorder that notes what it is told.
type evidence struct {
	mu       sync.Mutex
	events   []string
	finished map[string]runner.Status
}

type attemptKey struct{}

func (e *evidence) note(s string) {
	e.mu.Lock()
	e.events = append(e.events, s)
	e.mu.Unlock()
}

func (e *evidence) StartAttempt(ctx context.Context, a runner.Attempt) context.Context {
	e.note(fmt.Sprintf("start %s %d/%d sensitive=%t", a.Address, a.Number, a.Of, a.Sensitive))
	ctx = context.WithValue(ctx, attemptKey{}, a)
	return checks.WithFlowObserver(ctx, func(f checks.Flow) { e.note(fmt.Sprintf("flow %s %d %s", a.Address, a.Number, f)) })
}

func (e *evidence) EndAttempt(ctx context.Context) {
	a := ctx.Value(attemptKey{}).(runner.Attempt)
	e.note(fmt.Sprintf("end %s %d", a.Address, a.Number))
}

func (e *evidence) Finish(o runner.Outcome) string {
	e.note(fmt.Sprintf("finish %s %s", o.Address, o.Status))
	if o.Status == runner.Pass {
		return ""
	}
	return "evidence/" + o.Address
}

// TestRecorderHearsEveryAttempt: a recorder is told of each attempt in
// order, the probe runs under the context it returned (so the probe's flows
// reach it), it hears the final verdict once, and what it returns is the
// outcome's Capture. Skipped checks never reach it.
func TestRecorderHearsEveryAttempt(t *testing.T) {
	ev := &evidence{}
	rec, _ := runWith(t, context.Background(), `
variable "token" {
  default   = "s3cret"
  sensitive = true
}
fake "flaky" {
  value          = "flaky"
  pass_after     = 1
  retries        = 2
  retry_interval = "1ms"
  expect {
    ok = true
  }
}
fake "secret" {
  value = var.token
  mode  = "fail"
  expect {
    ok = true
  }
}
fake "skipped" {
  value = "skipped"
  skip  = true
  expect {
    ok = true
  }
}
`, runner.Options{Parallelism: 1, Recorder: ev})
	want := []string{
		"start fake.flaky 1/3 sensitive=false", "flow fake.flaky 1 tcp 127.0.0.1:9", "end fake.flaky 1",
		"start fake.flaky 2/3 sensitive=false", "flow fake.flaky 2 tcp 127.0.0.1:9", "end fake.flaky 2",
		"finish fake.flaky pass",
		"start fake.secret 1/1 sensitive=true", "flow fake.secret 1 tcp 127.0.0.1:9", "end fake.secret 1",
		"finish fake.secret fail",
	}
	if got := strings.Join(ev.events, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("recorder heard:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if c := rec.outcomes["fake.flaky"].Capture; c != "" {
		t.Errorf("passing check has capture %q", c)
	}
	if c := rec.outcomes["fake.secret"].Capture; c != "evidence/fake.secret" {
		t.Errorf("failing check has capture %q, want the recorder's path", c)
	}
}

// planOf writes src as a suite file s.nettest.hcl, loads and plans it.
func planOf(t *testing.T, src string) *runner.Plan {
	t.Helper()
	plan, diags := runner.NewPlan(loadSuite(t, src), nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return plan
}

// TestExpectsNothingOnceKnown: expectations that are all null once their
// dependency has run checked nothing, so the check errors, as the same
// check known to expect nothing before the run is a configuration error.
func TestExpectsNothingOnceKnown(t *testing.T) {
	rec, _ := run(t, context.Background(), `
fake "a" {
  value = "a"
  expect {
    ok = true
  }
}
fake "b" {
  value = "b"
  expect {
    ok    = fake.a.ok ? null : true
    value = fake.a.ok ? null : "b"
  }
}
`, 2)
	b := rec.outcomes["fake.b"]
	if b.Status != runner.Error || !strings.Contains(b.Message, "Check expects nothing") {
		t.Errorf("fake.b: %s %q", b.Status, b.Message)
	}
}
