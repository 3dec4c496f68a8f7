// Package ping is the ping check: does a host answer ICMP echo requests, how
// many of them, and how fast?
//
// It sends a fixed number of echo requests, one every interval, and counts
// the echo replies until every request is answered or the check's timeout
// ends: a request still unanswered at the deadline counts as lost, as with
// `ping -c N -w DEADLINE`.
//
// # Sockets and privileges
//
// Linux offers two ways to send echo requests. An ICMP datagram socket
// (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)) needs no privilege when the
// process's group lies in net.ipv4.ping_group_range; a raw ICMP socket needs
// root or CAP_NET_RAW. The probe tries the datagram socket first and falls
// back to the raw one; when neither may be opened it returns an error that
// lists the three ways to allow it. nettest never changes the sysctl itself.
//
// # Why not pro-bing's Pinger
//
// pro-bing (the library the design card names) opens one socket per Pinger.
// For datagram sockets that is fine: the kernel hands each reply to the one
// socket whose ICMP identifier it carries. For raw sockets it is not: the
// kernel delivers a copy of every ICMP packet the host receives to every raw
// ICMP socket (raw_v4_input clones the packet once per socket before any
// filter runs), so N concurrent Pingers cost N² copies, and a suite of 1,000
// ping checks spends its CPU cloning and discarding other checks' replies.
// Its receive loop also polls with short read deadlines while it waits, and
// it resolves names without the check's context.
//
// So the probe runs the echo exchange itself on golang.org/x/net/icmp (the
// package pro-bing builds on), with one shared raw socket per address family
// for the whole process. Each check gets its own ICMP identifier on that
// socket; one reader goroutine demultiplexes every reply by (identifier,
// sequence number) to the check that sent it and checks that the payload is
// that check's, so replies to other programs' pings, duplicates and late
// replies to a previous check that had the same identifier are ignored.
// Datagram sockets stay one per check, because there the kernel does the
// demultiplexing. On 1,000 concurrent pings of loopback addresses this
// costs about 60 ms of CPU where pro-bing's raw Pingers cost over a second
// (BenchmarkProbe1000 and BenchmarkProBing1000); bench/ping compares
// nettest with fping.
package ping

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/netx"
	"github.com/zclconf/go-cty/cty"
)

// Defaults of the optional arguments.
const (
	// DefaultPackets is how many echo requests a check sends unless told.
	DefaultPackets = 3
	// DefaultInterval is the pause between two requests. 200 ms is the
	// shortest interval iputils' ping long allowed an unprivileged user (so
	// it is a rate no network operator will call a flood), yet three packets
	// still go out within 400 ms, well inside a check's usual timeout of a
	// few seconds. ping's own default of 1 s would make the default check
	// last more than 2 s for no better answer.
	DefaultInterval = "200ms"
	// DefaultSize is the payload size in bytes: 56, as ping sends, which
	// makes an 84-byte IPv4 packet.
	DefaultSize = 56
)

// minInterval keeps a typo ("1us") from turning a check into a flood.
const minInterval = time.Millisecond

// maxSize is the largest echo payload an IPv4 packet can carry
// (65535 - 20 bytes of IP header - 8 of ICMP header); IPv6 allows as much.
const maxSize = 65507

// lingerWithoutDeadline bounds the wait for the last replies when the
// context has no deadline (the runner always gives one; direct callers may not).
const lingerWithoutDeadline = 2 * time.Second

// Config is what a ping block says.
type Config struct {
	Host     string  `cty:"host"`
	Packets  int     `cty:"packets,optional"`
	Interval string  `cty:"interval,optional"`
	Size     int     `cty:"size,optional"`
	TTL      *int    `cty:"ttl"`
	Family   *string `cty:"family"`
}

// Defaults are the values of the arguments a block leaves out.
var Defaults = Config{
	Packets:  DefaultPackets,
	Interval: DefaultInterval,
	Size:     DefaultSize,
}

