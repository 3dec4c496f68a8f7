package report

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nettest/nettest/runner"
)

// Merged is the reports of the shards of one run, combined into the report
// one unsharded run would have written.
type Merged struct {
	// Results are every report's results, in the order of the reports.
	Results []Result
	// Summary counts them: the four counts and the checks planned are the
	// sums, Started the earliest start, DurationMS from then to the last
	// report's end (the wall time of the parallel jobs), Host the hosts
	// that ran them, comma-separated.
	Summary Summary
	// Warnings say what makes the merge incomplete: a report without a
	// summary line (its run did not end), a shard of the split missing.
	Warnings []string
}

// Merge combines reports. Two reports that hold the same check are an
// error: the same shard was passed twice, or shards of different splits.
// Configuration errors in the reports' summaries are kept (once each).
func Merge(reports []*Report) (*Merged, error) {
	m := &Merged{Summary: Summary{Type: TypeSummary}}
	seen := map[string]string{} // address → the report holding it
	var end time.Time
	hosts := map[string]bool{}
	shards := map[string][]string{} // N → the K/N present
	for _, rep := range reports {
		for _, r := range rep.Results {
			if other, dup := seen[r.Address]; dup {
				return nil, fmt.Errorf("%s is in both %s and %s: merge the reports of one run's shards, each once", r.Address, other, rep.Name)
			}
			seen[r.Address] = rep.Name
			m.Results = append(m.Results, r)
		}
		s := rep.Summary
		if s == nil {
			m.Warnings = append(m.Warnings, fmt.Sprintf("%s has no summary line: the run that wrote it did not finish, so checks may be missing", rep.Name))
			for _, r := range rep.Results {
				count(&m.Summary, r.Status)
			}
			m.Summary.Total += len(rep.Results)
			continue
		}
		m.Summary.Passed += s.Passed
		m.Summary.Failed += s.Failed
		m.Summary.Errored += s.Errored
		m.Summary.Skipped += s.Skipped
		m.Summary.Total += s.Total
		m.Summary.Interrupted = m.Summary.Interrupted || s.Interrupted
		for _, d := range s.Diagnostics {
			if !slices.Contains(m.Summary.Diagnostics, d) {
				m.Summary.Diagnostics = append(m.Summary.Diagnostics, d)
			}
		}
		if !s.Started.IsZero() {
			if m.Summary.Started.IsZero() || s.Started.Before(m.Summary.Started) {
				m.Summary.Started = s.Started
			}
			if e := s.Started.Add(time.Duration(s.DurationMS * float64(time.Millisecond))); e.After(end) {
				end = e
			}
		}
		if s.Host != "" {
			hosts[s.Host] = true
		}
		if s.Shard != "" {
			_, n, _ := strings.Cut(s.Shard, "/")
			shards[n] = append(shards[n], s.Shard)
		}
	}
	if !end.IsZero() {
		m.Summary.DurationMS = millis(end.Sub(m.Summary.Started))
	}
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	m.Summary.Host = strings.Join(names, ",")
	m.Warnings = append(m.Warnings, missingShards(shards)...)
	return m, nil
}

// missingShards names the parts of each split that no report covers.
func missingShards(shards map[string][]string) []string {
	var out []string
	splits := make([]string, 0, len(shards))
	for n := range shards {
		splits = append(splits, n)
	}
	sort.Strings(splits)
	if len(splits) > 1 {
		out = append(out, "the reports come from splits into "+strings.Join(splits, " and ")+" parts: merge the shards of one run")
	}
	for _, ns := range splits {
		n, err := strconv.Atoi(ns)
		if err != nil || n > 10000 {
			continue
		}
		var missing []string
		for k := 1; k <= n; k++ {
			if !slices.Contains(shards[ns], strconv.Itoa(k)+"/"+ns) {
				missing = append(missing, strconv.Itoa(k)+"/"+ns)
			}
		}
		if len(missing) > 0 {
			out = append(out, "no report of shard "+strings.Join(missing, ", ")+": its checks are not in the merged report")
		}
	}
	return out
}

func count(s *Summary, status string) {
	switch runner.Status(status) {
	case runner.Pass:
		s.Passed++
	case runner.Fail:
		s.Failed++
	case runner.Error:
		s.Errored++
	case runner.Skip:
		s.Skipped++
	}
}

// RunSummary is the merged summary as the runner's, for the reports.
func (m *Merged) RunSummary() runner.Summary {
	return runner.Summary{Passed: m.Summary.Passed, Failed: m.Summary.Failed, Errored: m.Summary.Errored,
		Skipped: m.Summary.Skipped, Interrupted: m.Summary.Interrupted,
		Duration: time.Duration(m.Summary.DurationMS * float64(time.Millisecond)).Round(time.Microsecond)}
}

// Outcomes are the merged results as outcomes, configuration errors first
// (see ConfigOutcomes), for replaying into the reports.
func (m *Merged) Outcomes() []runner.Outcome {
	var outs []runner.Outcome
	if len(m.Summary.Diagnostics) > 0 {
		outs = ConfigOutcomes(m.Summary.Diagnostics)
	}
	for _, r := range m.Results {
		outs = append(outs, r.Outcome())
	}
	return outs
}
