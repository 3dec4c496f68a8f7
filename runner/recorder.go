package runner

import "context"

// Attempt names one attempt of one check for a Recorder.
type Attempt struct {
	// Address is the check's address, unique within the run.
	Address string
	// Number counts from 1 up to Of, the attempts the check is allowed.
	Number, Of int
	// Sensitive is true when an argument of the check holds a sensitive
	// value: its evidence must not carry payloads that may contain it.
	Sensitive bool
}

// Recorder keeps evidence of what checks did while they ran, such as the
// packets of their flows (nettest test --capture). The runner calls it from
// the worker running the check: StartAttempt before each attempt's probe,
// whose context the probe then receives (a recorder puts a
// checks.FlowObserver in it), EndAttempt with that context when the probe
// returned, and Finish once with the final outcome of every check that made
// an attempt. Finish returns where the evidence was kept ("" for none),
// which the reports show as Outcome.Capture; a recorder never changes a
// verdict.
type Recorder interface {
	StartAttempt(ctx context.Context, a Attempt) context.Context
	EndAttempt(ctx context.Context)
	Finish(o Outcome) string
}