// Result is what a ping check observed; every field is usable as
// ping.NAME.FIELD elsewhere and as self.FIELD in assert blocks. The rtt_*
// fields are null when no reply came back, so an RTT bound is never met by
// a host that did not answer.
type Result struct {
	Host        string   `cty:"host"`
	Address     string   `cty:"address"`
	Sent        int      `cty:"sent"`
	Received    int      `cty:"received"`
	LossPercent float64  `cty:"loss_percent"`
	RTTMinMs    *float64 `cty:"rtt_min_ms"`
	RTTAvgMs    *float64 `cty:"rtt_avg_ms"`
	RTTMaxMs    *float64 `cty:"rtt_max_ms"`
	RTTStddevMs *float64 `cty:"rtt_stddev_ms"`
	Reachable   bool     `cty:"reachable"`
	// Unreachable names the first ICMP error that came back instead of a
	// reply: "network", "host", "port", "protocol", "prohibited",
	// "fragmentation needed" (IPv4), "no route", "address", "port",
	// "prohibited" (IPv6), "ttl exceeded" (a Time Exceeded: the ttl
	// argument ran out on the way). "" when none came: the requests met
	// replies or silence.
	Unreachable string `cty:"unreachable"`
	// UnreachableFrom is the address of the router (or host) that sent
	// that error; "" when none came.
	UnreachableFrom string `cty:"unreachable_from"`
	Error           string `cty:"error"`
}

func init() {
	checks.RegisterFunc("ping", func() checks.Kind {
		return checks.Kind{
			Name:    "ping",
			Summary: "Sends ICMP echo requests to a host and reports replies, loss and round-trip times.",
			Docs: map[string]checks.ArgDoc{
				"host":     {Doc: "Host name, IPv4 or IPv6 address to ping.", Validate: nonEmpty},
				"packets":  {Doc: "Number of echo requests to send, 1 to 65535.", Validate: checks.IntRange(1, 65535)},
				"interval": {Doc: "Pause between two echo requests, a duration of at least 1ms.", Validate: validInterval},
				"size":     {Doc: "Payload bytes per echo request, 0 to 65507.", Validate: checks.IntRange(0, maxSize)},
				"ttl":      {Doc: "IPv4 time to live or IPv6 hop limit of the requests, 1 to 255; the system default (usually 64) when unset.", Validate: checks.IntRange(1, 255)},
				"family":   {Doc: `"ip4" or "ip6": which address of a host name to ping; unset, the first address the resolver returns.`, Validate: checks.OneOf("ip4", "ip6")},
			},
			Expect: []checks.Expectation{
				reachableExpectation(),
				checks.AtMost("max_loss_percent", "loss_percent", "Highest share of requests, in percent, that may go unanswered.").Validated(percent),
				checks.AtMost("max_avg_rtt_ms", "rtt_avg_ms", "Highest average round-trip time in milliseconds.").Validated(nonNegative),
				checks.AtMost("max_rtt_ms", "rtt_max_ms", "Highest round-trip time of any reply, in milliseconds.").Validated(nonNegative),
			},
			Probe: checks.Typed(Defaults, Probe),
		}
	})
}

// reachableExpectation is Equal on reachable, and when an ICMP error came
// back instead of replies the diff says which and from whom: "false (host
// unreachable from 198.18.1.254)" tells a router's refusal from a black hole.
func reachableExpectation() checks.Expectation {
	e := checks.Equal("reachable", cty.Bool, "Whether at least one echo reply must come back (true) or none may (false).")
	return e.Explained(func(d *checks.Diff, field func(string) cty.Value) {
		if got := field("reachable"); got.Type() != cty.Bool || got.IsNull() || got.True() {
			return
		}
		kind, from := field("unreachable"), field("unreachable_from")
		if kind.Type() == cty.String && from.Type() == cty.String && !kind.IsNull() && !from.IsNull() && kind.AsString() != "" {
			if a, err := netip.ParseAddr(from.AsString()); err == nil {
				d.Actual += " (" + icmpError{kind: kind.AsString(), from: a}.phrase() + ")"
			}
		}
	})
}

func nonEmpty(v cty.Value) error {
	if v.AsString() == "" {
		return errors.New("must not be empty: give a host name or an IP address")
	}
	return nil
}

