// Package traceroute is the traceroute check: which routers does the path to
// a host go through, does it reach the host, and in how many hops?
//
// It sends probes (ICMP echo requests, UDP datagrams or TCP SYNs) with
// increasing TTLs and listens for what comes back: each router where a
// probe's TTL runs out answers ICMP Time Exceeded, the destination answers
// the probe itself (Echo Reply, Port Unreachable, SYN-ACK or RST). A raw
// ICMP socket hears all of them for every trace of the process (listener.go);
// it takes root or CAP_NET_RAW. Without those, UDP and ICMP probes are traced
// through IP_RECVERR on their own socket instead (recverr.go), chosen by
// itself; TCP probes need the raw socket.
package traceroute

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/netx"
	"github.com/zclconf/go-cty/cty"
)

// The protocols a trace can send its probes with.
const (
	ICMP = "icmp"
	UDP  = "udp"
	TCP  = "tcp"
)

// Defaults of the arguments.
const (
	DefaultMaxHops    = 30
	DefaultHopTimeout = time.Second
	// DefaultQueries is 3, as in traceroute: routers rate-limit their Time
	// Exceeded messages and links drop packets, so with one probe per hop
	// a single lost answer shows a healthy router as "*" and fails a via
	// expectation that is in fact met. Probes of all hops go out at once,
	// so the two extra queries cost little time (see trace).
	DefaultQueries = 3
	// DefaultUDPPort is traceroute's first port; probe n goes to port+n.
	DefaultUDPPort = 33434
	// DefaultTCPPort is the port TCP probes knock at when none is given.
	DefaultTCPPort = 80
)

// Config is what a traceroute block says.
type Config struct {
	Host       string `cty:"host"`
	MaxHops    int    `cty:"max_hops,optional"`
	Protocol   string `cty:"protocol,optional"`
	HopTimeout string `cty:"hop_timeout,optional"`
	Queries    int    `cty:"queries,optional"`
	Port       *int   `cty:"port"`
}

// Defaults are the values of the arguments a block leaves out.
var Defaults = Config{
	MaxHops:    DefaultMaxHops,
	Protocol:   ICMP,
	HopTimeout: DefaultHopTimeout.String(),
	Queries:    DefaultQueries,
}

// Hop is one TTL of the path as the result shows it.
type Hop struct {
	// TTL is the hop's distance from this host, from 1.
	TTL int `cty:"ttl"`
	// Address is the router (or the destination) that answered first, ""
	// when no probe of this TTL was answered (traceroute's "*").
	Address string `cty:"address"`
	// Addresses are all that answered, in order: more than one when the
	// path is balanced over several routers.
	Addresses []string `cty:"addresses"`
	// RTTMs is the fastest answer in milliseconds, null when none came.
	RTTMs *float64 `cty:"rtt_ms"`
	// Replies is how many of the queries were answered.
	Replies int `cty:"replies"`
	// Unreachable names the Destination Unreachable a router sent instead
	// of forwarding ("network", "host", "port", "prohibited", …).
	Unreachable string `cty:"unreachable"`
}

// Result is what a traceroute check observed; every field is usable as
// traceroute.NAME.FIELD elsewhere and as self.FIELD in assert blocks.
type Result struct {
	Host     string `cty:"host"`
	Address  string `cty:"address"`
	Protocol string `cty:"protocol"`
	// Method says how the routers' answers were heard: "raw" (a raw ICMP
	// socket, with root or CAP_NET_RAW) or "recverr" (IP_RECVERR on the
	// probes' own socket, without privileges).
	Method   string `cty:"method"`
	Reached  bool   `cty:"reached"`
	HopCount int    `cty:"hop_count"`
	Hops     []Hop  `cty:"hops"`
	Error    string `cty:"error"`
}

func init() {
	checks.RegisterFunc("traceroute", func() checks.Kind {
		return checks.Kind{
			Name:    "traceroute",
			Summary: "Traces the path to a host hop by hop and reports the routers on it and whether the host was reached.",
			Docs: map[string]checks.ArgDoc{
				"host":        {Doc: "Host name, IPv4 or IPv6 address to trace the path to."},
				"max_hops":    {Doc: "Largest TTL probed, 1 to 64.", Validate: checks.IntRange(1, 64)},
				"protocol":    {Doc: `What the probes are: "icmp" echo requests, "udp" datagrams to unused ports, or "tcp" SYNs to port.`, Validate: checks.OneOf(ICMP, UDP, TCP)},
				"hop_timeout": {Doc: "How long each probe waits for its answer.", Validate: validHopTimeout},
				"queries":     {Doc: "Probes per hop, 1 to 10.", Validate: checks.IntRange(1, 10)},
				"port":        {Doc: "udp: first destination port (default 33434, one more per probe); tcp: destination port (default 80).", Validate: checks.ValidPort},
			},
			Expect: []checks.Expectation{
				checks.Equal("reached", cty.Bool, "Whether the destination must answer within max_hops (true) or must not (false)."),
				checks.AtMost("max_hops", "hop_count", "The path may be at most this many hops long."),
				Via(),
			},
			Probe: checks.Typed(Defaults, Probe),
		}
	})
}

func validHopTimeout(v cty.Value) error {
	if err := checks.ValidDuration(v); err != nil {
		return err
	}
	if d, _ := time.ParseDuration(v.AsString()); d <= 0 {
		return fmt.Errorf("hop_timeout must be longer than zero, got %q", v.AsString())
	}
	return nil
}

