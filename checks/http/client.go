package http

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/nettest/nettest/checks"
)

// The phases of one request, recorded so that a timeout can say where the
// exchange stopped: a filtered port, a server that takes connections but
// never finishes the TLS handshake, and one that never answers a request
// need different fixes. Sending the request and waiting for the answer are
// one phase: either way the server "accepted the connection but sent no
// answer".
const (
	phaseResolving = iota
	phaseConnecting
	phaseHandshaking
	phaseSending
	phaseReading
)

// trace records how far the current request got, which address it dialed
// and how many redirects were followed. The dial and trace callbacks run on
// the transport's goroutines, hence the mutex.
type trace struct {
	mu         sync.Mutex
	phase      int
	addr       string
	serverName string
	// redirects is written by CheckRedirect, which runs on the goroutine
	// that called Client.Do, so it needs no lock.
	redirects int
}

func (t *trace) set(phase int) {
	t.mu.Lock()
	t.phase = phase
	t.mu.Unlock()
}

func (t *trace) dialing(addr string) {
	t.mu.Lock()
	t.phase, t.addr, t.serverName = phaseConnecting, addr, ""
	t.mu.Unlock()
}

func (t *trace) handshaking(serverName string) {
	t.mu.Lock()
	t.phase, t.serverName = phaseHandshaking, serverName
	t.mu.Unlock()
}

func (t *trace) snapshot() (phase int, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.phase, t.addr
}

// attach returns ctx carrying the hooks of the request's trace that the
// connection cannot supply itself: the first byte of the answer on a TLS
// connection, when mayTLS is set (a plain connection reports it from its
// own Read, see speakAfterRequest), and, when resolves is set, the name
// lookup. The lookup hooks fire from inside the dialer, which resolves the URL's
// host; the dialer never resolves an IP address, so a request that can
// only reach its own address (no redirects followed) leaves them out. A
// request that needs neither (plain http to an address, the common check)
// carries no trace at all: httptrace's hooks cost a dozen allocations per
// request.
func (t *trace) attach(ctx context.Context, resolves, mayTLS bool) context.Context {
	if !resolves && !mayTLS {
		return ctx
	}
	ct := &httptrace.ClientTrace{}
	if mayTLS {
		ct.GotFirstResponseByte = func() { t.set(phaseReading) }
	}
	if resolves {
		ct.DNSStart = func(httptrace.DNSStartInfo) { t.set(phaseResolving) }
		ct.DNSDone = func(httptrace.DNSDoneInfo) { t.set(phaseConnecting) }
	}
	return httptrace.WithClientTrace(ctx, ct)
}

// dialPlain opens a plain connection to addr for the request t follows,
// recording the address and the phases.
func (t *trace) dialPlain(ctx context.Context, network, addr string) (net.Conn, error) {
	t.dialing(addr)
	conn, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t.set(phaseSending)
	return newSpeakAfterRequest(conn, t), nil
}

// dial connects with a dialer of its own, so that each connection reports
// its flow to the request's context (the packet capture of --capture).
func dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Control: checks.DialControl(ctx)}
	return d.DialContext(ctx, network, addr)
}

type traceKey struct{}

// withTrace returns ctx carrying t for the dialer of the shared plain
// transport, which serves every such check and so learns each request's
// trace from the context it dials with (the request's, with its values).
func withTrace(ctx context.Context, t *trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// plainClient is the client of every check that can only speak plain HTTP
// to the address of its URL and has no TLS settings: an http:// URL,
// redirects not followed, no ca_file or client certificate. Like the
// transport of each other check, its transport keeps no connection
// (DisableKeepAlives: every request dials, and its connection is closed
// once the answer is read and is never handed to another request), uses no
// proxy from the environment and asks for no compression; what it saves is
// building a transport and a client for every check. HTTP/2 is never
// spoken over plain connections here, so it has no HTTP/2 half, and it
// cannot dial TLS.
var plainClient = &http.Client{
	Transport: &http.Transport{
		Proxy:              nil,
		DisableKeepAlives:  true,
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			t, _ := ctx.Value(traceKey{}).(*trace)
			if t == nil {
				t = &trace{} // not a check's request: nothing to report to
			}
			return t.dialPlain(ctx, network, addr)
		},
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("internal error: the plain HTTP transport dialed TLS")
		},
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// sharesPlainClient reports whether a check of cfg to u can use
// plainClient: its TLS settings are then never used (and files they name
// are not read, which for ca_file or a client certificate would be an error
// to report), and it reaches no address but its URL's.
func sharesPlainClient(cfg Config, u *url.URL) bool {
	return u.Scheme == "http" && !cfg.FollowRedirects && cfg.CAFile == nil && cfg.ClientCertFile == nil && cfg.ClientKeyFile == nil
}

// handshakeError is a failed TLS handshake, kept apart from other errors so
// that the message can name the server name that was verified.
type handshakeError struct {
	addr, serverName string
	err              error
}

func (e *handshakeError) Error() string {
	return fmt.Sprintf("TLS handshake with %s (server name %q): %v", e.addr, e.serverName, e.err)
}

func (e *handshakeError) Unwrap() error { return e.err }

// newRequest builds the request as the check wrote it. Header names are sent
// in Go's canonical form; a Host entry in headers sets the Host header, as
// host_header does (host_header wins when both are set).
func newRequest(ctx context.Context, cfg Config) (*http.Request, error) {
	var body io.Reader = http.NoBody
	if cfg.Body != "" {
		body = strings.NewReader(cfg.Body)
	}
	req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, body)
	if err != nil {
		return nil, fmt.Errorf("cannot build a request to %s: %v", cfg.URL, err)
	}
	for name, value := range cfg.Headers {
		if strings.EqualFold(name, "Host") {
			req.Host = value
			continue
		}
		req.Header.Set(name, value)
	}
	if _, set := req.Header["User-Agent"]; !set {
		req.Header.Set("User-Agent", userAgent)
	}
	if cfg.HostHeader != nil {
		req.Host = *cfg.HostHeader
	}
	return req, nil
}

