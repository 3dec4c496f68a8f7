package http

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
)

// tlsServer starts an https server on 127.0.0.1 with the given TLS config.
func tlsServer(t testing.TB, cfg *tls.Config, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = quiet
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// quiet discards the log of a test server, which reports every handshake
// the tests make fail on purpose.
var quiet = log.New(io.Discard, "", 0)

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })

// TestVerification: a server certificate is verified against the system's
// authorities, or ca_file's; insecure_skip_verify skips that. A certificate
// that does not verify is an error that says what to set.
func TestVerification(t *testing.T) {
	ca := newAuthority(t, "nettest test CA")
	other := newAuthority(t, "some other CA")
	srv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{ca.issue(t, time.Now().Add(90*24*time.Hour), false, "127.0.0.1").tls}}, hello)
	builtin := tlsServer(t, nil, hello)
	plain := httptest.NewServer(hello)
	t.Cleanup(plain.Close)
	builtinPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: builtin.Certificate().Raw})

	tests := []struct {
		name    string
		url     string
		args    map[string]cty.Value
		wantErr []string // parts of the error; none means an answer is expected
	}{
		{"no authority for the certificate", srv.URL, nil,
			[]string{"certificate of 127.0.0.1:", `not signed by a trusted authority (issued by "CN=nettest test CA")`, "set ca_file", "insecure_skip_verify = true"}},
		{"insecure_skip_verify", srv.URL, map[string]cty.Value{"insecure_skip_verify": cty.True}, nil},
		{"ca_file", srv.URL, map[string]cty.Value{"ca_file": str(writeFile(t, "ca.pem", ca.pem))}, nil},
		{"ca_file with httptest's certificate", builtin.URL, map[string]cty.Value{"ca_file": str(writeFile(t, "builtin.pem", builtinPEM))}, nil},
		{"ca_file of another authority", srv.URL, map[string]cty.Value{"ca_file": str(writeFile(t, "other.pem", other.pem))},
			[]string{"not signed by a trusted authority", "set ca_file"}},
		{"ca_file missing", srv.URL, map[string]cty.Value{"ca_file": str(filepath.Join(t.TempDir(), "nope.pem"))},
			[]string{"cannot read ca_file:", `nope.pem": no such file or directory`, "PEM file"}},
		{"ca_file missing, plain http", plain.URL, map[string]cty.Value{"ca_file": str(filepath.Join(t.TempDir(), "nope.pem"))},
			[]string{"cannot read ca_file:", `nope.pem": no such file or directory`, "PEM file"}},
		{"ca_file not PEM", srv.URL, map[string]cty.Value{"ca_file": str(writeFile(t, "ca.txt", []byte("not a certificate\n")))},
			[]string{`ca.txt" holds no PEM certificate`, "-----BEGIN CERTIFICATE-----"}},
		{"https to a plain http port", strings.Replace(plain.URL, "http:", "https:", 1), nil,
			[]string{"did not answer the TLS handshake with TLS", "use an http:// URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := map[string]cty.Value{"url": str(tt.url)}
			maps.Copy(args, tt.args)
			r, err := probe(t, 5*time.Second, args)
			if !answered(t, r, err, tt.wantErr) {
				return
			}
			if fieldInt(t, r, "status") != 200 || fieldString(t, r, "tls_version") != "TLS1.3" {
				t.Errorf("status %d, tls_version %q; want 200, TLS1.3", fieldInt(t, r, "status"), fieldString(t, r, "tls_version"))
			}
		})
	}
}

// TestPlainHTTPToTLSPort: Go's TLS server answers plain HTTP with a 400,
// which is an answer and so an observation, not an error.
func TestPlainHTTPToTLSPort(t *testing.T) {
	srv := tlsServer(t, nil, hello)
	r := mustProbe(t, map[string]cty.Value{"url": str(strings.Replace(srv.URL, "https:", "http:", 1))})
	if got := fieldInt(t, r, "status"); got != 400 {
		t.Errorf("status = %d, want 400", got)
	}
	if got := fieldString(t, r, "tls_version"); got != "" {
		t.Errorf("tls_version = %q, want empty for plain http", got)
	}
}

