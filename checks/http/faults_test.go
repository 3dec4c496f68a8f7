package http

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nettest/nettest/checks/kindtest"
	"github.com/nettest/nettest/internal/lab"
	"github.com/zclconf/go-cty/cty"
)

// hang reads whatever arrives and never answers.
func hang(c net.Conn) { io.Copy(io.Discard, c) }

// afterRequest reads the request head, then runs answer; the connection
// closes when answer returns.
func afterRequest(answer func(c net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		lab.ReadHTTPHead(c)
		answer(c)
	}
}

// TestFaults: a server that misbehaves ends the check within its timeout,
// as an error that says how far the exchange got, or as an observation when
// an answer did arrive.
func TestFaults(t *testing.T) {
	const timeout = time.Second
	silent := lab.ServeTCP(t, hang)
	headOnly := lab.ServeTCP(t, afterRequest(func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
		hang(c)
	}))
	trickle := lab.ServeTCP(t, afterRequest(func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
		for i := 0; i < 100; i++ { // bounded: 10 s at most, far past the check's timeout
			if _, err := io.WriteString(c, "."); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}))
	shortBody := lab.ServeTCP(t, afterRequest(func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
	}))
	badHeader := lab.ServeTCP(t, afterRequest(func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Weird: a\x01b\r\nContent-Length: 0\r\n\r\n")
	}))
	closes := lab.ServeTCP(t, func(c net.Conn) {})
	ssh := lab.ServeTCP(t, func(c net.Conn) { io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n"); hang(c) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		url     string
		args    map[string]cty.Value
		wantErr []string
		check   func(t *testing.T, r cty.Value)
	}{
		{"accepts and never answers", "http://" + silent + "/", nil,
			[]string{silent + " accepted the connection but sent no answer to http://" + silent + "/ within 1s (the check's timeout)"}, nil},
		{"accepts and never starts TLS", "https://" + silent + "/", nil,
			[]string{silent + " accepted the connection but the TLS handshake did not finish within 1s", "is that port serving TLS?"}, nil},
		{"headers never end", "http://" + headOnly + "/", nil,
			[]string{"started an answer to http://" + headOnly + "/ but did not finish its headers within 1s"}, nil},
		{"body never ends", "http://" + trickle + "/events", nil,
			[]string{"the body of http://" + trickle + "/events did not end within 1s", "bytes read)", "set body_limit"}, nil},
		{"body never ends, body_limit = 0", "http://" + trickle + "/events", map[string]cty.Value{"body_limit": num(0)}, nil,
			func(t *testing.T, r cty.Value) {
				ct := field(r, "headers").Index(str("content-type")).AsString()
				if fieldInt(t, r, "status") != 200 || ct != "text/event-stream" || fieldString(t, r, "body") != "" || !field(r, "body_truncated").True() {
					t.Errorf("status %d, content-type %q, body %q, truncated %v; want 200, text/event-stream, empty, true",
						fieldInt(t, r, "status"), ct, fieldString(t, r, "body"), field(r, "body_truncated").True())
				}
			}},
		{"body shorter than announced", "http://" + shortBody + "/", nil,
			[]string{"the connection closed after 10 bytes of the body of http://" + shortBody + "/, before the length the server announced"}, nil},
		{"closes at once", "http://" + closes + "/", nil,
			[]string{closes + " closed the connection without answering", "is it an HTTP server"}, nil},
		{"not HTTP", "http://" + ssh + "/", nil,
			[]string{ssh + " did not answer http://" + ssh + "/ with HTTP", `"SSH-2.0-OpenSSH_9.6"`, "is the scheme (http or https) right?"}, nil},
		{"control character in a header", "http://" + badHeader + "/", nil,
			[]string{badHeader + " sent an answer to http://" + badHeader + "/ that breaks the HTTP syntax (malformed MIME header line: \"X-Weird: a\\x01b\")"}, nil},
		{"connection refused", "http://" + refused + "/", nil,
			[]string{"connection to " + refused + " refused: nothing listens on that port"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := map[string]cty.Value{"url": str(tt.url)}
			maps.Copy(args, tt.args)
			start := time.Now()
			r, err := probe(t, timeout, args)
			if took := time.Since(start); took > timeout+3*time.Second {
				t.Errorf("took %v with a timeout of %v", took, timeout)
			}
			if !answered(t, r, err, tt.wantErr) {
				return
			}
			tt.check(t, r)
		})
	}
}