// newClient builds a client for one check that may speak TLS: a transport
// of its own that keeps no connection (each check observes the network
// itself rather than a connection an earlier check left open), uses no
// proxy from the environment (the check hits the URL as written), and asks
// for no compression (the headers and body are what the server sends to a
// plain client, like curl). Checks that cannot reach TLS share
// plainClient, which is the same but for its TLS half.
//
// TLS is dialed here rather than by the transport so that the server name
// override applies only to the address of the URL as written: a redirect to
// another host is verified against that host's own name.
func newClient(cfg Config, u *url.URL, tr *trace) (*http.Client, error) {
	base, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	sni := serverName(cfg)
	firstAddr := canonicalAddr(u)
	transport := &http.Transport{
		Proxy:              nil,
		DisableKeepAlives:  true,
		DisableCompression: true,
		// HTTP/2 is only ever spoken over TLS here (ALPN), so a request
		// that can reach no https URL (plain http, redirects not followed)
		// leaves it off: nothing would use it, and setting up the
		// transport's HTTP/2 half costs a plain check a dozen allocations.
		ForceAttemptHTTP2: u.Scheme == "https" || cfg.FollowRedirects,
		DialContext:       tr.dialPlain,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			tr.dialing(addr)
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c := base.Clone()
			c.ServerName, _, _ = net.SplitHostPort(addr)
			if sni != "" && addr == firstAddr {
				c.ServerName = sni
			}
			tr.handshaking(c.ServerName)
			tc := tls.Client(conn, c)
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, &handshakeError{addr: addr, serverName: c.ServerName, err: err}
			}
			tr.set(phaseSending)
			return tc, nil
		},
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !cfg.FollowRedirects || len(via) > MaxRedirects {
				return http.ErrUseLastResponse
			}
			tr.redirects = len(via)
			return nil
		},
	}, nil
}

// tlsConfig builds the TLS settings shared by every connection of a check.
// Files are read here, at probe time, so that a missing file is reported
// when it matters, with the file's name; what they hold is parsed once for
// all the checks that read the same bytes (see parsed).
func tlsConfig(cfg Config) (*tls.Config, error) {
	c := &tls.Config{
		InsecureSkipVerify: cfg.InsecureSkipVerify,
		NextProtos:         []string{"h2", "http/1.1"},
	}
	if cfg.CAFile != nil {
		pem, err := os.ReadFile(*cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read ca_file: %v; give the path of a PEM file holding the CA certificates that sign the server's certificate (a relative path is relative to the directory nettest runs in)", fileError(err))
		}
		pool := parsed.pool(pem)
		if pool == nil {
			return nil, fmt.Errorf("ca_file %q holds no PEM certificate; it must contain blocks starting with \"-----BEGIN CERTIFICATE-----\"", *cfg.CAFile)
		}
		c.RootCAs = pool
	}
	switch {
	case cfg.ClientCertFile != nil:
		keyFile := *cfg.ClientCertFile
		if cfg.ClientKeyFile != nil {
			keyFile = *cfg.ClientKeyFile
		}
		for _, f := range []string{*cfg.ClientCertFile, keyFile} {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("cannot read the client certificate: %v", fileError(err))
			}
		}
		cert, err := parsed.keyPair(*cfg.ClientCertFile, keyFile)
		if err != nil {
			if cfg.ClientKeyFile == nil {
				return nil, fmt.Errorf("client_cert_file %q: %v; set client_key_file to the PEM file of its private key, or put the key in the same file", *cfg.ClientCertFile, err)
			}
			return nil, fmt.Errorf("client_cert_file %q and client_key_file %q are not a PEM certificate and its private key: %v", *cfg.ClientCertFile, keyFile, err)
		}
		// Always present the certificate, as curl does. Go's default sends
		// it only when its issuer is among the authorities the server
		// names, and otherwise silently none, which would hide the very
		// mistake a check is there to find.
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	case cfg.ClientKeyFile != nil:
		return nil, fmt.Errorf("client_key_file is set but client_cert_file is not; set client_cert_file to the PEM file of the client certificate")
	}
	return c, nil
}