func validInterval(v cty.Value) error {
	if err := checks.ValidDuration(v); err != nil {
		return err
	}
	if d, _ := time.ParseDuration(v.AsString()); d < minInterval {
		return fmt.Errorf("must be at least %s, got %q", minInterval, v.AsString())
	}
	return nil
}

func percent(v cty.Value) error {
	if f, _ := v.AsBigFloat().Float64(); f < 0 || f > 100 {
		return fmt.Errorf("must be a percentage from 0 to 100, got %s", checks.Show(v))
	}
	return nil
}

func nonNegative(v cty.Value) error {
	if v.AsBigFloat().Sign() < 0 {
		return fmt.Errorf("must not be negative, got %s", checks.Show(v))
	}
	return nil
}

// Probe resolves the host, sends cfg.Packets echo requests cfg.Interval
// apart and waits for their replies until all are in or the context's
// deadline passes, whichever comes first. Replies that did not arrive by the
// deadline are lost, so a host that does not answer takes the whole timeout.
// Cancellation (Ctrl-C) ends the ping at once with an error: an interrupted
// ping observed nothing a verdict could rest on.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	r := Result{Host: cfg.Host}
	// The loader validated both and filled in Defaults for what the block
	// left out; a direct caller starts from Defaults too.
	packets := max(cfg.Packets, 1)
	interval, _ := time.ParseDuration(cfg.Interval)
	interval = max(interval, minInterval)
	fam, addr, err := resolve(ctx, cfg.Host, cfg.Family)
	if err != nil {
		return r, err
	}
	r.Address = addr.String()

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(packets-1)*interval+lingerWithoutDeadline)
		defer cancel()
	}
	ttl := -1 // the system default
	if cfg.TTL != nil {
		ttl = *cfg.TTL
	}

	x := newExchange(packets, cfg.Size)
	x.target = addr
	ep, err := attach(fam, x)
	if err != nil {
		return r, err
	}
	defer ep.detach(x)
	x.run(ctx, ep, addr, ttl, interval)

	s := x.stats()
	if s.sent == 0 || (errors.Is(ctx.Err(), context.Canceled) && !s.complete) {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return r, fmt.Errorf("the timeout ended before the first echo request to %s was sent; raise the check's timeout", r.Address)
		}
		return r, fmt.Errorf("ping of %s interrupted after %d of %d echo requests", r.Address, s.sent, packets)
	}
	if s.local != nil {
		return r, fmt.Errorf("pinging %s: %w", r.Address, s.local)
	}
	r.Sent, r.Received, r.Error = s.sent, s.received, s.err
	r.Reachable = s.received > 0
	if s.icmp.kind != "" {
		r.Unreachable, r.UnreachableFrom = s.icmp.kind, s.icmp.from.String()
	}
	r.LossPercent = round3(float64(s.sent-s.received) / float64(s.sent) * 100)
	if s.received > 0 {
		r.RTTMinMs, r.RTTAvgMs, r.RTTMaxMs, r.RTTStddevMs = ms(s.min), ms(s.avg), ms(s.max), ms(s.stddev)
	}
	return r, nil
}

// resolve turns the host into one address of the wanted family. A host that
// does not resolve is an error: the check could not be carried out, which
// is not the same as a host that does not answer.
func resolve(ctx context.Context, host string, want *string) (family, netip.Addr, error) {
	ips, err := netx.Lookup(ctx, host)
	if err != nil {
		return 0, netip.Addr{}, err
	}
	for _, a := range ips {
		fam := v6
		if a.Is4() {
			fam = v4
		}
		if want == nil || *want == fam.String() {
			return fam, a, nil
		}
	}
	return 0, netip.Addr{}, fmt.Errorf("host %q has no %s address (it resolves to %s); remove family or change it", host, familyName(*want), ipList(ips))
}

func familyName(f string) string {
	if f == "ip6" {
		return "IPv6"
	}
	return "IPv4"
}

func ipList(ips []netip.Addr) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ", ")
}

// ms converts a duration to milliseconds with microsecond precision.
func ms(d time.Duration) *float64 {
	f := round3(float64(d) / float64(time.Millisecond))
	return &f
}

func round3(f float64) float64 {
	return math.Round(f*1000) / 1000
}
