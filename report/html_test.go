package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// sampleChecks is a run as the records of a lab run with two vantages hold
// it: ports open, closed and filtered from three places, HTTP and DNS, a
// traceroute through two routers that passes and one that misses its via,
// a name that does not resolve and a dependent skipped for a failure.
func sampleChecks(t testing.TB) []*pageCheck {
	t.Helper()
	obj := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	file := "lab/lab.nettest.hcl"
	return []*pageCheck{
		{Address: "tcp.web", Kind: "tcp", Status: "pass", File: file, Line: 10, DurationMS: 1.2, Attempts: 1, Tags: []string{"web"},
			Result: obj(`{"host":"198.18.3.2","port":80,"address":"198.18.3.2:80","open":true,"state":"open","error":"","duration_ms":1.2}`)},
		{Address: `tcp.web_from["office"]`, Kind: "tcp", Status: "pass", File: file, Line: 18, DurationMS: 2.5, Attempts: 1, Vantage: "office", Tags: []string{"web"},
			Result: obj(`{"host":"198.18.3.2","port":80,"address":"198.18.3.2:80","open":true,"state":"open","error":"","duration_ms":2.5}`)},
		{Address: `tcp.web_from["dmz"]`, Kind: "tcp", Status: "fail", File: file, Line: 18, DurationMS: 1003, Attempts: 1, Vantage: "dmz", Tags: []string{"web"},
			Description: "The web tier answers from every zone.",
			Diffs:       []pageDiff{{Field: "open", Expected: "true", Actual: "false (filtered: no answer within the timeout)"}},
			Result:      obj(`{"host":"198.18.3.2","port":80,"address":"198.18.3.2:80","open":false,"state":"filtered","error":"no answer within the timeout","duration_ms":1003}`)},
		{Address: "tcp.db_closed", Kind: "tcp", Status: "pass", File: file, Line: 26, DurationMS: 0.8, Attempts: 1, Tags: []string{"db"},
			Result: obj(`{"host":"198.18.3.2","port":5432,"address":"198.18.3.2:5432","open":false,"state":"closed","error":"connection refused","duration_ms":0.8}`)},
		{Address: `tcp.db_from["office"]`, Kind: "tcp", Status: "fail", File: file, Line: 34, DurationMS: 0.9, Attempts: 1, Vantage: "office", Tags: []string{"db"},
			Diffs:  []pageDiff{{Field: "state", Expected: `"filtered"`, Actual: `"open"`}},
			Result: obj(`{"host":"198.18.3.2","port":5432,"address":"198.18.3.2:5432","open":true,"state":"open","error":"","duration_ms":0.9}`)},
		{Address: "http.health", Kind: "http", Status: "pass", File: file, Line: 42, DurationMS: 4.1, Attempts: 1, Tags: []string{"web"},
			Result: obj(`{"url":"http://198.18.3.2/healthz","status":200,"body":"ok","duration_ms":4.1}`)},
		{Address: `http.health_from["office"]`, Kind: "http", Status: "fail", File: file, Line: 50, DurationMS: 3.3, Attempts: 2, Vantage: "office",
			Message: "failed on all 2 attempts",
			Diffs:   []pageDiff{{Field: "status", Expected: "200", Actual: "503"}},
			Result:  obj(`{"url":"http://198.18.3.2/healthz","status":503,"body":"down","duration_ms":3.3}`)},
		{Address: "dns.api", Kind: "dns", Status: "fail", File: file, Line: 60, DurationMS: 0.7, Attempts: 1,
			Diffs:  []pageDiff{{Field: "answers", Expected: `["198.18.3.99"]`, Actual: `["198.18.3.2"]`}},
			Result: obj(`{"name":"api.lab.test","type":"A","server":"198.18.3.53:53","rcode":"NOERROR","answers":["198.18.3.2"],"duration_ms":0.7}`)},
		{Address: "http.api_by_dns", Kind: "http", Status: "skip", File: file, Line: 68, Attempts: 0, DependsOn: []string{"dns.api"},
			Message: "dependency dns.api did not pass (fail)"},
		{Address: "tcp.api_port", Kind: "tcp", Status: "skip", File: file, Line: 76, DependsOn: []string{"http.api_by_dns"},
			Message: "dependency http.api_by_dns did not pass (skip)"},
		{Address: "tcp.nope", Kind: "tcp", Status: "error", File: file, Line: 84, DurationMS: 0.3, Attempts: 1,
			Message: `cannot resolve host "nope.lab.test": no such host; check the name, or give an address`},
		{Address: "traceroute.server", Kind: "traceroute", Status: "pass", File: file, Line: 92, DurationMS: 12, Attempts: 1, DependsOn: []string{"tcp.web"},
			Result: obj(`{"host":"198.18.3.2","address":"198.18.3.2","protocol":"icmp","reached":true,"hop_count":3,"hops":[
				{"ttl":1,"address":"198.18.1.1","addresses":["198.18.1.1"],"rtt_ms":0.11,"replies":3,"unreachable":""},
				{"ttl":2,"address":"198.18.2.2","addresses":["198.18.2.2"],"rtt_ms":0.19,"replies":3,"unreachable":""},
				{"ttl":3,"address":"198.18.3.2","addresses":["198.18.3.2"],"rtt_ms":0.25,"replies":3,"unreachable":""}],"error":"","duration_ms":12}`)},
		{Address: "traceroute.via_firewall", Kind: "traceroute", Status: "fail", File: file, Line: 100, DurationMS: 2010, Attempts: 1,
			Diffs: []pageDiff{{Field: "hops", Expected: `via ["198.18.1.1", "198.18.9.1"]`, Actual: `["198.18.1.1", "198.18.2.2", *] (no "198.18.9.1" after "198.18.1.1")`},
				{Field: "reached", Expected: "true", Actual: "false"}},
			Result: obj(`{"host":"198.18.4.2","address":"198.18.4.2","protocol":"icmp","reached":false,"hop_count":3,"hops":[
				{"ttl":1,"address":"198.18.1.1","addresses":["198.18.1.1"],"rtt_ms":0.12,"replies":3,"unreachable":""},
				{"ttl":2,"address":"198.18.2.2","addresses":["198.18.2.2"],"rtt_ms":0.2,"replies":3,"unreachable":""},
				{"ttl":3,"address":"","addresses":[],"rtt_ms":null,"replies":0,"unreachable":""}],"error":"","duration_ms":2010}`)},
		{Address: "ping.gateway", Kind: "ping", Status: "pass", File: file, Line: 110, DurationMS: 210, Attempts: 1, Vantage: "dmz",
			Result: obj(`{"host":"198.18.1.1","address":"198.18.1.1","sent":3,"received":3,"loss_percent":0,"rtt_min_ms":0.05,"rtt_avg_ms":0.08,"rtt_max_ms":0.1,"reachable":true,"duration_ms":210}`)},
		{Address: "sysctl.forwarding", Kind: "sysctl", Status: "pass", File: file, Line: 120, DurationMS: 0.1, Attempts: 1,
			Result: obj(`{"key":"net.ipv4.ip_forward","value":"1","duration_ms":0.1}`)},
	}
}

func sampleSummary() pageSummary {
	return pageSummary{Passed: 7, Failed: 5, Errored: 1, Skipped: 2, DurationMS: 2034,
		Start: time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC), Host: "ci-runner-7"}
}

func renderSample(t testing.TB) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeHTML(&b, sampleSummary(), sampleChecks(t)); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("NETTEST_HTML_SAMPLE"); out != "" {
		os.WriteFile(out, b.Bytes(), 0o644)
	}
	return b.String()
}

func TestHTMLSample(t *testing.T) {
	page := renderSample(t)
	if !strings.Contains(page, "tcp.nope") {
		t.Error("no tcp.nope")
	}
}
