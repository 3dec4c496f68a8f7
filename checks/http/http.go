// Package http is the http check: send one request to a URL and report what
// came back — the status, the headers, the start of the body, the TLS
// version and the server certificate's expiry.
//
// The check observes the URL as written. It does not follow redirects unless
// asked (like `curl -I`, the status is the one of the URL itself), it ignores
// HTTP_PROXY and friends, it opens a fresh connection for every attempt and
// closes it afterwards, and it does not ask for compressed bodies. A request
// that gets an HTTP answer is an observation, whatever its status; a request
// that gets none (connection refused, no answer within the timeout, a
// certificate that does not verify) is an error whose text says what
// happened and what to check.
package http

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/nettest/nettest/checks"
)

// DefaultBodyLimit is how many bytes of a body are read when the check does
// not say. The body is kept in the result, which lives until the run ends and
// is written to reports, and thousands of checks may run in one suite: 64 KiB
// holds any health endpoint or error page whole while keeping a thousand
// checks under 64 MiB. Bigger pages are read up to the limit and flagged with
// body_truncated.
const DefaultBodyLimit = 64 << 10

// MaxBodyLimit is the largest body_limit accepted. A check is not a download
// tool; more than this per check is almost certainly a mistake.
const MaxBodyLimit = 64 << 20

// MaxRedirects is how many redirects follow_redirects follows before it
// stops and reports the last answer, which is then a redirect itself.
const MaxRedirects = 10

// userAgent is sent unless the check sets its own User-Agent header, so that
// server logs show where the request came from.
const userAgent = "nettest"

// Config is what an http block says.
type Config struct {
	URL                string            `cty:"url"`
	Method             string            `cty:"method,optional"`
	Headers            map[string]string `cty:"headers,optional"`
	Body               string            `cty:"body,optional"`
	FollowRedirects    bool              `cty:"follow_redirects,optional"`
	InsecureSkipVerify bool              `cty:"insecure_skip_verify,optional"`
	CAFile             *string           `cty:"ca_file"`
	ClientCertFile     *string           `cty:"client_cert_file"`
	ClientKeyFile      *string           `cty:"client_key_file"`
	HostHeader         *string           `cty:"host_header"`
	ServerName         *string           `cty:"server_name"`
	BodyLimit          int64             `cty:"body_limit,optional"`
}

// Defaults are the values of the arguments a block leaves out.
var Defaults = Config{
	Method:    http.MethodGet,
	Headers:   map[string]string{},
	BodyLimit: DefaultBodyLimit,
}

// Result is what an http check observed; every field is usable as
// http.NAME.FIELD elsewhere and as self.FIELD in assert blocks.
type Result struct {
	// URL is the URL of the answer reported: the one written, or the last
	// one reached when redirects were followed.
	URL string `cty:"url"`
	// Redirects is how many redirects were followed to reach URL.
	Redirects int `cty:"redirects"`
	// Status is the HTTP status code of the answer.
	Status int `cty:"status"`
	// HTTPVersion is "HTTP/1.1" or "HTTP/2.0".
	HTTPVersion string `cty:"http_version"`
	// Headers holds the response headers by lower-case name; a header sent
	// several times has its values joined with ", ".
	Headers map[string]string `cty:"headers"`
	// Location is the Location header as sent, "" when there is none.
	Location string `cty:"location"`
	// Body is the start of the body, at most body_limit bytes, as valid
	// UTF-8 (invalid bytes become U+FFFD).
	Body string `cty:"body"`
	// BodyTruncated is true when the body was longer than body_limit.
	BodyTruncated bool `cty:"body_truncated"`
	// TLSVersion is "TLS1.2", "TLS1.3", …, or "" for plain http.
	TLSVersion string `cty:"tls_version"`
	// CertExpiry is the leaf certificate's NotAfter in RFC 3339, "" without TLS.
	CertExpiry string `cty:"cert_expiry"`
	// CertDaysLeft is the number of whole days until CertExpiry, negative
	// once it has passed, 0 without TLS.
	CertDaysLeft int `cty:"cert_days_left"`
	// CertDNSNames are the leaf certificate's DNS subject alternative names,
	// which show which certificate the server chose for the SNI name sent.
	CertDNSNames []string `cty:"cert_dns_names"`
}

