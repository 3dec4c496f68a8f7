// Package dns is the dns check: what does a DNS server, or the system
// resolver, answer for a name and record type?
//
// With a server the check sends one query to that server only, the way dig
// @server does. Without one it resolves the way the operating system does:
// /etc/hosts first for addresses, then the nameservers of /etc/resolv.conf
// with their search list (see system.go). Either way the probe reports what
// came back (the response code, the answers, their TTL, the AA and TC flags)
// and leaves the verdict to the expectations: NXDOMAIN is an observation, not
// an error. Only a query nobody answered is an error.
package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	miekg "github.com/miekg/dns"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/netx"
	"github.com/zclconf/go-cty/cty"
)

// Types are the record types the check can ask for.
var Types = []string{"A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "SOA", "TXT", "CAA"}

// Config is what a dns block says.
type Config struct {
	Name string `cty:"name"`
	Type string `cty:"type,optional"`
	// Server is nil when the block leaves it out: the system resolver.
	Server           *string `cty:"server"`
	Protocol         string  `cty:"protocol,optional"`
	RecursionDesired bool    `cty:"recursion_desired,optional"`
}

// Defaults are the values of the arguments a block leaves out.
var Defaults = Config{
	Type:             "A",
	Protocol:         "udp",
	RecursionDesired: true,
}

// Result is what a dns check observed; every field is usable as
// dns.NAME.FIELD elsewhere and as self.FIELD in assert blocks.
type Result struct {
	// Name is the name that was asked, absolute and in lower case; for PTR
	// the in-addr.arpa or ip6.arpa name, and through the system resolver
	// the candidate of the search list that answered.
	Name string `cty:"name"`
	Type string `cty:"type"`
	// Server is the host:port that answered, or the hosts file's path when
	// the system resolver answered from it.
	Server string `cty:"server"`
	// Protocol is the transport of the answer: "udp", "tcp" (also after a
	// truncated UDP answer) or "file" (the hosts file).
	Protocol           string   `cty:"protocol"`
	Rcode              string   `cty:"rcode"`
	Answers            []string `cty:"answers"`
	AnswerCount        int      `cty:"answer_count"`
	TTL                int      `cty:"ttl"`
	Authoritative      bool     `cty:"authoritative"`
	RecursionAvailable bool     `cty:"recursion_available"`
	Truncated          bool     `cty:"truncated"`
}

func init() {
	checks.RegisterFunc("dns", func() checks.Kind {
		return checks.Kind{
			Name:    "dns",
			Summary: "Asks a DNS server, or the system resolver, for a record and reports the response code and answers.",
			Docs: map[string]checks.ArgDoc{
				"name":              {Doc: "The name to look up; for type PTR also an IP address, which is turned into its in-addr.arpa or ip6.arpa name.", Validate: validName},
				"type":              {Doc: "Record type: " + strings.Join(Types, ", ") + " (any case).", Validate: validType},
				"server":            {Doc: "The server to ask, host:port, the port defaulting to 53; left out, the system resolver answers (/etc/hosts, then /etc/resolv.conf).", Validate: validServer},
				"protocol":          {Doc: `Transport, "udp" or "tcp"; a truncated UDP answer is asked again over TCP.`, Validate: checks.OneOf("udp", "tcp")},
				"recursion_desired": {Doc: "Whether the query sets the RD flag; false asks a recursive server only for what it has cached or is authoritative for."},
			},
			Expect: []checks.Expectation{
				rcodeExpectation(),
				answersExpectation(),
				containsExpectation(),
				checks.AtLeast("min_answers", "answer_count", "The least number of answers of the asked type."),
				checks.AtMost("max_answers", "answer_count", "The greatest number of answers of the asked type."),
				checks.AtLeast("min_ttl", "ttl", "The least TTL, in seconds, that the lowest-TTL answer may have."),
				checks.AtMost("max_ttl", "ttl", "The greatest TTL, in seconds, that the lowest-TTL answer may have."),
				checks.Equal("authoritative", cty.Bool, "Whether the answer must carry the AA flag (the server is authoritative for the name)."),
			},
			Probe: checks.Typed(Defaults, Probe),
		}
	})
}

// Probe asks for one record set. With cfg.Server it sends the query to that
// server only; without, it resolves through the system resolver. The
// context's deadline bounds everything: a server that drops the query makes
// the probe return an error when it expires.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	qtype := strings.ToUpper(cfg.Type)
	code, ok := miekg.StringToType[qtype]
	if !ok || !isSupported(qtype) {
		return Result{}, fmt.Errorf("record type %q is not supported; use one of %s", cfg.Type, strings.Join(Types, ", "))
	}
	q := query{
		name:      cfg.Name,
		qtype:     code,
		protocol:  cfg.Protocol,
		recursion: cfg.RecursionDesired,
		start:     time.Now(),
	}
	if q.protocol == "" {
		q.protocol = "udp"
	}
	if qtype != "PTR" && isAddress(cfg.Name) {
		return Result{}, fmt.Errorf("name %q is an IP address, which has no %s record; set type = \"PTR\" to look up the name of an address", cfg.Name, qtype)
	}
	if cfg.Server == nil {
		return q.system(ctx)
	}
	addr, err := serverAddress(ctx, *cfg.Server)
	if err != nil {
		return Result{}, err
	}
	name := absolute(q.name, qtype)
	resp, proto, err := q.exchange(ctx, name, addr)
	if err != nil {
		return Result{}, q.failure(ctx, err, addr, q.protocol)
	}
	return q.result(resp, name, addr, proto), nil
}

