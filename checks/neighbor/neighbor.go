// Package neighbor is the neighbor check: does the kernel's neighbour table
// (the ARP table for IPv4, the NDP table for IPv6) hold an entry for an
// address, with which MAC address and in which state? It answers "is the
// gateway's MAC the one of the new router", "was the static ARP entry for
// the storage array installed", "does the VIP answer ARP after failover".
//
// The table is read from the kernel over netlink (RTM_GETNEIGH), as `ip
// neigh` does, never by parsing command output. With resolve = true the
// check first sends one empty UDP datagram to the discard port (9) of the
// address, which makes the kernel resolve it, and waits for the resolution
// to finish.
package neighbor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/iface"
	"github.com/vishvananda/netlink"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sys/unix"
)

// Config is what a neighbor block says.
type Config struct {
	Address   string  `cty:"address"`
	Interface *string `cty:"interface"`
	Resolve   bool    `cty:"resolve,optional"`
}

// Result is what a neighbor check observed.
type Result struct {
	// Address is the IP address looked up, as the kernel writes it.
	Address string `cty:"address"`
	// Present is true when the kernel has a usable entry: one in any
	// state but failed and incomplete (and the transient "none").
	Present bool `cty:"present"`
	// MAC is the link-layer address, lower case with colons; "" when the
	// entry has none.
	MAC string `cty:"mac"`
	// State is the entry's state (see States); "" when there is no entry.
	State string `cty:"state"`
	// Interface is the interface of the entry, or the one asked for.
	Interface string `cty:"interface"`
}

// States are the states of a neighbour entry, named as ip-neighbour(8)
// prints them in lower case.
var States = []string{"reachable", "stale", "delay", "probe", "failed", "incomplete", "permanent", "noarp", "none"}

// stateBits maps the kernel's NUD_* bits to names, most telling first: an
// entry has one state, but the field is a bit mask.
var stateBits = []struct {
	bit  int
	name string
}{
	{netlink.NUD_PERMANENT, "permanent"},
	{netlink.NUD_NOARP, "noarp"},
	{netlink.NUD_REACHABLE, "reachable"},
	{netlink.NUD_STALE, "stale"},
	{netlink.NUD_DELAY, "delay"},
	{netlink.NUD_PROBE, "probe"},
	{netlink.NUD_FAILED, "failed"},
	{netlink.NUD_INCOMPLETE, "incomplete"},
}

// resolveLimit bounds the wait for a resolution. The kernel gives up after
// mcast_solicit probes retrans_time apart (3 × 1 s by default) and marks the
// entry failed; a little longer than that sees the verdict.
const resolveLimit = 3500 * time.Millisecond

// pollInterval is how often the table is read while a resolution is going on.
const pollInterval = 20 * time.Millisecond

func init() {
	checks.RegisterFunc("neighbor", func() checks.Kind {
		return checks.Kind{
			Name:    "neighbor",
			Summary: "Looks up an address in the kernel's neighbour table (ARP for IPv4, NDP for IPv6): present, MAC address, state.",
			Docs: map[string]checks.ArgDoc{
				"address":   {Doc: "The IPv4 or IPv6 address of the neighbour.", Validate: validIP},
				"interface": {Doc: "Only look at entries on this interface (needed for an IPv6 link-local address)."},
				"resolve":   {Doc: "First make the kernel resolve the address, by sending one empty UDP datagram to its discard port (9), and wait until the resolution ends or the timeout nears."},
			},
			Expect: []checks.Expectation{
				checks.Equal("present", cty.Bool, "Whether the kernel must have a usable entry (true: any state but failed and incomplete) or must not (false)."),
				macExpectation(),
				checks.Equal("state", cty.String, `The exact state: "reachable", "stale", "delay", "probe", "failed", "incomplete", "permanent" or "noarp".`).Validated(checks.OneOf(States...)),
				checks.Equal("interface", cty.String, "The interface the entry is on."),
			},
			Probe: checks.Typed(Config{}, Probe),
		}
	})
}

func validIP(v cty.Value) error {
	if net.ParseIP(v.AsString()) == nil {
		return fmt.Errorf("%q is not an IP address; the neighbour table is keyed by address, so write one such as \"198.18.0.1\" (names are not resolved)", v.AsString())
	}
	return nil
}

// macExpectation compares MAC addresses in any spelling net.ParseMAC
// understands ("02:00:5E:10:00:01", "02-00-5e-10-00-01"); "" means the
// entry must have none.
func macExpectation() checks.Expectation {
	return checks.Expect("mac", `The MAC address, in any case, with colons or hyphens ("02:00:5e:10:00:01").`, func(want string, got Result) *checks.Diff {
		w, err := normalMAC(want)
		if err == nil && got.MAC == w {
			return nil
		}
		return &checks.Diff{Expected: checks.Literal(w), Actual: checks.Literal(got.MAC)}
	}).Validated(func(v cty.Value) error {
		_, err := normalMAC(v.AsString())
		return err
	})
}

func normalMAC(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	hw, err := net.ParseMAC(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a MAC address; write one such as \"02:00:5e:10:00:01\"", s)
	}
	return hw.String(), nil
}

// Probe reads the entry, resolving the address first when asked to.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	h := &netlink.Handle{} // the network namespace of the calling thread
	ip := net.ParseIP(cfg.Address)
	if ip == nil {
		return Result{}, fmt.Errorf("%q is not an IP address", cfg.Address)
	}
	r := Result{Address: ip.String()}
	index := 0
	if cfg.Interface != nil {
		link, err := iface.ByName(h, *cfg.Interface)
		if err != nil {
			return r, err
		}
		index = link.Attrs().Index
		r.Interface = *cfg.Interface
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}

	if cfg.Resolve {
		resolving, err := solicit(ctx, h, ip, index, cfg.Interface)
		if err != nil {
			return r, err
		}
		if resolving {
			return wait(ctx, h, r, ip, index)
		}
	}
	return read(h, r, ip, index)
}

