// Package route is the route check: which route would the kernel choose for
// a destination, as `ip route get` shows it? It answers "does traffic to the
// database subnet leave through the VPN interface", "is 10.0.0.0/8
// blackholed", "is there no route at all to the management network".
//
// The kernel is asked over netlink (RTM_GETROUTE), the question `ip route
// get` asks, so policy routing rules, VRFs and the local table are taken
// into account exactly as for real traffic. Nothing is sent on the network.
package route

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/iface"
	"github.com/vishvananda/netlink"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sys/unix"
)

// Config is what a route block says.
type Config struct {
	Destination string  `cty:"destination"`
	Source      *string `cty:"source"`
	Interface   *string `cty:"interface"`
}

// Result is what a route check observed.
type Result struct {
	// Destination is the address that was looked up: the destination
	// argument, or the network address of a prefix.
	Destination string `cty:"destination"`
	// Reachable is false when no route leads there: no route matched, or
	// the one that did is unreachable, prohibit, blackhole or throw.
	Reachable bool `cty:"reachable"`
	// Type is the matched route's type: unicast, local, broadcast,
	// multicast, unreachable, prohibit, blackhole, …; "" when none matched.
	Type string `cty:"type"`
	// Prefix is the matched route's destination, such as "198.18.1.0/24",
	// or "default".
	Prefix string `cty:"prefix"`
	// Table is the routing table the route is in (254 is main, 255 local).
	Table int `cty:"table"`
	// Gateway is the next hop, "" when the destination is on-link.
	Gateway string `cty:"gateway"`
	// Interface is the outgoing interface.
	Interface string `cty:"interface"`
	// Source is the source address the kernel would use.
	Source string `cty:"source"`
}

// routeTypes names the kernel's route types (RTN_*) as ip-route(8) does.
var routeTypes = map[int]string{
	unix.RTN_UNICAST:     "unicast",
	unix.RTN_LOCAL:       "local",
	unix.RTN_BROADCAST:   "broadcast",
	unix.RTN_ANYCAST:     "anycast",
	unix.RTN_MULTICAST:   "multicast",
	unix.RTN_BLACKHOLE:   "blackhole",
	unix.RTN_UNREACHABLE: "unreachable",
	unix.RTN_PROHIBIT:    "prohibit",
	unix.RTN_THROW:       "throw",
	unix.RTN_NAT:         "nat",
	unix.RTN_XRESOLVE:    "xresolve",
}

// refusals are the errors an IPv4 lookup returns when the route it matched
// carries no traffic: the kernel answers with the route type's error
// instead of the route (fib_props in net/ipv4/fib_semantics.c).
var refusals = map[syscall.Errno]int{
	syscall.EHOSTUNREACH: unix.RTN_UNREACHABLE,
	syscall.EACCES:       unix.RTN_PROHIBIT,
	syscall.EINVAL:       unix.RTN_BLACKHOLE,
}

func init() {
	checks.RegisterFunc("route", func() checks.Kind {
		return checks.Kind{
			Name:    "route",
			Summary: "Asks the kernel which route it would choose for a destination, as `ip route get` does.",
			Docs: map[string]checks.ArgDoc{
				"destination": {Doc: `An IPv4 or IPv6 address, or a prefix ("10.20.0.0/16"), whose network address is looked up.`, Validate: validDestination},
				"source":      {Doc: "Look up the route for packets from this local address, as `ip route get … from`, which policy routing rules may select on.", Validate: validIP},
				"interface":   {Doc: "Look up the route for packets forced out of this interface, as `ip route get … oif`."},
			},
			Expect: []checks.Expectation{
				checks.Equal("reachable", cty.Bool, "Whether a usable route must exist (true) or there must be none (false: no route, or an unreachable, prohibit, blackhole or throw route)."),
				address("gateway", `The next hop; "" means the destination must be on-link (directly connected).`, func(r Result) string { return r.Gateway }),
				checks.Equal("interface", cty.String, "The outgoing interface."),
				address("source", "The source address the kernel picks.", func(r Result) string { return r.Source }),
				prefix(),
				checks.Equal("type", cty.String, `The route type: "unicast", "local", "broadcast", "multicast", "anycast", "unreachable", "prohibit", "blackhole", "throw".`).Validated(checks.OneOf("unicast", "local", "broadcast", "multicast", "anycast", "unreachable", "prohibit", "blackhole", "throw", "nat", "xresolve")),
			},
			Probe: checks.Typed(Config{}, Probe),
		}
	})
}

func validIP(v cty.Value) error {
	if net.ParseIP(v.AsString()) == nil {
		return fmt.Errorf("%q is not an IP address", v.AsString())
	}
	return nil
}

