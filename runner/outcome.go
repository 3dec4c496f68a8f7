package runner

import (
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
)

// Status is the verdict on one check.
type Status string

// The four verdicts. Error means the check could not be carried out (no
// permission, a name that does not resolve, an interrupted run); Fail means
// it was carried out and an expectation or assert was not met.
const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Error Status = "error"
	Skip  Status = "skip"
)

// Outcome is what became of one check instance. Reporters receive it when
// the check finishes, with every secret already redacted from every text
// and from the observed Result (see Outcome.Redacted).
type Outcome struct {
	// Address is the check's address: tcp.web or tcp.web["80"].
	Address string
	// Kind is the block type, such as "tcp".
	Kind string
	// File and Line locate the check's block in the source.
	File string
	Line int
	// Description is the check's description argument, if any.
	Description string
	// Vantage names the vantage the check ran from (its `from`), or is
	// empty when it ran here, where nettest was started.
	Vantage string
	// Tags are the check's tags argument, in the order written.
	Tags []string
	// DependsOn are the addresses of the checks this one waited for: those
	// it refers to and those its depends_on names, sorted.
	DependsOn []string
	Status    Status
	// Message says why a check errored or was skipped, joins the
	// error_message of failed asserts, or says on which attempt it passed.
	Message string
	// Diffs are the unmet expectations and asserts, one line each.
	Diffs []checks.Diff
	// DiffValues holds the expected and observed values of Diffs[k] at
	// index k, for the reports that carry values rather than HCL text.
	DiffValues []schema.DiffValues
	// Duration is the wall time of the check, all attempts included.
	Duration time.Duration
	// AttemptsMade is the number of attempts made (0 for a check that
	// never started); AttemptsAllowed is retries + 1.
	AttemptsMade, AttemptsAllowed int
	// Result is what the last attempt observed (nothing when none).
	Result checks.Result
	// Interrupted is true when the run was cancelled before this check
	// could finish (an error) or start (a skip).
	Interrupted bool
	// Capture is the path of the packet capture kept for this check
	// (nettest test --capture), or "" when none was kept.
	Capture string
}

// Summary counts the outcomes of a run.
type Summary struct {
	Passed, Failed, Errored, Skipped int
	Duration                         time.Duration
	// Interrupted is true when the run was cancelled (Ctrl-C, SIGTERM).
	Interrupted bool
	// Unfinished counts the checks the interruption stopped or never started.
	Unfinished int
	// ReportError is the first error a reporter returned from End (a JUnit
	// file that could not be written).
	ReportError error
}

// Reporter consumes the events of a run. The runner calls it from one
// goroutine at a time: Begin once, Finished once per check in the order the
// checks finish, End once, also when the run was interrupted.
type Reporter interface {
	Begin(total int)
	Finished(o Outcome)
	End(s Summary) error
}

// Flusher is implemented by reporters that buffer their output. The runner
// calls Flush whenever no further event is queued, so a report streams live
// in a quiet run and in few writes in a busy one.
type Flusher interface {
	Flush()
}
