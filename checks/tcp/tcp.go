// Package tcp is the tcp check: does a TCP handshake to host:port complete?
//
// It tells three states apart, which is what a security group review needs:
// open (the handshake completed), closed (the host answered with a reset, or
// an ICMP port-unreachable, which the kernel reports the same way) and
// filtered (nothing came back within the timeout, or an ICMP unreachable
// other than port-unreachable arrived: a firewall that drops or rejects).
package tcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/netx"
	"github.com/zclconf/go-cty/cty"
)

// The three states of a port.
const (
	Open     = "open"
	Closed   = "closed"
	Filtered = "filtered"
)

// Config is what a tcp block says.
type Config struct {
	Host string `cty:"host"`
	Port int    `cty:"port"`
}

// Result is what a tcp check observed; every field is usable as
// tcp.NAME.FIELD elsewhere and as self.FIELD in assert blocks.
type Result struct {
	Host    string `cty:"host"`
	Port    int    `cty:"port"`
	Address string `cty:"address"`
	Open    bool   `cty:"open"`
	State   string `cty:"state"`
	Error   string `cty:"error"`
}

func init() {
	checks.RegisterFunc("tcp", func() checks.Kind {
		return checks.Kind{
			Name:    "tcp",
			Summary: "Connects to host:port and reports whether the port is open, closed or filtered.",
			Docs: map[string]checks.ArgDoc{
				"host": {Doc: "Host name, IPv4 or IPv6 address to connect to."},
				"port": {Doc: "TCP port, 1 to 65535.", Validate: checks.ValidPort},
			},
			Expect: []checks.Expectation{
				expectOpen(),
				checks.Equal("state", cty.String, `The exact state: "open", "closed" (refused) or "filtered" (no answer or ICMP unreachable).`).Validated(checks.OneOf(Open, Closed, Filtered)),
			},
			Probe: checks.Typed(Config{}, Probe),
		}
	})
}

// expectOpen is the open expectation. Nearly every tcp check is judged on
// it alone, so an open that is met is told from the result's open
// attribute (openMet) rather than from the whole result decoded into a
// Result, which costs more than the rest of judging the check; an unmet
// one, or one openMet cannot tell, goes the whole way, so every diff is
// compareOpen's.
func expectOpen() checks.Expectation {
	return checks.Expect("open", "Whether the handshake must complete (true) or must not (false: closed or filtered).", compareOpen).MetWhen(openMet)
}

// openMet reports whether result's open is the bool want, answering false
// whenever it cannot tell (a value unknown, null or of another type).
func openMet(want, result cty.Value) bool {
	if want.Type() != cty.Bool || !want.IsKnown() || want.IsNull() || want.IsMarked() ||
		!result.IsKnown() || result.IsNull() || !result.Type().IsObjectType() || !result.Type().HasAttribute("open") {
		return false
	}
	got := result.GetAttr("open")
	return got.Type() == cty.Bool && got.IsKnown() && !got.IsNull() && !got.IsMarked() && got.True() == want.True()
}

// compareOpen compares open, and when it is not met says what the port
// was instead, so that `expect { open = true }` failing reads
// "false (closed: connection refused)" rather than a bare false.
func compareOpen(want bool, got Result) *checks.Diff {
	if got.Open == want {
		return nil
	}
	d := &checks.Diff{Expected: checks.Literal(want), Actual: checks.Literal(got.Open)}
	if got.State != Open {
		d.Actual += " (" + got.State
		if got.Error != "" {
			d.Actual += ": " + got.Error
		}
		d.Actual += ")"
	}
	return d
}

// Probe dials host:port once. The context's deadline is the time a filtered
// port is given to answer: a firewall that drops sends nothing back, so only
// the timeout can tell filtered from slow.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	r := Result{Host: cfg.Host, Port: cfg.Port}
	// Resolve first, separately, so that a name that does not resolve is an
	// error (the check could not be carried out) rather than a closed port.
	ips, err := netx.Lookup(ctx, cfg.Host)
	if err != nil {
		return r, err
	}
	if 0 <= cfg.Port && cfg.Port <= 65535 {
		// What net.JoinHostPort writes, in one allocation instead of three.
		r.Address = netip.AddrPortFrom(ips[0], uint16(cfg.Port)).String()
	} else {
		r.Address = net.JoinHostPort(ips[0].String(), strconv.Itoa(cfg.Port))
	}

	d := net.Dialer{Control: checks.DialControl(ctx)}
	conn, err := d.DialContext(ctx, "tcp", r.Address)
	if err == nil {
		conn.Close()
		r.Open, r.State = true, Open
		return r, nil
	}
	r.State, r.Error, err = classify(ctx, err)
	if err != nil {
		return r, fmt.Errorf("cannot connect to %s: %w", r.Address, err)
	}
	return r, nil
}

// classify turns a dial error into a port state. Only answers from the
// network become states: a refusal or a reset (closed), silence until the
// timeout or an ICMP unreachable (filtered), a local firewall rule. Any
// other error is this machine's (too many open files, no buffer space) and
// says nothing about the port: it is returned as the check's error, so an
// open port can never pass `open = false` because nettest was overloaded.
func classify(ctx context.Context, err error) (state, detail string, _ error) {
	switch netx.Classify(ctx, err) {
	case netx.Refused:
		return Closed, "connection refused", nil
	case netx.Reset:
		return Closed, "connection reset during the handshake", nil
	case netx.Interrupted:
		return "", "", errors.New("interrupted before the handshake finished")
	case netx.TimedOut:
		return Filtered, "no answer within the timeout", nil
	case netx.HostUnreachable:
		return Filtered, "host unreachable (ICMP)", nil
	case netx.NetUnreachable:
		return Filtered, "network unreachable", nil
	case netx.Blocked:
		return Filtered, "blocked by a local firewall rule (" + err.Error() + ")", nil
	}
	if local := checks.LocalFailure(err); local != nil {
		return "", "", local
	}
	return "", "", fmt.Errorf("%w; this is not an answer from the network, so the port's state is unknown", err)
}
