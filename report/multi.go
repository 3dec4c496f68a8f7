package report

import "github.com/nettest/nettest/runner"

// Multi returns a reporter that passes every event to each of rs in turn, so
// that one run can write the console report and a JUnit file together. Nil
// reporters are left out. End ends every reporter, even after one failed,
// and returns the first error.
func Multi(rs ...runner.Reporter) runner.Reporter {
	var m multi
	for _, r := range rs {
		if r != nil {
			m = append(m, r)
		}
	}
	return m
}

type multi []runner.Reporter

// Begin passes the event on to each reporter.
func (m multi) Begin(total int) {
	for _, r := range m {
		r.Begin(total)
	}
}

// Finished passes the event on to each reporter.
func (m multi) Finished(o runner.Outcome) {
	for _, r := range m {
		r.Finished(o)
	}
}

// End passes the event on to each reporter and returns the first error.
func (m multi) End(s runner.Summary) error {
	var first error
	for _, r := range m {
		if err := r.End(s); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Flush passes the event on to each reporter that buffers.
func (m multi) Flush() {
	for _, r := range m {
		if f, ok := r.(runner.Flusher); ok {
			f.Flush()
		}
	}
}
