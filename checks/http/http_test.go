package http

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
)

// TestStatus: the status observed is compared with one code or any of a list.
func TestStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if code == http.StatusCreated {
			w.Header().Set("Location", "/things/1") // not a redirect: no note in the diff
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name     string
		path     string
		expect   cty.Value
		wantDiff *checks.Diff
	}{
		{"200 expected 200", "/200", num(200), nil},
		{"503 expected 200", "/503", num(200), &checks.Diff{Field: "status", Expected: "200", Actual: "503"}},
		{"204 in a list", "/204", cty.TupleVal([]cty.Value{num(200), num(204)}), nil},
		{"500 not in a list", "/500", cty.TupleVal([]cty.Value{num(200), num(204)}),
			&checks.Diff{Field: "status", Expected: "one of [200, 204]", Actual: "500"}},
		{"404 in a list(number)", "/404", cty.ListVal([]cty.Value{num(404), num(410)}), nil},
		{"one-element list", "/201", cty.TupleVal([]cty.Value{num(200)}),
			&checks.Diff{Field: "status", Expected: "one of [200]", Actual: "201"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL + tt.path)})
			diffs := kindtest.Verdict(t, "http", r, map[string]cty.Value{"status": tt.expect})
			switch {
			case tt.wantDiff == nil && len(diffs) != 0:
				t.Errorf("diffs = %+v, want none", diffs)
			case tt.wantDiff != nil && (len(diffs) != 1 || diffs[0] != *tt.wantDiff):
				t.Errorf("diffs = %+v, want [%+v]", diffs, *tt.wantDiff)
			}
		})
	}
}

// TestRedirects: like curl -I, the status of the URL as written unless
// follow_redirects is set; a loop ends at the redirect limit as data.
func TestRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusFound) })
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "new place") })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		name          string
		path          string
		follow        bool
		wantStatus    int
		wantURL       string
		wantLocation  string
		wantRedirects int
		wantActual    string // of the diff against expect { status = 200 }
	}{
		{"not followed by default", "/old", false, 302, srv.URL + "/old", "/new", 0, `302 (redirect to "/new")`},
		{"followed", "/old", true, 200, srv.URL + "/new", "", 1, ""},
		{"loop stops at the limit", "/loop", true, 301, srv.URL + "/loop", "/loop", MaxRedirects,
			`301 (redirect to "/loop", not followed: 10 redirects is the most followed)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL + tt.path), "follow_redirects": cty.BoolVal(tt.follow)})
			if got := fieldInt(t, r, "status"); got != tt.wantStatus {
				t.Errorf("status = %d, want %d", got, tt.wantStatus)
			}
			if got := fieldString(t, r, "url"); got != tt.wantURL {
				t.Errorf("url = %q, want %q", got, tt.wantURL)
			}
			if got := fieldString(t, r, "location"); got != tt.wantLocation {
				t.Errorf("location = %q, want %q", got, tt.wantLocation)
			}
			if got := fieldInt(t, r, "redirects"); got != tt.wantRedirects {
				t.Errorf("redirects = %d, want %d", got, tt.wantRedirects)
			}
			diffs := kindtest.Verdict(t, "http", r, map[string]cty.Value{"status": num(200)})
			if tt.wantActual == "" && len(diffs) != 0 || tt.wantActual != "" && (len(diffs) != 1 || diffs[0].Actual != tt.wantActual) {
				t.Errorf("diffs = %+v, want actual %q", diffs, tt.wantActual)
			}
		})
	}
}

// TestHeaders: exact values, regular expressions, absent headers; names in
// any case; several values of one header joined.
func TestHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Add("Cache-Control", "no-store")
		h.Add("Cache-Control", "private")
		h.Set("Server", "test/1.0")
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL)})

	headers := field(r, "headers")
	for name, want := range map[string]string{
		"content-type":              "text/plain; charset=utf-8",
		"cache-control":             "no-store, private",
		"strict-transport-security": "max-age=31536000; includeSubDomains",
	} {
		if got := headers.Index(str(name)); got.AsString() != want {
			t.Errorf("headers[%q] = %q, want %q", name, got.AsString(), want)
		}
	}

	tests := []struct {
		name         string
		expect       map[string]cty.Value
		wantExpected string
		wantActual   string
	}{
		{"exact, any case", map[string]cty.Value{"headers": strMap("Content-Type", "text/plain; charset=utf-8", "cache-control", "no-store, private")}, "", ""},
		{"exact mismatch and absent", map[string]cty.Value{"headers": strMap("X-Frame-Options", "DENY", "x-content-type-options", "nosniff")},
			`{ x-content-type-options = "nosniff", x-frame-options = "DENY" }`, `{ x-content-type-options absent, x-frame-options = "SAMEORIGIN" }`},
		{"exact is not a substring", map[string]cty.Value{"headers": strMap("content-type", "text/plain")},
			`{ content-type = "text/plain" }`, `{ content-type = "text/plain; charset=utf-8" }`},
		{"regex", map[string]cty.Value{"headers_match": strMap("strict-transport-security", `max-age=\d{7,}`, "x-frame-options", "^(DENY|SAMEORIGIN)$")}, "", ""},
		{"regex mismatch", map[string]cty.Value{"headers_match": strMap("strict-transport-security", `preload`)},
			`{ strict-transport-security matches "preload" }`, `{ strict-transport-security = "max-age=31536000; includeSubDomains" }`},
		{"empty regex requires presence", map[string]cty.Value{"headers_match": strMap("content-security-policy", "")},
			`{ content-security-policy matches "" }`, `{ content-security-policy absent }`},
		{"absent", map[string]cty.Value{"headers_absent": cty.ListVal([]cty.Value{str("X-Powered-By")})}, "", ""},
		{"absent but present", map[string]cty.Value{"headers_absent": cty.ListVal([]cty.Value{str("X-Powered-By"), str("Server")})},
			`no server`, `{ server = "test/1.0" }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs := kindtest.Verdict(t, "http", r, tt.expect)
			if tt.wantExpected == "" {
				if len(diffs) != 0 {
					t.Errorf("diffs = %+v, want none", diffs)
				}
				return
			}
			want := checks.Diff{Field: "headers", Expected: tt.wantExpected, Actual: tt.wantActual}
			if len(diffs) != 1 || diffs[0] != want {
				t.Errorf("diffs = %+v\nwant [%+v]", diffs, want)
			}
		})
	}
}

