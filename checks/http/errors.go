package http

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/netx"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// explain turns a failed request into the error a user reads. No HTTP answer
// was observed, so the check could not be carried out; the message says how
// far the exchange got and what to look at.
func explain(ctx context.Context, err error, cfg Config, tr *trace, start time.Time) error {
	target := "the server"
	var ue *url.Error
	if errors.As(err, &ue) {
		target = ue.URL
		err = ue.Err
	}
	phase, addr := tr.snapshot()
	if addr == "" {
		addr = target
	}

	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("interrupted before %s answered", target)
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		limit := within(ctx, start)
		switch phase {
		case phaseResolving:
			host, _, _ := net.SplitHostPort(addr)
			return fmt.Errorf("resolving %q did not finish %s; check the nameservers in /etc/resolv.conf, or use an IP address", host, limit)
		case phaseConnecting:
			return fmt.Errorf("no connection to %s %s: nothing answered the connection attempt, so a firewall may drop the packets (a tcp check tells filtered from closed)", addr, limit)
		case phaseHandshaking:
			return fmt.Errorf("%s accepted the connection but the TLS handshake did not finish %s; is that port serving TLS?", addr, limit)
		case phaseReading:
			return fmt.Errorf("%s started an answer to %s but did not finish its headers %s", addr, target, limit)
		}
		return fmt.Errorf("%s accepted the connection but sent no answer to %s %s; the server or something in front of it hangs", addr, target, limit)
	}

	if local := checks.LocalFailure(err); local != nil {
		return fmt.Errorf("cannot send the request to %s: %w", addr, local)
	}
	var hs *handshakeError
	if errors.As(err, &hs) {
		return explainTLS(hs, cfg)
	}
	var dnsErr *net.DNSError
	cause := netx.Classify(ctx, err)
	switch {
	case errors.As(err, &dnsErr):
		return netx.ResolveError(dnsErr.Name, dnsErr)
	case cause == netx.Refused:
		return fmt.Errorf("connection to %s refused: nothing listens on that port; check the URL's port and that the server runs (a tcp check can expect a port closed)", addr)
	case cause == netx.HostUnreachable, cause == netx.NetUnreachable:
		return fmt.Errorf("cannot reach %s: %v; check the routes and firewalls on the way", addr, rootCause(err))
	case cause == netx.Blocked:
		return fmt.Errorf("connection to %s blocked by a local firewall rule: %v", addr, rootCause(err))
	case isRemoteTLSAlert(err):
		return fmt.Errorf("%s rejected the TLS connection (%v); %s", addr, rootCause(err), clientCertHint(cfg))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%s closed the connection without answering %s; is it an HTTP server, and is the scheme (http or https) right?", addr, target)
	case strings.Contains(err.Error(), "malformed HTTP"):
		msg := err.Error()
		return fmt.Errorf("%s did not answer %s with HTTP (%s); is the scheme (http or https) right?", addr, target, msg[strings.Index(msg, "malformed HTTP"):])
	case strings.Contains(err.Error(), "malformed"):
		msg := err.Error()
		return fmt.Errorf("%s sent an answer to %s that breaks the HTTP syntax (%s), so no HTTP client would accept it", addr, target, msg[strings.Index(msg, "malformed"):])
	}
	return fmt.Errorf("request to %s failed: %v", target, err)
}