// TestCertificateExpiry: cert_expiry, cert_days_left and cert_days_left_min.
func TestCertificateExpiry(t *testing.T) {
	ca := newAuthority(t, "nettest test CA")
	caFile := str(writeFile(t, "ca.pem", ca.pem))
	plain := httptest.NewServer(hello)
	t.Cleanup(plain.Close)

	tests := []struct {
		name       string
		notAfter   time.Time // zero: plain http
		insecure   bool
		wantDays   int
		wantActual string // of the diff against cert_days_left_min = 14; "" passes
		wantErr    []string
	}{
		{"100 days left", time.Now().Add(100*24*time.Hour + time.Hour), false, 100, "", nil},
		{"10 days left", time.Now().Add(10*24*time.Hour + time.Hour), false, 10, "10 (expires ", nil},
		{"a few hours left", time.Now().Add(3 * time.Hour), false, 0, "0 (expires ", nil},
		{"expired, verified", time.Now().Add(-36 * time.Hour), false, 0, "", []string{"has expired or is not valid yet", "insecure_skip_verify = true", "cert_days_left"}},
		{"expired, not verified", time.Now().Add(-36 * time.Hour), true, -2, "-2 (expires ", nil},
		{"plain http", time.Time{}, false, 0, "no certificate (plain http)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := plain.URL
			if !tt.notAfter.IsZero() {
				srv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{ca.issue(t, tt.notAfter, false, "127.0.0.1").tls}}, hello)
				url = srv.URL
			}
			r, err := probe(t, 5*time.Second, map[string]cty.Value{"url": str(url), "ca_file": caFile, "insecure_skip_verify": cty.BoolVal(tt.insecure)})
			if !answered(t, r, err, tt.wantErr) {
				return
			}
			if got := fieldInt(t, r, "cert_days_left"); got != tt.wantDays {
				t.Errorf("cert_days_left = %d, want %d", got, tt.wantDays)
			}
			wantExpiry := ""
			if !tt.notAfter.IsZero() {
				wantExpiry = tt.notAfter.UTC().Truncate(time.Second).Format(time.RFC3339)
			}
			if got := fieldString(t, r, "cert_expiry"); got != wantExpiry {
				t.Errorf("cert_expiry = %q, want %q", got, wantExpiry)
			}
			diffs := kindtest.Verdict(t, "http", r, map[string]cty.Value{"cert_days_left_min": num(14)})
			if tt.wantActual == "" {
				if len(diffs) != 0 {
					t.Errorf("diffs = %+v, want none", diffs)
				}
				return
			}
			if len(diffs) != 1 || diffs[0].Field != "cert_days_left" || diffs[0].Expected != "at least 14" || !strings.HasPrefix(diffs[0].Actual, tt.wantActual) {
				t.Errorf("diffs = %+v, want one on cert_days_left, at least 14, actual starting %q", diffs, tt.wantActual)
			}
		})
	}
}