func validDestination(v cty.Value) error {
	if _, err := destinationIP(v.AsString()); err != nil {
		return err
	}
	return nil
}

// destinationIP reads an address or a prefix. A prefix stands for its
// network address: routes cover whole prefixes, so the route to
// 10.20.0.0/16 is the route to 10.20.0.0 unless a longer prefix inside it
// exists, and then no single address would speak for the whole prefix.
func destinationIP(s string) (net.IP, error) {
	if ip := net.ParseIP(s); ip != nil {
		return ip, nil
	}
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n.IP, nil
	}
	return nil, fmt.Errorf("%q is not an IP address or prefix; write an address such as \"198.18.1.10\" or a prefix such as \"198.18.1.0/24\" (names are not resolved)", s)
}

// Probe asks the kernel once. Only a question the kernel cannot answer (an
// interface that does not exist, a source that is not local) is an error;
// "no route" is an observation.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	return lookup(ctx, &netlink.Handle{}, cfg)
}

// lookup does the work on a netlink handle; the zero Handle works in the
// network namespace of the calling thread.
func lookup(ctx context.Context, h *netlink.Handle, cfg Config) (Result, error) {
	var r Result
	ip, err := destinationIP(cfg.Destination)
	if err != nil {
		return r, err
	}
	r.Destination = ip.String()
	if err := ctx.Err(); err != nil {
		return r, err
	}
	opts := &netlink.RouteGetOptions{}
	if cfg.Source != nil {
		if opts.SrcAddr = net.ParseIP(*cfg.Source); opts.SrcAddr == nil {
			return r, fmt.Errorf("source %q is not an IP address", *cfg.Source)
		}
		if (opts.SrcAddr.To4() == nil) != (ip.To4() == nil) {
			return r, fmt.Errorf("source %s and destination %s are of different IP versions", *cfg.Source, r.Destination)
		}
		// The kernel answers a lookup from a foreign source with "network
		// unreachable", which would read as "no route": say what is wrong.
		if !localAddress(h, opts.SrcAddr) {
			return r, fmt.Errorf("source %s is not an address of this host (see `ip addr`); the kernel looks up routes only from local addresses", *cfg.Source)
		}
	}
	if cfg.Interface != nil {
		link, err := iface.ByName(h, *cfg.Interface)
		if err != nil {
			return r, err
		}
		opts.OifIndex = link.Attrs().Index
	}

	routes, err := h.RouteGetWithOptions(ip, opts)
	if err != nil {
		return refused(h, r, ip, cfg, err)
	}
	if len(routes) == 0 {
		return r, fmt.Errorf("the kernel answered the route lookup for %s with no route", r.Destination)
	}
	got := routes[0]
	r.Type = typeName(got.Type)
	r.Reachable = usable(got.Type)
	switch {
	case got.Gw != nil:
		r.Gateway = got.Gw.String()
	case got.Via != nil:
		// An IPv4 route through an IPv6 next hop (RTA_VIA).
		if via, ok := got.Via.(*netlink.Via); ok {
			r.Gateway = via.Addr.String()
		}
	}
	switch {
	case got.Src != nil:
		r.Source = got.Src.String()
	case opts.SrcAddr != nil:
		// Asked with a source, the kernel echoes it as RTA_SRC, not as a
		// preferred source.
		r.Source = opts.SrcAddr.String()
	}
	if got.LinkIndex > 0 {
		if link, err := h.LinkByIndex(got.LinkIndex); err == nil {
			r.Interface = link.Attrs().Name
		}
	}
	r.Table = got.Table

	// The answer above is the resolved route for the one address; asking
	// again with RTM_F_FIB_MATCH returns the routing table entry that
	// matched, with its prefix (`ip route get … fibmatch`, Linux 4.13+).
	fibOpts := *opts
	fibOpts.FIBMatch = true
	if entries, err := h.RouteGetWithOptions(ip, &fibOpts); err == nil && len(entries) > 0 {
		r.Prefix = prefixString(entries[0].Dst)
		r.Table = entries[0].Table
	} else if m, ok := longestMatch(h, ip, got.Type); ok {
		r.Prefix, r.Table = prefixString(m.Dst), m.Table
	}
	return r, nil
}