// explainTLS says why a certificate was not accepted, or what else went
// wrong in the handshake, and how to proceed.
func explainTLS(hs *handshakeError, cfg Config) error {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	switch {
	case errors.As(hs.err, &unknown):
		issuer := ""
		if unknown.Cert != nil {
			issuer = fmt.Sprintf(" (issued by %q)", unknown.Cert.Issuer.String())
		}
		return fmt.Errorf("the certificate of %s is not signed by a trusted authority%s; set ca_file to the PEM file of the CA that signs it, or insecure_skip_verify = true to check without verifying", hs.addr, issuer)
	case errors.As(hs.err, &hostname):
		return fmt.Errorf("the certificate of %s is not valid for %q (it covers %s); set server_name or host_header to a name it covers, or correct the URL", hs.addr, hs.serverName, certNames(hostname.Certificate))
	case errors.As(hs.err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Errorf("the certificate of %s has expired or is not valid yet (%v); with insecure_skip_verify = true the check reports it anyway, with cert_expiry and cert_days_left", hs.addr, invalid.Detail)
	case errors.As(hs.err, &invalid):
		return fmt.Errorf("the certificate of %s is not valid: %v; insecure_skip_verify = true checks without verifying", hs.addr, invalid)
	case errors.As(hs.err, &record):
		return fmt.Errorf("%s did not answer the TLS handshake with TLS; if it serves plain HTTP, use an http:// URL", hs.addr)
	case isRemoteTLSAlert(hs.err):
		return fmt.Errorf("%s refused the TLS handshake (%v); %s", hs.addr, rootCause(hs.err), clientCertHint(cfg))
	case errors.Is(hs.err, io.EOF), errors.Is(hs.err, syscall.ECONNRESET):
		return fmt.Errorf("%s closed the connection during the TLS handshake; is that port serving TLS?", hs.addr)
	}
	return fmt.Errorf("TLS handshake with %s (server name %q) failed: %v", hs.addr, hs.serverName, hs.err)
}

// explainBody turns a failure while reading the body into an error. The
// status and headers were observed, but a body cut short by the timeout or
// by the connection closing is not the answer the server meant to give, so
// the check reports it rather than judging half a body.
func explainBody(ctx context.Context, err error, n int, target string, start time.Time) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("interrupted while reading the body of %s", target)
	}
	if ctx.Err() != nil || isTimeout(err) {
		return fmt.Errorf("the body of %s did not end %s (%d bytes read); for an endpoint that streams, set body_limit to the bytes to check, or to 0 to check only the status and headers", target, within(ctx, start), n)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("the connection closed after %d bytes of the body of %s, before the length the server announced", n, target)
	}
	return fmt.Errorf("reading the body of %s failed after %d bytes: %v", target, n, err)
}

// clientCertHint is the advice for a server that rejects the connection
// after the handshake began, which is mostly about client certificates.
func clientCertHint(cfg Config) string {
	if cfg.ClientCertFile == nil {
		return "if it requires a client certificate, set client_cert_file and client_key_file"
	}
	return fmt.Sprintf("check that client_cert_file %q holds a certificate the server trusts, valid now and meant for client authentication", *cfg.ClientCertFile)
}

// within says how long the check waited: its configured timeout.
func within(ctx context.Context, start time.Time) string {
	if d := checks.TimeoutOf(ctx); d > 0 {
		return "within " + d.String() + " (the check's timeout)"
	}
	if dl, ok := ctx.Deadline(); ok {
		return "within " + dl.Sub(start).Round(10*time.Millisecond).String() + " (the check's timeout)"
	}
	return "before the check ended"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isRemoteTLSAlert reports whether the peer sent a TLS alert. crypto/tls
// does not export the type of a received alert; it reports it as a
// net.OpError whose Op is "remote error".
func isRemoteTLSAlert(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return true
	}
	var alert tls.AlertError
	return errors.As(err, &alert)
}

// rootCause drops the layers of context Go adds ("dial tcp 1.2.3.4:80:"),
// which the messages above already say in words.
func rootCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		if op.Op == "remote error" {
			return op
		}
		return rootCause(op.Err)
	}
	return err
}

// certNames lists the names and addresses a certificate is valid for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no names"
	}
	var names []string
	for _, n := range c.DNSNames {
		names = append(names, fmt.Sprintf("%q", n))
	}
	for _, ip := range c.IPAddresses {
		names = append(names, fmt.Sprintf("%q", ip.String()))
	}
	if len(names) == 0 {
		return "no names"
	}
	return strings.Join(names, ", ")
}