// TestClientCertificate: a server that requires a client certificate
// (mutual TLS) gets one from client_cert_file and client_key_file.
func TestClientCertificate(t *testing.T) {
	serverCA := newAuthority(t, "server CA")
	clientCA := newAuthority(t, "client CA")
	strangerCA := newAuthority(t, "stranger CA")
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	srv := tlsServer(t, &tls.Config{
		Certificates: []tls.Certificate{serverCA.issue(t, time.Now().Add(90*24*time.Hour), false, "127.0.0.1").tls},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello ", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))

	client := clientCA.issue(t, time.Now().Add(24*time.Hour), true)
	stranger := strangerCA.issue(t, time.Now().Add(24*time.Hour), true)
	certFile := str(writeFile(t, "client.crt", client.certPEM))
	keyFile := str(writeFile(t, "client.key", client.keyPEM))
	bothFile := str(writeFile(t, "client.pem", append(append([]byte{}, client.certPEM...), client.keyPEM...)))

	tests := []struct {
		name    string
		args    map[string]cty.Value
		wantErr []string
	}{
		{"no client certificate", nil, []string{"rejected the TLS connection", "certificate required", "set client_cert_file and client_key_file"}},
		{"certificate and key", map[string]cty.Value{"client_cert_file": certFile, "client_key_file": keyFile}, nil},
		{"both in one file", map[string]cty.Value{"client_cert_file": bothFile}, nil},
		{"key missing", map[string]cty.Value{"client_cert_file": certFile}, []string{"client_cert_file", "set client_key_file"}},
		{"key without certificate", map[string]cty.Value{"client_key_file": keyFile}, []string{"client_key_file is set but client_cert_file is not"}},
		{"certificate file missing", map[string]cty.Value{"client_cert_file": str("/nonexistent/client.crt"), "client_key_file": keyFile},
			[]string{`cannot read the client certificate: "/nonexistent/client.crt": no such file or directory`}},
		{"certificate of an unknown authority", map[string]cty.Value{
			"client_cert_file": str(writeFile(t, "s.crt", stranger.certPEM)), "client_key_file": str(writeFile(t, "s.key", stranger.keyPEM))},
			[]string{"rejected the TLS connection", "unknown certificate authority", "check that client_cert_file", "s.crt\" holds a certificate the server trusts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := map[string]cty.Value{"url": str(srv.URL), "ca_file": str(writeFile(t, "ca.pem", serverCA.pem))}
			maps.Copy(args, tt.args)
			r, err := probe(t, 5*time.Second, args)
			if !answered(t, r, err, tt.wantErr) {
				return
			}
			if got := fieldString(t, r, "body"); got != "hello nettest test" {
				t.Errorf("body = %q, want the server to greet the client certificate", got)
			}
		})
	}
}

// TestServerName: host_header reaches a virtual host by address and sets
// the TLS server name too; server_name overrides that; the certificate is
// verified against the name sent.
func TestServerName(t *testing.T) {
	ca := newAuthority(t, "nettest test CA")
	caFile := str(writeFile(t, "ca.pem", ca.pem))
	year := time.Now().Add(365 * 24 * time.Hour)
	byName := map[string]*tls.Certificate{}
	for _, n := range []string{"a.test", "b.test", "localhost"} {
		byName[n] = &ca.issue(t, year, false, n).tls
	}
	byAddr := &ca.issue(t, year, false, "127.0.0.1").tls

	var (
		mu   sync.Mutex
		seen []string // "SNI|Host" per request, in order
	)
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.TLS.ServerName+"|"+r.Host)
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	// Without SNI the server uses Certificates, with SNI it asks GetCertificate.
	cfg := &tls.Config{Certificates: []tls.Certificate{*byAddr}, GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if c, ok := byName[h.ServerName]; ok {
			return c, nil
		}
		return byAddr, nil
	}}
	target := tlsServer(t, cfg.Clone(), record(hello))
	targetByName := strings.Replace(target.URL, "127.0.0.1", "localhost", 1)
	front := tlsServer(t, cfg.Clone(), record(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targetByName+"/", http.StatusFound)
	})))

	tests := []struct {
		name     string
		url      string
		args     map[string]cty.Value
		wantSeen []string
		wantDNS  []string
		wantErr  []string
	}{
		{"by address", target.URL, nil, []string{"|" + target.Listener.Addr().String()}, []string{}, nil},
		{"host_header sets the server name", target.URL, map[string]cty.Value{"host_header": str("a.test")},
			[]string{"a.test|a.test"}, []string{"a.test"}, nil},
		{"host_header with a port", target.URL, map[string]cty.Value{"host_header": str("a.test:8443")},
			[]string{"a.test|a.test:8443"}, []string{"a.test"}, nil},
		{"server_name overrides host_header's", target.URL, map[string]cty.Value{"host_header": str("a.test"), "server_name": str("b.test")},
			[]string{"b.test|a.test"}, []string{"b.test"}, nil},
		{"server_name alone", target.URL, map[string]cty.Value{"server_name": str("b.test")},
			[]string{"b.test|" + target.Listener.Addr().String()}, []string{"b.test"}, nil},
		{"a name the certificate does not cover", target.URL, map[string]cty.Value{"server_name": str("c.test")}, nil, nil,
			[]string{`is not valid for "c.test" (it covers "127.0.0.1")`, "set server_name or host_header"}},
		{"a redirect to another host is verified against that host", front.URL,
			map[string]cty.Value{"host_header": str("a.test"), "follow_redirects": cty.True},
			[]string{"a.test|a.test", "localhost|" + strings.TrimPrefix(targetByName, "https://")}, []string{"localhost"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			args := map[string]cty.Value{"url": str(tt.url), "ca_file": caFile}
			maps.Copy(args, tt.args)
			r, err := probe(t, 5*time.Second, args)
			if !answered(t, r, err, tt.wantErr) {
				return
			}
			mu.Lock()
			got := strings.Join(seen, " ")
			mu.Unlock()
			if want := strings.Join(tt.wantSeen, " "); got != want {
				t.Errorf("the server saw SNI|Host %q, want %q", got, want)
			}
			if got, want := checks.Strings(field(r, "cert_dns_names")), tt.wantDNS; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("cert_dns_names = %q, want %q", got, want)
			}
		})
	}
}

