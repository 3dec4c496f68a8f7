package report

import (
	"strings"
	"testing"
	"time"
)

// TestMerge adds the shards' counts, spans their wall time, names their
// hosts, and says which shard of a split is missing.
func TestMerge(t *testing.T) {
	start := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	shard := func(name, part, host string, offset time.Duration, durMS float64, results ...string) *Report {
		rep := &Report{Name: name, Summary: &Summary{Type: TypeSummary, Shard: part, Host: host, Started: start.Add(offset),
			DurationMS: durMS, Total: len(results)}}
		for _, a := range results {
			rep.Results = append(rep.Results, Result{Type: TypeResult, Address: a, Status: "pass"})
			rep.Summary.Passed++
		}
		return rep
	}
	m, err := Merge([]*Report{
		shard("a", "1/3", "runner-2", time.Second, 4000, "tcp.a", "tcp.b"),
		shard("c", "3/3", "runner-1", 0, 2000, "tcp.c"),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Summary
	if s.Passed != 3 || s.Total != 3 || !s.Started.Equal(start) || s.DurationMS != 5000 || s.Host != "runner-1,runner-2" {
		t.Errorf("summary %+v", s)
	}
	if strings.Join(m.Warnings, "\n") != "no report of shard 2/3: its checks are not in the merged report" {
		t.Errorf("warnings %q", m.Warnings)
	}
	m, _ = Merge([]*Report{shard("a", "1/2", "h", 0, 1, "tcp.a"), shard("b", "2/3", "h", 0, 1, "tcp.b")})
	if len(m.Warnings) == 0 || !strings.Contains(m.Warnings[0], "splits into 2 and 3 parts") {
		t.Errorf("warnings of mixed splits %q", m.Warnings)
	}
	if _, err := Merge([]*Report{shard("a", "", "h", 0, 1, "tcp.a"), shard("b", "", "h", 0, 1, "tcp.a")}); err == nil ||
		err.Error() != "tcp.a is in both a and b: merge the reports of one run's shards, each once" {
		t.Errorf("duplicate: %v", err)
	}
}