// query is one lookup in progress: what is asked and how.
type query struct {
	name      string
	qtype     uint16
	protocol  string
	recursion bool
	start     time.Time
}

// absolute turns the name of the block into the name put in the question:
// an IP address becomes its reverse name for PTR, anything else is made
// absolute. A name without a trailing dot is taken as absolute here because a
// server given explicitly gets no search list, as with dig.
func absolute(name, qtype string) string {
	if qtype == "PTR" {
		if ip, err := netip.ParseAddr(name); err == nil {
			if rev, err := miekg.ReverseAddr(ip.WithZone("").String()); err == nil {
				return rev
			}
		}
	}
	return miekg.Fqdn(strings.ToLower(name))
}

// message builds the query. EDNS0 advertises a 1232-byte UDP buffer, as dig
// and most resolvers do, so answers up to that size need no TCP retry.
func (q query) message(name string) *miekg.Msg {
	m := new(miekg.Msg)
	m.SetQuestion(name, q.qtype)
	m.RecursionDesired = q.recursion
	m.SetEdns0(1232, false)
	return m
}

// exchange sends the question to addr over the configured transport and
// returns the answer and the transport that carried it. A UDP answer with
// the TC flag is asked again over TCP; when that fails, the truncated UDP
// answer is returned as it is (its truncated field says so).
func (q query) exchange(ctx context.Context, name, addr string) (*miekg.Msg, string, error) {
	m := q.message(name)
	resp, err := send(ctx, m, addr, q.protocol)
	if err != nil || !resp.Truncated || q.protocol == "tcp" {
		return resp, q.protocol, err
	}
	if full, err := send(ctx, m, addr, "tcp"); err == nil {
		return full, "tcp", nil
	}
	return resp, q.protocol, nil
}

// send makes one exchange. The miekg client bounds reads and writes by the
// context's deadline but not by its cancellation, so Ctrl-C expires the
// connection's deadline at once.
//
// Only a response to this very query is taken (RFC 5452 §9.1): the QR flag
// set, the query's ID and the same question. Anything else that arrives (a
// query echoed back, a late answer to an earlier query, a packet that does
// not parse) is ignored while waiting for the real answer, as resolvers do,
// and the error when none comes says what was ignored.
func send(ctx context.Context, m *miekg.Msg, addr, network string) (*miekg.Msg, error) {
	c := &miekg.Client{Net: network, Timeout: 5 * time.Second}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(c.Timeout)
	}
	if control := checks.DialControl(ctx); control != nil {
		// Under --capture the dialer reports the exchange's flow.
		c.Dialer = &net.Dialer{Timeout: c.Timeout, Control: control}
	}
	conn, err := c.DialContext(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Over UDP the wait for the answer is cut into slices of interruptPoll,
	// between which the probe looks at the context: Ctrl-C ends it within
	// one slice, without registering with the context for every query
	// (context.AfterFunc cost 2% of the CPU of 1,000 queries), and a
	// datagram is read whole or not at all, so a slice that ends loses
	// nothing. A TCP answer could be cut in its middle: there the
	// context's cancellation ends the wait itself.
	poll := network == "udp"
	if poll {
		conn.SetWriteDeadline(deadline)
	} else {
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
		defer stop()
		conn.SetDeadline(deadline)
	}
	if opt := m.IsEdns0(); opt != nil {
		conn.UDPSize = opt.UDPSize()
	}
	if err := conn.WriteMsg(m); err != nil {
		return nil, err
	}
	var ignored []string
	for reads := 0; reads < maxIgnored; {
		if poll {
			slice := time.Now().Add(interruptPoll)
			if slice.After(deadline) {
				slice = deadline
			}
			conn.SetReadDeadline(slice)
		}
		resp, err := conn.ReadMsg()
		if poll && errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(deadline) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue // the slice ended, not the wait
		}
		reads++
		var op *net.OpError
		if err != nil && !errors.As(err, &op) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, io.EOF) {
			ignored = append(ignored, "a packet that is not a DNS message ("+err.Error()+")")
			continue // it was read whole; wait for the next
		}
		if err != nil {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ctx.Err()
			}
			if len(ignored) > 0 {
				return nil, &ignoredError{err: err, ignored: ignored}
			}
			return nil, err
		}
		if why := notAnAnswer(m, resp); why != "" {
			ignored = append(ignored, why)
			continue
		}
		return resp, nil
	}
	return nil, &ignoredError{err: errors.New("too many packets that are not the answer"), ignored: ignored}
}