func init() {
	checks.RegisterFunc("http", func() checks.Kind {
		return checks.Kind{
			Name:    "http",
			Summary: "Sends one HTTP(S) request and reports the status, headers, body and TLS certificate of the answer.",
			Docs: map[string]checks.ArgDoc{
				"url":                  {Doc: "Absolute http:// or https:// URL to request.", Validate: validURL},
				"method":               {Doc: `Request method, such as "GET", "HEAD" or "POST"; sent as written.`, Validate: validMethod},
				"headers":              {Doc: "Request headers by name. A Host entry works like host_header.", Validate: validRequestHeaders},
				"body":                 {Doc: "Request body, sent as written."},
				"follow_redirects":     {Doc: fmt.Sprintf("Follow redirects (at most %d) and report the last answer; by default the answer of the URL as written is reported, like curl -I.", MaxRedirects)},
				"insecure_skip_verify": {Doc: "Accept any server certificate; the certificate is still reported."},
				"ca_file":              {Doc: "PEM file of the CA certificates that sign the server's certificate, used instead of the system's."},
				"client_cert_file":     {Doc: "PEM file of a client certificate to present (mutual TLS)."},
				"client_key_file":      {Doc: "PEM file of the client certificate's private key; omitted, the key is read from client_cert_file."},
				"host_header":          {Doc: "Host header to send instead of the URL's host, to reach a virtual host by address.", Validate: validHostHeader},
				"server_name":          {Doc: "TLS server name (SNI) to send and verify the certificate against; defaults to host_header's host, else the URL's.", Validate: validServerName},
				"body_limit":           {Doc: "Bytes of the body read at most (default 64 KiB); 0 reads no body at all.", Validate: checks.IntRange(0, MaxBodyLimit)},
			},
			Expect: []checks.Expectation{
				expectStatus(),
				expectBodyContains(),
				expectBodyMatches(),
				expectHeaders(),
				expectHeadersMatch(),
				expectHeadersAbsent(),
				expectCertDaysLeftMin(),
			},
			Probe: checks.Typed(Defaults, Probe),
		}
	})
}

// Probe sends the request once and reports the answer. The context's
// deadline bounds everything: connecting, the TLS handshake, waiting for the
// answer and reading the body.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	start := time.Now()
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return Result{}, fmt.Errorf("invalid url %q: %v", cfg.URL, err)
	}
	tr := &trace{}
	// A check that may speak TLS builds a client of its own; the others
	// share one, which learns their traces from the request's context.
	client, mayTLS := plainClient, !sharesPlainClient(cfg, u)
	if mayTLS {
		if client, err = newClient(cfg, u, tr); err != nil {
			return Result{}, err
		}
		defer client.CloseIdleConnections()
	} else {
		ctx = withTrace(ctx, tr)
	}
	// The dialer resolves a host name, never an IP address; a redirect
	// may lead to a name.
	_, notAddress := netip.ParseAddr(u.Hostname())
	resolves := notAddress != nil || cfg.FollowRedirects
	req, err := newRequest(tr.attach(ctx, resolves, mayTLS), cfg)
	if err != nil {
		return Result{}, err
	}

	resp, err := client.Do(req)
	if err != nil {
		return Result{}, explain(ctx, err, cfg, tr, start)
	}
	defer resp.Body.Close()

	r := Result{
		URL:          resp.Request.URL.String(),
		Redirects:    tr.redirects,
		Status:       resp.StatusCode,
		HTTPVersion:  resp.Proto,
		Headers:      headerMap(resp),
		Location:     validUTF8(resp.Header.Get("Location")),
		CertDNSNames: []string{},
	}
	if resp.TLS != nil {
		r.TLSVersion = tlsVersionName(resp.TLS.Version)
		if len(resp.TLS.PeerCertificates) > 0 {
			leaf := resp.TLS.PeerCertificates[0]
			r.CertExpiry = leaf.NotAfter.UTC().Format(time.RFC3339)
			r.CertDaysLeft = int(math.Floor(time.Until(leaf.NotAfter).Hours() / 24))
			r.CertDNSNames = append(r.CertDNSNames, leaf.DNSNames...)
		}
	}
	body, truncated, err := readBody(resp, cfg.BodyLimit)
	if err != nil {
		return Result{}, explainBody(ctx, err, len(body), r.URL, start)
	}
	r.Body, r.BodyTruncated = body, truncated
	return r, nil
}

// headerMap flattens the response headers into one string per lower-case
// name. Transfer-Encoding is put back: Go's client consumes it, but it is
// what the server sent and a user may want to check it.
func headerMap(resp *http.Response) map[string]string {
	out := make(map[string]string, len(resp.Header)+1)
	for name, values := range resp.Header {
		out[lowerName(name)] = validUTF8(strings.Join(values, ", "))
	}
	if len(resp.TransferEncoding) > 0 {
		out["transfer-encoding"] = strings.Join(resp.TransferEncoding, ", ")
	}
	return out
}

// lowerName is strings.ToLower of a header name as Go's client keys it
// (canonical: Content-Type), without allocating for the names most answers
// carry, which every check would otherwise lower again.
func lowerName(name string) string {
	if lower, ok := lowerNames[name]; ok {
		return lower
	}
	return strings.ToLower(name)
}

// lowerNames holds the lower-case spelling of common response headers, by
// their canonical name.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, name := range []string{
		"Accept-Ranges", "Access-Control-Allow-Origin", "Age", "Cache-Control", "Connection",
		"Content-Encoding", "Content-Length", "Content-Security-Policy", "Content-Type", "Date",
		"Etag", "Expires", "Last-Modified", "Location", "Referrer-Policy", "Server", "Set-Cookie",
		"Strict-Transport-Security", "Vary", "X-Content-Type-Options", "X-Frame-Options",
	} {
		m[name] = strings.ToLower(name)
	}
	return m
}()

// validUTF8 replaces the bytes of s that are not UTF-8 with U+FFFD. HTTP
// allows any byte above 0x7f in header values (and bodies are arbitrary),
// but a result is a cty string, which must be UTF-8 to reach reports intact.
func validUTF8(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}
