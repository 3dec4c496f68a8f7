package http_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/runner"
)

// TestSuite runs http checks written as a user writes them, through the
// loader and the runner, against servers on loopback.
func TestSuite(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("/created", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusMovedPermanently) })
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "new") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	src := fmt.Sprintf(`
variable "base" {
  type    = string
  default = %q
}

http "health" {
  url = "${var.base}/healthz"
  expect {
    status        = 200
    body_contains = "\"status\":\"ok\""
    headers       = { "Content-Type" = "application/json" }
    headers_match = { x-frame-options = "^(DENY|SAMEORIGIN)$" }
  }
  assert {
    condition     = self.headers["content-type"] == "application/json" && self.tls_version == ""
    error_message = "headers are keyed by lower-case name"
  }
}

http "statuses" {
  url = "${var.base}/created"
  expect {
    status = [200, 201]
  }
}

http "redirect" {
  url = "${var.base}/old"
  expect {
    status  = 301
    headers = { location = "/new" }
  }
}

http "followed" {
  url              = "${var.base}/old"
  follow_redirects = true
  expect {
    status = 200
  }
  assert {
    condition     = self.redirects == 1 && self.url == "${var.base}/new" && self.body == "new"
    error_message = "did not land on /new"
  }
}

http "uses_result" {
  url = http.followed.url
  expect {
    status = http.health.status
  }
}

http "wrong" {
  url = "${var.base}/healthz"
  expect {
    status         = 204
    body_matches   = "^down$"
    headers_match  = { x-frame-options = "^DENY$" }
    headers_absent = ["x-frame-options"]
  }
}

http "refused" {
  url = "http://%s/"
  expect {
    status = 200
  }
}

http "silent" {
  url     = "http://%s/"
  timeout = "500ms"
  expect {
    status = 200
  }
}
`, srv.URL, closedAddr, silent.Addr().String())

	start := time.Now()
	out := checktest.Run(t, src)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the suite took %v", took)
	}

	tests := []struct {
		address     string
		wantStatus  runner.Status
		wantDiffs   []checks.Diff
		wantMessage string
	}{
		{address: "http.health", wantStatus: runner.Pass},
		{address: "http.statuses", wantStatus: runner.Pass},
		{address: "http.redirect", wantStatus: runner.Pass},
		{address: "http.followed", wantStatus: runner.Pass},
		{address: "http.uses_result", wantStatus: runner.Pass},
		{address: "http.wrong", wantStatus: runner.Fail, wantDiffs: []checks.Diff{
			{Field: "status", Expected: "204", Actual: "200"},
			{Field: "body", Expected: `matches "^down$"`, Actual: `"{\"status\":\"ok\"}" (15 bytes)`},
			{Field: "headers", Expected: `{ x-frame-options matches "^DENY$" }`, Actual: `{ x-frame-options = "SAMEORIGIN" }`},
			{Field: "headers", Expected: `no x-frame-options`, Actual: `{ x-frame-options = "SAMEORIGIN" }`},
		}},
		{address: "http.refused", wantStatus: runner.Error, wantMessage: "connection to " + closedAddr + " refused"},
		{address: "http.silent", wantStatus: runner.Error, wantMessage: "accepted the connection but sent no answer to http://" + silent.Addr().String() + "/ within 500ms"},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			o, ok := out[tt.address]
			if !ok {
				t.Fatalf("no outcome for %s; have %d outcomes", tt.address, len(out))
			}
			if o.Status != tt.wantStatus {
				t.Fatalf("status = %s (%s %+v), want %s", o.Status, o.Message, o.Diffs, tt.wantStatus)
			}
			if !strings.Contains(o.Message, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", o.Message, tt.wantMessage)
			}
			if tt.wantDiffs != nil && !sameDiffs(o.Diffs, tt.wantDiffs) {
				t.Errorf("diffs:\n%s\nwant:\n%s", showDiffs(o.Diffs), showDiffs(tt.wantDiffs))
			}
		})
	}
}

// TestSuiteErrors: mistakes are configuration errors found before anything
// runs, pointing at the line (testdata/invalid marks each).
func TestSuiteErrors(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}

func sameDiffs(a, b []checks.Diff) bool {
	return showDiffs(a) == showDiffs(b)
}

func showDiffs(ds []checks.Diff) string {
	var lines []string
	for _, d := range ds {
		lines = append(lines, fmt.Sprintf("  %s: expected %s, actual %s", d.Field, d.Expected, d.Actual))
	}
	return strings.Join(lines, "\n")
}