// interruptPoll is how long a UDP query waits for its answer before it
// looks whether the run was interrupted, and waits again.
const interruptPoll = 200 * time.Millisecond

// maxIgnored bounds the packets one exchange reads, so a server that
// floods mismatched packets cannot keep a check busy past reason.
const maxIgnored = 100

// notAnAnswer says why resp is not the response to query q, or "" when it is.
// Error responses may leave the question out (FORMERR, REFUSED, …).
func notAnAnswer(q, resp *miekg.Msg) string {
	want := q.Question[0]
	switch {
	case !resp.Response:
		return "a query, not a response (QR = 0)"
	case resp.Id != q.Id:
		return fmt.Sprintf("a response with ID %d, not %d", resp.Id, q.Id)
	case len(resp.Question) == 0 && resp.Rcode != miekg.RcodeSuccess:
		return ""
	case len(resp.Question) != 1:
		return fmt.Sprintf("a response with %d questions, not 1", len(resp.Question))
	}
	got := resp.Question[0]
	if !strings.EqualFold(got.Name, want.Name) || got.Qtype != want.Qtype || got.Qclass != want.Qclass {
		return fmt.Sprintf("a response to another question (%s %s, not %s %s)",
			got.Name, miekg.TypeToString[got.Qtype], want.Name, miekg.TypeToString[want.Qtype])
	}
	return ""
}

// ignoredError is an exchange that got no answer, only packets that were
// not one; Error lists them after the reason.
type ignoredError struct {
	err     error
	ignored []string
}

func (e *ignoredError) Error() string {
	return fmt.Sprintf("%v; ignored %d packet(s) that were not the answer: %s", e.err, len(e.ignored), strings.Join(e.ignored, "; "))
}
func (e *ignoredError) Unwrap() error { return e.err }

// result turns an answer into what the check reports. Only the records of
// the asked type count as answers: a server following a CNAME chain puts the
// CNAMEs before the addresses, and `answers = ["192.0.2.10"]` is what users
// mean to compare.
func (q query) result(resp *miekg.Msg, name, server, proto string) Result {
	r := Result{
		Name:               name,
		Type:               miekg.TypeToString[q.qtype],
		Server:             server,
		Protocol:           proto,
		Rcode:              rcodeName(resp.Rcode),
		Answers:            []string{},
		Authoritative:      resp.Authoritative,
		RecursionAvailable: resp.RecursionAvailable,
		Truncated:          resp.Truncated,
	}
	first := true
	for _, rr := range resp.Answer {
		h := rr.Header()
		if h.Rrtype != q.qtype {
			continue
		}
		r.Answers = append(r.Answers, format(rr))
		if first || int(h.Ttl) < r.TTL {
			r.TTL, first = int(h.Ttl), false
		}
	}
	r.AnswerCount = len(r.Answers)
	return r
}

// failure turns a query nobody answered into the error the user reads.
func (q query) failure(ctx context.Context, err error, addr, proto string) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted before %s answered", addr)
	}
	if local := checks.LocalFailure(err); local != nil {
		return fmt.Errorf("cannot query %s over %s: %w", addr, proto, local)
	}
	switch why := describe(err); why {
	case noAnswer:
		var ig *ignoredError
		if errors.As(err, &ig) {
			return fmt.Errorf("no answer from %s over %s within %s; ignored %d packet(s) that were not the answer to this query: %s", addr, proto, q.budget(ctx), len(ig.ignored), strings.Join(ig.ignored, "; "))
		}
		return fmt.Errorf("no answer from %s over %s within %s; check that a DNS server runs there and that no firewall drops the query", addr, proto, q.budget(ctx))
	case refused:
		how := "the connection over tcp"
		if proto == "udp" {
			how = "the query over udp (ICMP port unreachable)"
		}
		return fmt.Errorf("%s refused %s: no DNS server listens there; check the server's address and port", addr, how)
	default:
		return fmt.Errorf("querying %s over %s failed: %s", addr, proto, why)
	}
}