// TestIPv6: an IPv6 literal URL, over TLS with a server name override, which
// must be recognised as the URL's own address in its bracketed form.
func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	ca := newAuthority(t, "nettest test CA")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.TLS.ServerName) }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = quiet
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, time.Now().Add(24*time.Hour), false, "v6.test", "::1").tls}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := str(writeFile(t, "ca.pem", ca.pem))

	for _, sni := range []string{"", "v6.test"} {
		args := map[string]cty.Value{"url": str(srv.URL + "/"), "ca_file": caFile}
		if sni != "" {
			args["server_name"] = str(sni)
		}
		r := mustProbe(t, args)
		if got := fieldString(t, r, "body"); got != sni {
			t.Errorf("server_name %q: the server saw SNI %q", sni, got)
		}
		if !strings.HasPrefix(fieldString(t, r, "url"), "https://[::1]:") {
			t.Errorf("url = %q", fieldString(t, r, "url"))
		}
	}
}

// TestTLSFilesReadByEveryCheck: ca_file and the client certificate are
// read by every check that uses them, however often the same files parsed
// before, so a file changed between two checks is seen by the second.
func TestTLSFilesReadByEveryCheck(t *testing.T) {
	serverCA, clientCA, otherCA := newAuthority(t, "server CA"), newAuthority(t, "client CA"), newAuthority(t, "other CA")
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	srv := tlsServer(t, &tls.Config{
		Certificates: []tls.Certificate{serverCA.issue(t, time.Now().Add(24*time.Hour), false, "127.0.0.1").tls},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, hello)
	client := clientCA.issue(t, time.Now().Add(24*time.Hour), true)
	caFile := writeFile(t, "ca.pem", serverCA.pem)
	certFile := writeFile(t, "client.crt", client.certPEM)
	keyFile := writeFile(t, "client.key", client.keyPEM)
	args := map[string]cty.Value{"url": str(srv.URL), "ca_file": str(caFile), "client_cert_file": str(certFile), "client_key_file": str(keyFile)}
	rewrite := func(path string, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		r, err := probe(t, 5*time.Second, args)
		if answered(t, r, err, nil) && fieldString(t, r, "body") != "hello" {
			t.Fatalf("body = %q", fieldString(t, r, "body"))
		}
	}

	rewrite(caFile, otherCA.pem)
	r, err := probe(t, 5*time.Second, args)
	answered(t, r, err, []string{"is not signed by a trusted authority"})
	rewrite(caFile, []byte("not a certificate"))
	r, err = probe(t, 5*time.Second, args)
	answered(t, r, err, []string{"holds no PEM certificate"})
	rewrite(caFile, serverCA.pem)

	rewrite(keyFile, otherCA.issue(t, time.Now().Add(24*time.Hour), true).keyPEM)
	r, err = probe(t, 5*time.Second, args)
	answered(t, r, err, []string{"are not a PEM certificate and its private key", "private key does not match public key"})
	rewrite(keyFile, client.keyPEM)
	r, err = probe(t, 5*time.Second, args)
	answered(t, r, err, nil)
	os.Remove(certFile)
	r, err = probe(t, 5*time.Second, args)
	answered(t, r, err, []string{"cannot read the client certificate", "no such file or directory"})
}

// BenchmarkProbeMutualTLS is BenchmarkProbeTLS verifying the server
// against ca_file and presenting a client certificate: the files are read
// for every check.
func BenchmarkProbeMutualTLS(b *testing.B) {
	serverCA, clientCA := newAuthority(b, "server CA"), newAuthority(b, "client CA")
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	srv := tlsServer(b, &tls.Config{
		Certificates: []tls.Certificate{serverCA.issue(b, time.Now().Add(24*time.Hour), false, "127.0.0.1").tls},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, hello)
	client := clientCA.issue(b, time.Now().Add(24*time.Hour), true)
	caFile, certFile, keyFile := writeFile(b, "ca.pem", serverCA.pem), writeFile(b, "client.crt", client.certPEM), writeFile(b, "client.key", client.keyPEM)
	cfg := Config{URL: srv.URL, Method: "GET", Headers: map[string]string{}, BodyLimit: DefaultBodyLimit, CAFile: &caFile, ClientCertFile: &certFile, ClientKeyFile: &keyFile}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Probe(b.Context(), cfg); err != nil {
			b.Fatal(err)
		}
	}
}