// read looks the address up once.
func read(h *netlink.Handle, r Result, ip net.IP, index int) (Result, error) {
	n, found, err := lookup(h, ip, index)
	if err != nil {
		return r, err
	}
	if found {
		r.fill(h, n)
	}
	return r, nil
}

// wait reads the table until the resolution started by solicit has ended
// (the entry left incomplete) or the time is up, and returns the last
// observation: an entry still incomplete at the end is a result, not an
// error. It stops a little before the context's deadline, so that the
// observation arrives before the check times out.
func wait(ctx context.Context, h *netlink.Handle, r Result, ip net.IP, index int) (Result, error) {
	end := time.Now().Add(resolveLimit)
	if d, ok := ctx.Deadline(); ok {
		margin := min(time.Until(d)/10, 100*time.Millisecond)
		if stop := d.Add(-margin); stop.Before(end) {
			end = stop
		}
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		n, found, err := lookup(h, ip, index)
		if err != nil {
			return r, err
		}
		settled := found && n.State&netlink.NUD_INCOMPLETE == 0 && n.State != netlink.NUD_NONE
		if settled || !time.Now().Before(end) {
			if found {
				r.fill(h, n)
			}
			return r, nil
		}
		select {
		case <-ctx.Done():
			if found {
				r.fill(h, n)
			}
			return r, nil
		case <-tick.C:
		}
	}
}

// solicit makes the kernel resolve ip by sending it one empty UDP datagram
// to the discard port: the kernel cannot send it without the neighbour's
// MAC address, so it sends an ARP request or neighbour solicitation first.
// Whatever answers on port 9 (usually an ICMP port unreachable, or
// nothing) does not matter. It returns false, having sent nothing, when
// the address is not on-link: the kernel would resolve the gateway instead,
// and no entry for ip would ever appear.
func solicit(ctx context.Context, h *netlink.Handle, ip net.IP, index int, ifname *string) (bool, error) {
	linkLocal := ip.To4() == nil && ip.IsLinkLocalUnicast()
	if linkLocal && ifname == nil {
		return false, fmt.Errorf("%s is an IPv6 link-local address: set interface to say on which link to resolve it", ip)
	}
	routes, err := h.RouteGetWithOptions(ip, &netlink.RouteGetOptions{OifIndex: index})
	if err != nil || len(routes) == 0 || routes[0].Type != unix.RTN_UNICAST || routes[0].Gw != nil || routes[0].Via != nil {
		return false, nil
	}
	addr := &net.UDPAddr{IP: ip, Port: 9}
	if linkLocal {
		addr.Zone = *ifname
	}
	var d net.Dialer
	if ifname != nil {
		// Send out of the interface asked for even when the routing table
		// prefers another. Binding needs CAP_NET_RAW; without it the
		// datagram takes the route's interface, which the lookup above
		// already found to be on-link.
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, *ifname)
			})
		}
	}
	conn, err := d.DialContext(ctx, "udp", addr.String())
	if err != nil {
		if errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTUNREACH) {
			return false, nil
		}
		return false, fmt.Errorf("cannot send the datagram that resolves %s: %v", ip, err)
	}
	defer conn.Close()
	// An error here (host unreachable from an entry that already failed)
	// is no reason to stop: the table still says what happened.
	_, _ = conn.Write(nil)
	return true, nil
}

// lookup finds the entry for ip, on the interface with the given index when
// it is not 0. With no interface named and entries on several interfaces, a
// usable one is preferred, then the lowest interface index.
func lookup(h *netlink.Handle, ip net.IP, index int) (netlink.Neigh, bool, error) {
	family := netlink.FAMILY_V4
	if ip.To4() == nil {
		family = netlink.FAMILY_V6
	}
	var entries []netlink.Neigh
	var err error
	// A dump interrupted by a concurrent change may be incomplete; the
	// next one usually is not.
	for range 3 {
		entries, err = h.NeighList(index, family)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return netlink.Neigh{}, false, fmt.Errorf("cannot read the neighbour table: %v", err)
	}
	var best netlink.Neigh
	found := false
	for _, n := range entries {
		if !n.IP.Equal(ip) {
			continue
		}
		if !found || (usable(n.State) && !usable(best.State)) ||
			(usable(n.State) == usable(best.State) && n.LinkIndex < best.LinkIndex) {
			best, found = n, true
		}
	}
	return best, found, nil
}

func (r *Result) fill(h *netlink.Handle, n netlink.Neigh) {
	r.State = stateName(n.State)
	r.Present = usable(n.State)
	r.MAC = ""
	if len(n.HardwareAddr) > 0 {
		r.MAC = n.HardwareAddr.String()
	}
	if link, err := h.LinkByIndex(n.LinkIndex); err == nil {
		r.Interface = link.Attrs().Name
	}
}

// usable is the meaning of present: the kernel can send to the neighbour
// without resolving it first (or, for noarp, without resolving at all).
// Failed and incomplete entries are the kernel's memory of not knowing.
func usable(state int) bool {
	return state&^(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) != 0
}

func stateName(state int) string {
	for _, s := range stateBits {
		if state&s.bit != 0 {
			return s.name
		}
	}
	return "none"
}