// fileError shortens an os error to "path: reason".
func fileError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%q: %v", pe.Path, pe.Err)
	}
	return err.Error()
}

// serverName is the TLS server name to send to the URL's own address: the
// server_name argument, else the host of the Host header the check sends,
// else "" (the URL's host is used).
func serverName(cfg Config) string {
	if cfg.ServerName != nil {
		return *cfg.ServerName
	}
	host := ""
	for name, value := range cfg.Headers {
		if strings.EqualFold(name, "Host") {
			host = value
		}
	}
	if cfg.HostHeader != nil {
		host = *cfg.HostHeader
	}
	return hostOnly(host)
}

// hostOnly strips the port, and the brackets of an IPv6 literal, from a
// Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// canonicalAddr is the host:port the transport dials for u, so that the
// dialer can recognise the URL's own address.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// readBody reads at most limit bytes of the body and reports whether there
// was more. It never reads more than limit+1 bytes, so an endless body costs
// no more than a short one. With limit 0 the body is not read at all, which
// suits endpoints that stream without end.
func readBody(resp *http.Response, limit int64) (string, bool, error) {
	switch {
	case limit == 0:
		return "", resp.Body != http.NoBody && resp.ContentLength != 0, nil
	case resp.Body == http.NoBody:
		// HEAD, 204, 304: a Content-Length, if any, is not a body's.
		return "", false, nil
	}
	data, err := readAtMost(resp.Body, limit+1, resp.ContentLength)
	truncated := int64(len(data)) > limit
	if truncated {
		data = dropPartialRune(data[:limit])
	}
	return validUTF8(string(data)), truncated, err
}

// firstBodyBuffer is the most readAtMost allocates before any byte has
// arrived: a server may announce far more than it sends.
const firstBodyBuffer = 64 << 10

// readAtMost reads r until EOF or n bytes, as io.ReadAll of an
// io.LimitReader does, into a buffer sized for the length the server
// announced (announced < 0: none), so that the body of most checks, a few
// bytes, costs one small allocation instead of ReadAll's 512 bytes; the
// buffer grows as ReadAll's does when the body is longer or of unknown
// length. An error other than EOF is returned with the bytes read before
// it.
func readAtMost(r io.Reader, n, announced int64) ([]byte, error) {
	size := min(n, 512)
	if announced >= 0 {
		// One byte beyond the announced length, for the read that
		// finds the end.
		size = min(n, announced+1, firstBodyBuffer)
	}
	buf := make([]byte, 0, size)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := min(int64(cap(buf)), n)
		m, err := r.Read(buf[len(buf):room])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// dropPartialRune removes a UTF-8 sequence that the body limit cut in two,
// so that a truncated text body does not end in a replacement character.
func dropPartialRune(data []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(data); i++ {
		if utf8.RuneStart(data[len(data)-i]) {
			if !utf8.FullRune(data[len(data)-i:]) {
				return data[:len(data)-i]
			}
			break
		}
	}
	return data
}

// tlsVersionName spells a TLS version as users write it in expectations.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// speakAfterRequest holds back reads on a plain connection until the request
// has begun to be written. A server that speaks first (SSH, SMTP, a database)
// would otherwise have its greeting read by the transport before any request
// was sent, which Go's client logs as "unsolicited response" and reports as
// an internal error; held back, the greeting is read as the answer and
// reported as "not HTTP", quoting it.
//
// It also tells the trace when the first byte of the answer arrives, which
// on a plain connection is the first byte read (on a TLS connection it is
// not: the server's session tickets come first, so there an httptrace hook
// reports it).
type speakAfterRequest struct {
	net.Conn
	trace *trace
	// wrote is held from the start and released by the first Write (or
	// Close), which lets a Read waiting on it through; open says it was.
	// A mutex rather than a channel: it costs no allocation of its own,
	// and Go lets a goroutine unlock what another locked.
	wrote sync.Mutex
	once  sync.Once
	open  atomic.Bool
	// answered is set at the first byte read. The transport reads from
	// one goroutine at a time (its read loop, then the body's reader,
	// which it hands over to), so it needs no lock.
	answered bool
}

func newSpeakAfterRequest(c net.Conn, t *trace) *speakAfterRequest {
	s := &speakAfterRequest{Conn: c, trace: t}
	s.wrote.Lock()
	return s
}

func (c *speakAfterRequest) release() {
	c.once.Do(func() {
		c.open.Store(true)
		c.wrote.Unlock()
	})
}

func (c *speakAfterRequest) Read(p []byte) (int, error) {
	if !c.open.Load() {
		c.wrote.Lock()
		c.wrote.Unlock()
	}
	n, err := c.Conn.Read(p)
	if n > 0 && !c.answered {
		c.answered = true
		c.trace.set(phaseReading)
	}
	return n, err
}

func (c *speakAfterRequest) Write(p []byte) (int, error) {
	c.release()
	return c.Conn.Write(p)
}

// Close also releases a Read still waiting, which then fails as reads on a
// closed connection do.
func (c *speakAfterRequest) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