const (
	noAnswer = "no answer"
	refused  = "connection refused"
)

// describe says in a few words why an exchange got no answer.
func describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return noAnswer
	case errors.Is(err, syscall.ECONNREFUSED):
		return refused
	}
	return err.Error()
}

// budget is the time the probe was given, for error messages: the check's
// timeout as written, or the time it has been waiting.
func (q query) budget(ctx context.Context) time.Duration {
	if d := checks.TimeoutOf(ctx); d > 0 {
		return d
	}
	// Called directly, without the runner: the deadline was set a moment
	// before the probe started, so round the time left up to 50ms.
	left := time.Since(q.start)
	if deadline, ok := ctx.Deadline(); ok {
		left = deadline.Sub(q.start)
	}
	const step = 50 * time.Millisecond
	return (left + step - 1).Truncate(step)
}

// serverAddress turns the server argument into an address to dial. A host
// name is resolved by the system resolver, like dig @name does.
func serverAddress(ctx context.Context, server string) (string, error) {
	if ap, err := netip.ParseAddrPort(server); err == nil && ap.Port() != 0 {
		return server, nil // IP:port, as most suites write it: what the rest makes of it
	}
	host, port, err := splitServer(server)
	if err != nil {
		return "", err
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return net.JoinHostPort(host, port), nil
	}
	ips, err := netx.LookupName(ctx, host)
	if err != nil {
		return "", fmt.Errorf("cannot resolve the server name %q: %v; check the name, /etc/hosts and /etc/resolv.conf, or give the server's IP address", host, err)
	}
	return net.JoinHostPort(ips[0].String(), port), nil
}

// isAddress tells whether name is an IP address. A name with a character
// no address has before its zone is told without parsing it (and making
// the error a failed parse returns): it is asked for every query.
func isAddress(name string) bool {
	for i := 0; i < len(name) && name[i] != '%'; i++ {
		switch c := name[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '.', c == ':':
		default:
			return false
		}
	}
	_, err := netip.ParseAddr(name)
	return err == nil
}

// splitServer reads "host", "host:port", "IPv6" or "[IPv6]:port".
func splitServer(server string) (host, port string, err error) {
	if server == "" {
		return "", "", errors.New(`the server must not be empty; write "host" or "host:port", or leave it out to use the system resolver`)
	}
	if _, err := netip.ParseAddr(server); err == nil {
		return server, "53", nil
	}
	if strings.Contains(server, "/") {
		return "", "", fmt.Errorf("%q is not host:port; write the server as \"192.0.2.53\" or \"192.0.2.53:53\", without a scheme or path", server)
	}
	host, port, err = net.SplitHostPort(server)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			host, port = server, "53"
		} else {
			return "", "", fmt.Errorf("%q is not host:port (write an IPv6 address with a port as \"[2001:db8::53]:53\")", server)
		}
	}
	if host == "" || strings.ContainsAny(host, " \t/") {
		return "", "", fmt.Errorf("%q does not name a host; write \"host\" or \"host:port\"", server)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("the port of %q must be a whole number from 1 to 65535", server)
	}
	return host, port, nil
}

func validServer(v cty.Value) error {
	_, _, err := splitServer(v.AsString())
	return err
}

func validType(v cty.Value) error {
	if !isSupported(strings.ToUpper(v.AsString())) {
		return fmt.Errorf("%q is not a supported record type; use one of %s", v.AsString(), strings.Join(Types, ", "))
	}
	return nil
}

func isSupported(t string) bool {
	for _, s := range Types {
		if s == t {
			return true
		}
	}
	return false
}

// validName accepts domain names, with or without the trailing dot, and IP
// addresses (meaningful for PTR; other types report it when they run,
// because a validator sees one argument at a time).
func validName(v cty.Value) error {
	s := v.AsString()
	if isAddress(s) {
		return nil
	}
	if s == "" || strings.ContainsAny(s, " \t\n\\") || strings.Contains(s, "..") {
		return fmt.Errorf("%q is not a domain name", s)
	}
	if _, ok := miekg.IsDomainName(s); !ok {
		return fmt.Errorf("%q is not a domain name (each label at most 63 characters, 255 in all)", s)
	}
	return nil
}