// refused turns a failed lookup into an observation when the failure is
// the kernel saying "no route": ENETUNREACH when nothing matched, or the
// error of an unreachable, prohibit or blackhole route that matched.
func refused(h *netlink.Handle, r Result, ip net.IP, cfg Config, err error) (Result, error) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return r, fmt.Errorf("route lookup for %s failed: %v", r.Destination, err)
	}
	if errno == syscall.ENETUNREACH {
		return r, nil // No route matched: reachable false, type "".
	}
	if errno == syscall.EPERM {
		return r, fmt.Errorf("route lookup for %s not permitted: %v", r.Destination, err)
	}
	rtype, ok := refusals[errno]
	if !ok {
		return r, fmt.Errorf("route lookup for %s failed: %v", r.Destination, err)
	}
	// The error says which type of route matched but not which one: find
	// the longest prefix of that type that holds the address. Without a
	// route of that type the error was about the question itself.
	m, found := longestMatch(h, ip, rtype)
	if !found {
		return r, fmt.Errorf("route lookup for %s failed: %v", r.Destination, err)
	}
	r.Type = typeName(rtype)
	r.Prefix, r.Table = prefixString(m.Dst), m.Table
	return r, nil
}

// longestMatch finds, among the routes of every table, the one of the
// given type with the longest prefix holding ip. It does not evaluate
// policy routing rules: it serves only to name the prefix of a route the
// kernel already said matched.
func longestMatch(h *netlink.Handle, ip net.IP, rtype int) (netlink.Route, bool) {
	family := netlink.FAMILY_V4
	if ip.To4() == nil {
		family = netlink.FAMILY_V6
	}
	var best netlink.Route
	bestLen, found := -1, false
	_ = h.RouteListFilteredIter(family, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE, func(rt netlink.Route) bool {
		if rt.Type != rtype {
			return true
		}
		ones := 0
		if rt.Dst != nil {
			if !rt.Dst.Contains(ip) {
				return true
			}
			ones, _ = rt.Dst.Mask.Size()
		}
		if ones > bestLen {
			best, bestLen, found = rt, ones, true
		}
		return true
	})
	return best, found
}

// localAddress reports whether ip is assigned to an interface here.
func localAddress(h *netlink.Handle, ip net.IP) bool {
	family := netlink.FAMILY_V4
	if ip.To4() == nil {
		family = netlink.FAMILY_V6
	}
	addrs, err := h.AddrList(nil, family)
	if err != nil {
		return true // Let the kernel judge.
	}
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			return true
		}
	}
	return false
}

func usable(t int) bool {
	switch t {
	case unix.RTN_UNICAST, unix.RTN_LOCAL, unix.RTN_BROADCAST, unix.RTN_MULTICAST, unix.RTN_ANYCAST:
		return true
	}
	return false
}

func typeName(t int) string {
	if name, ok := routeTypes[t]; ok {
		return name
	}
	return fmt.Sprintf("type %d", t)
}

// prefixString writes a route's destination as ip-route(8) does: "default"
// for the zero-length prefix.
func prefixString(dst *net.IPNet) string {
	if dst == nil {
		return "default"
	}
	if ones, _ := dst.Mask.Size(); ones == 0 {
		return "default"
	}
	return dst.String()
}

// address is an expectation on an IP address field that compares addresses,
// not spellings ("2001:db8::1" equals "2001:DB8:0::1"); "" means none.
func address(field, doc string, of func(Result) string) checks.Expectation {
	return checks.Expect(field, doc, func(want string, r Result) *checks.Diff {
		got := of(r)
		if want == got || (want != "" && got != "" && net.ParseIP(want).Equal(net.ParseIP(got))) {
			return nil
		}
		return &checks.Diff{Expected: checks.Literal(want), Actual: checks.Literal(got)}
	}).Validated(func(v cty.Value) error {
		if v.AsString() == "" {
			return nil
		}
		return validIP(v)
	})
}

// prefix compares prefixes as networks: "default", "0.0.0.0/0" and "::/0"
// are the default route, and "10.1.2.3/8" is 10.0.0.0/8.
func prefix() checks.Expectation {
	return checks.Expect("prefix", `The destination of the matched route, such as "198.18.1.0/24" or "default".`, func(want string, r Result) *checks.Diff {
		w, werr := canonicalPrefix(want)
		g, gerr := canonicalPrefix(r.Prefix)
		if werr == nil && gerr == nil && w == g {
			return nil
		}
		return &checks.Diff{Expected: checks.Literal(want), Actual: checks.Literal(r.Prefix)}
	}).Validated(func(v cty.Value) error {
		_, err := canonicalPrefix(v.AsString())
		return err
	})
}

func canonicalPrefix(s string) (string, error) {
	if s == "default" || s == "" {
		return s, nil
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a prefix; write one such as \"198.18.1.0/24\", or \"default\"", s)
	}
	return prefixString(n), nil
}