// TestBody: body_contains and body_matches, and the body limit.
func TestBody(t *testing.T) {
	page := strings.Repeat("lorem ipsum ", 1000) + "THE END"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			fmt.Fprint(w, `{"status":"ok","db":"up"}`)
			return
		}
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)

	health := mustProbe(t, map[string]cty.Value{"url": str(srv.URL + "/health")})
	if got := fieldString(t, health, "body"); got != `{"status":"ok","db":"up"}` {
		t.Errorf("body = %q", got)
	}
	if field(health, "body_truncated").True() {
		t.Error("body_truncated = true for a short body")
	}
	tests := []struct {
		name       string
		expect     map[string]cty.Value
		wantDiff   bool
		wantActual string
	}{
		{"contains", map[string]cty.Value{"body_contains": str(`"status":"ok"`)}, false, ""},
		{"does not contain", map[string]cty.Value{"body_contains": str(`"db":"down"`)}, true, `"{\"status\":\"ok\",\"db\":\"up\"}" (25 bytes)`},
		{"matches", map[string]cty.Value{"body_matches": str(`"db":\s*"(up|degraded)"`)}, false, ""},
		{"does not match", map[string]cty.Value{"body_matches": str(`^OK$`)}, true, `"{\"status\":\"ok\",\"db\":\"up\"}" (25 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs := kindtest.Verdict(t, "http", health, tt.expect)
			if !tt.wantDiff {
				if len(diffs) != 0 {
					t.Errorf("diffs = %+v, want none", diffs)
				}
				return
			}
			if len(diffs) != 1 || diffs[0].Field != "body" || diffs[0].Actual != tt.wantActual {
				t.Errorf("diffs = %+v, want one on body with actual %s", diffs, tt.wantActual)
			}
		})
	}

	t.Run("limit", func(t *testing.T) {
		r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL + "/page"), "body_limit": num(100)})
		if got := fieldString(t, r, "body"); got != page[:100] {
			t.Errorf("body = %q, want the first 100 bytes", got)
		}
		if !field(r, "body_truncated").True() {
			t.Error("body_truncated = false, want true")
		}
		diffs := kindtest.Verdict(t, "http", r, map[string]cty.Value{"body_contains": str("THE END")})
		if len(diffs) != 1 {
			t.Fatalf("diffs = %+v, want one", diffs)
		}
		contains(t, "actual", diffs[0].Actual, "(first 100 bytes read, body_limit reached)")
	})
	t.Run("default limit holds the page", func(t *testing.T) {
		r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL + "/page")})
		if len(fieldString(t, r, "body")) != len(page) || field(r, "body_truncated").True() {
			t.Errorf("body of %d bytes, truncated %v; want %d bytes whole", len(fieldString(t, r, "body")), field(r, "body_truncated").True(), len(page))
		}
		if d := kindtest.Verdict(t, "http", r, map[string]cty.Value{"body_contains": str("THE END")}); len(d) != 0 {
			t.Errorf("diffs = %+v, want none", d)
		}
	})
	t.Run("limit 0 reads nothing", func(t *testing.T) {
		r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL + "/page"), "body_limit": num(0)})
		if fieldString(t, r, "body") != "" || !field(r, "body_truncated").True() || fieldInt(t, r, "status") != 200 {
			t.Errorf("body %q, truncated %v, status %d; want empty, true, 200", fieldString(t, r, "body"), field(r, "body_truncated").True(), fieldInt(t, r, "status"))
		}
	})
	t.Run("limit inside a multi-byte character", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "aé€") }))
		t.Cleanup(srv.Close)
		r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL), "body_limit": num(4)}) // "a", 2 bytes of é, 1 of €
		if got := fieldString(t, r, "body"); got != "aé" {
			t.Errorf("body = %q, want %q (the cut character dropped, no U+FFFD)", got, "aé")
		}
	})
}

// TestRequest: what the check sends is what it says: method, headers, body,
// Host header, a default User-Agent, and no compression or keep-alive.
func TestRequest(t *testing.T) {
	var (
		mu      sync.Mutex
		got     *http.Request
		gotBody string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, gotBody = r, string(b)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name  string
		args  map[string]cty.Value
		check func(t *testing.T, r *http.Request, body string)
	}{
		{"defaults", map[string]cty.Value{}, func(t *testing.T, r *http.Request, body string) {
			if r.Method != "GET" || r.UserAgent() != "nettest" || r.Header.Get("Accept-Encoding") != "" || !r.Close || body != "" {
				t.Errorf("method %s, user agent %q, accept-encoding %q, close %v, body %q; want GET, nettest, none, true, empty",
					r.Method, r.UserAgent(), r.Header.Get("Accept-Encoding"), r.Close, body)
			}
		}},
		{"method, headers and body", map[string]cty.Value{
			"method":  str("POST"),
			"headers": strMap("content-type", "application/json", "User-Agent", "probe/2", "X-Token", "abc"),
			"body":    str(`{"ping":1}`),
		}, func(t *testing.T, r *http.Request, body string) {
			if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || r.UserAgent() != "probe/2" || r.Header.Get("X-Token") != "abc" || body != `{"ping":1}` {
				t.Errorf("got %s %v body %q", r.Method, r.Header, body)
			}
		}},
		{"host_header", map[string]cty.Value{"host_header": str("www.example.test")}, func(t *testing.T, r *http.Request, _ string) {
			if r.Host != "www.example.test" {
				t.Errorf("Host = %q, want www.example.test", r.Host)
			}
		}},
		{"Host in headers", map[string]cty.Value{"headers": strMap("host", "api.example.test:8080")}, func(t *testing.T, r *http.Request, _ string) {
			if r.Host != "api.example.test:8080" {
				t.Errorf("Host = %q, want api.example.test:8080", r.Host)
			}
		}},
		{"HEAD", map[string]cty.Value{"method": str("HEAD")}, func(t *testing.T, r *http.Request, _ string) {
			if r.Method != "HEAD" {
				t.Errorf("method = %s, want HEAD", r.Method)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := map[string]cty.Value{"url": str(srv.URL + "/x")}
			maps.Copy(args, tt.args)
			mustProbe(t, args)
			mu.Lock()
			r, body := got, gotBody
			mu.Unlock()
			tt.check(t, r, body)
		})
	}
}

// TestHTTP2: an https server offering h2 is spoken to in HTTP/2, as curl does.
func TestHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.Proto) }))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL), "insecure_skip_verify": cty.True})
	if got := fieldString(t, r, "http_version"); got != "HTTP/2.0" {
		t.Errorf("http_version = %q, want HTTP/2.0", got)
	}
	if got := fieldString(t, r, "body"); got != "HTTP/2.0" {
		t.Errorf("the server saw %q, want HTTP/2.0", got)
	}
}

// BenchmarkProbe measures one check against a loopback server: a new
// connection, one request, a small body. Each check opens its own
// connection by design, so this is the cost per check.
func BenchmarkProbe(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"ok"}`) }))
	b.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL, Method: "GET", Headers: map[string]string{}, BodyLimit: DefaultBodyLimit}
	for b.Loop() {
		if _, err := Probe(b.Context(), cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProbeTLS is BenchmarkProbe over TLS 1.3: a full handshake per check.
func BenchmarkProbeTLS(b *testing.B) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"ok"}`) }))
	b.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL, Method: "GET", Headers: map[string]string{}, BodyLimit: DefaultBodyLimit, InsecureSkipVerify: true}
	for b.Loop() {
		if _, err := Probe(b.Context(), cfg); err != nil {
			b.Fatal(err)
		}
	}
}