// Probe traces the path to cfg.Host. The context's deadline bounds the whole
// trace: when it comes first, the hops seen so far are returned and error
// says the trace was cut short.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	cfg = withDefaults(cfg)
	r := Result{Host: cfg.Host, Protocol: cfg.Protocol, Hops: []Hop{}}
	hopTimeout, _ := time.ParseDuration(cfg.HopTimeout) // validated by the loader
	port := 0
	switch cfg.Protocol {
	case ICMP:
		if cfg.Port != nil {
			return r, errors.New(`port applies to protocol "udp" and "tcp" only; remove it or set protocol`)
		}
	case UDP:
		port = DefaultUDPPort
		if cfg.Port != nil {
			port = *cfg.Port
		}
		if last := port + cfg.MaxHops*cfg.Queries - 1; last > 65535 {
			return r, fmt.Errorf("udp probes go to ports %d to %d (port + max_hops × queries − 1), beyond 65535; lower port", port, last)
		}
	case TCP:
		port = DefaultTCPPort
		if cfg.Port != nil {
			port = *cfg.Port
		}
	default:
		return r, fmt.Errorf("protocol %q is not one of \"icmp\", \"udp\", \"tcp\"", cfg.Protocol)
	}

	target, err := resolve(ctx, cfg.Host)
	if err != nil {
		return r, err
	}
	r.Address = target.String()

	// The shared raw socket when this process may open one; otherwise
	// each trace hears of its own probes through IP_RECVERR.
	r.Method = MethodRaw
	l, err := acquire(target.Is6())
	switch {
	case errors.Is(err, errNoPrivilege) && cfg.Protocol == TCP:
		return r, fmt.Errorf("traceroute with tcp probes needs a raw ICMP socket to see the routers' Time Exceeded answers, which takes root or the CAP_NET_RAW capability: use protocol = \"udp\", which needs no privilege, or run nettest as root, or grant the binary the capability once with `sudo setcap cap_net_raw+ep $(command -v nettest)` (%v)", err)
	case errors.Is(err, errNoPrivilege):
		r.Method, l = MethodRecvErr, nil
	case err != nil:
		return r, err
	default:
		defer l.release()
	}

	t := &trace{l: l, target: target, protocol: cfg.Protocol, maxHops: cfg.MaxHops,
		queries: cfg.Queries, hopTimeout: hopTimeout, port: port}
	if err := t.open(); err != nil {
		if errors.Is(err, errNoEchoSocket) {
			return r, fmt.Errorf("traceroute with icmp probes needs a raw ICMP socket (root or the CAP_NET_RAW capability) or an unprivileged ICMP socket, which net.ipv4.ping_group_range (%s) does not allow for group %d: use protocol = \"udp\", which needs neither, or run nettest as root, or grant the binary the capability once with `sudo setcap cap_net_raw+ep $(command -v nettest)`, or allow unprivileged ICMP with `sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`", pingGroupRange(), os.Getegid())
		}
		return r, err
	}
	runErr := t.run(ctx)
	t.close()

	r.Hops, r.Reached = t.hops()
	r.HopCount = len(r.Hops)
	if t.local != nil && !r.Reached {
		return r, fmt.Errorf("tracing %s: %w", target, t.local)
	}
	var send errSend
	switch {
	case r.Reached:
	case errors.As(runErr, &send):
		r.Error = fmt.Sprintf("sending a probe to %s failed: %s", target, send.Error())
	case errors.Is(runErr, context.Canceled):
		r.Error = "the run was interrupted before the trace finished"
	case runErr != nil:
		r.Error = fmt.Sprintf("the check's timeout ended the trace before every probe had its answer or its hop_timeout (%s); raise timeout or lower hop_timeout or max_hops", hopTimeout)
	case r.HopCount > 0 && r.Hops[r.HopCount-1].Unreachable != "":
		last := r.Hops[r.HopCount-1]
		r.Error = fmt.Sprintf("hop %d (%s) answered destination unreachable (%s)", last.TTL, last.Address, last.Unreachable)
	default:
		r.Error = fmt.Sprintf("no answer from %s within %d hops and a hop_timeout of %s", target, cfg.MaxHops, hopTimeout)
	}
	return r, nil
}

// withDefaults fills in what a caller of Probe left at zero from Defaults;
// the loader itself always passes every argument.
func withDefaults(cfg Config) Config {
	if cfg.MaxHops == 0 {
		cfg.MaxHops = Defaults.MaxHops
	}
	if cfg.Protocol == "" {
		cfg.Protocol = Defaults.Protocol
	}
	if cfg.Queries == 0 {
		cfg.Queries = Defaults.Queries
	}
	if cfg.HopTimeout == "" {
		cfg.HopTimeout = Defaults.HopTimeout
	}
	return cfg
}

// pingGroupRange is the sysctl that allows unprivileged ICMP sockets, as
// the kernel prints it, for error messages.
func pingGroupRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// resolve returns the address to trace: an IP literal as written, or the
// first address the system resolver gives for a name, as the tcp check does.
func resolve(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("host %q has a zone; traceroute works on addresses without one", host)
		}
		return a.Unmap(), nil
	}
	ips, err := netx.Lookup(ctx, host)
	if err != nil {
		return netip.Addr{}, err
	}
	return ips[0].WithZone(""), nil
}