// TestInterrupted: a cancelled context (Ctrl-C) ends the request at once.
func TestInterrupted(t *testing.T) {
	silent := lab.ServeTCP(t, hang)
	k := kind(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	args := map[string]cty.Value{}
	for _, a := range k.Args {
		args[a.Name] = a.Default
		if a.Default == cty.NilVal {
			args[a.Name] = cty.NullVal(a.Type)
		}
	}
	args["url"] = str("http://" + silent + "/")
	start := time.Now()
	_, err := k.Probe.Call(ctx, cty.ObjectVal(args))
	if err == nil || !strings.Contains(err.Error(), "interrupted before http://"+silent+"/ answered") {
		t.Errorf("error = %v, want it to say the check was interrupted", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v after a cancel at 100ms", took)
	}
}

// TestEndlessBody: a body without end is read up to body_limit and no
// further; the check ends at once, with body_truncated set.
func TestEndlessBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
		for i := 0; i < 1<<16; i++ { // bounded: 4 GiB, which no passing test reaches
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL)})
	runtime.ReadMemStats(&after)
	if got := len(fieldString(t, r, "body")); got != DefaultBodyLimit {
		t.Errorf("body of %d bytes, want %d (the default body_limit)", got, DefaultBodyLimit)
	}
	if !field(r, "body_truncated").True() {
		t.Error("body_truncated = false, want true")
	}
	// The bound is loose: the point is that it does not grow with what the
	// server sends, which is gigabytes if the client keeps reading.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("allocated %d MiB for a 64 KiB body", grew>>20)
	}
}

// TestBinaryBody: a body of arbitrary bytes becomes a valid UTF-8 string:
// valid characters (NUL included) are kept, invalid bytes become U+FFFD, so
// the result is a proper cty string and reports can encode it.
func TestBinaryBody(t *testing.T) {
	garbage := []byte("ok\x00\xff\xfe\xc3(\xe2\x82 text é \x80end")
	for b := 0; b < 256; b++ {
		garbage = append(garbage, byte(b))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Latin", "caf\xe9 au lait") // ISO-8859-1, as old servers send
		w.Header().Set("Location", "/caf\xe9")
		w.Write(garbage)
	}))
	t.Cleanup(srv.Close)

	r := mustProbe(t, map[string]cty.Value{"url": str(srv.URL)})
	if got := field(r, "headers").Index(str("x-latin")).AsString(); got != "caf\uFFFD au lait" {
		t.Errorf("headers[\"x-latin\"] = %q, want the byte that is not UTF-8 replaced", got)
	}
	if got := fieldString(t, r, "location"); got != "/caf\uFFFD" {
		t.Errorf("location = %q, want the byte that is not UTF-8 replaced", got)
	}
	body := fieldString(t, r, "body")
	if !utf8.ValidString(body) {
		t.Fatalf("body is not valid UTF-8: %q", body)
	}
	contains(t, "body", body, "ok\x00\uFFFD", " text é ", "end")
	if want := strings.ToValidUTF8(string(garbage), "\uFFFD"); body != want {
		t.Errorf("body = %q\nwant %q", body, want)
	}
	// The value survives what the runner and reports do with it.
	if _, err := cty.Transform(r, func(p cty.Path, v cty.Value) (cty.Value, error) { return v, nil }); err != nil {
		t.Error(err)
	}
	diffs := kindtest.Verdict(t, "http", r, map[string]cty.Value{"body_contains": str("PNG")})
	if len(diffs) != 1 || !utf8.ValidString(diffs[0].Actual) || strings.ContainsRune(diffs[0].Actual, 0) {
		t.Errorf("diffs = %+v, want one, valid UTF-8 and with NUL escaped", diffs)
	}
}
