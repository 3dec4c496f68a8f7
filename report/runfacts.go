package report

import (
	"os"
	"time"

	"github.com/nettest/nettest/runner"
)

// runFacts is what the JSON, JUnit and HTML reports note about a run for
// its summary: when it started, on which host, and how many checks it
// planned. now and hostname are fields so that tests can fix them;
// hostname "" means os.Hostname.
type runFacts struct {
	now      func() time.Time
	hostname string
	start    time.Time
	total    int
}

// factsOf notes a run that happened at info: its start and host when info
// gives them, otherwise the clock and this machine.
func factsOf(info RunInfo) runFacts {
	f := runFacts{now: time.Now, hostname: info.Host}
	if !info.Started.IsZero() {
		f.now = func() time.Time { return info.Started }
	}
	return f
}

// Begin notes the start of the run and the number of checks planned.
func (f *runFacts) Begin(total int) {
	f.total = total
	f.start = f.now()
}

// settle fills in what Begin did not note (the start of a run that never
// began) and the host name, at the end of the run.
func (f *runFacts) settle() {
	if f.start.IsZero() {
		f.start = f.now()
	}
	if f.hostname == "" {
		f.hostname, _ = os.Hostname()
	}
}

// summary is the summary of s, with the facts settled.
func (f *runFacts) summary(s runner.Summary) Summary {
	f.settle()
	return NewSummary(s, f.start, f.hostname, f.total)
}
