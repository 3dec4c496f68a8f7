package traceroute

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// Via is the expectation that the path goes through the given addresses in
// that order, with any number of hops before, between and after them: the
// way people say "from the office, traffic must leave through the firewall,
// then the VPN gateway". A hop balanced over several routers matches any of
// the addresses that answered for it.
func Via() checks.Expectation {
	return checks.Expect("via", "Addresses that must appear on the path in this order, not necessarily adjacent.", compareVia).Validated(validVia)
}

// validVia accepts IP addresses only: the hops of a trace are addresses, and
// turning a name into one would need a resolver at load time.
func validVia(v cty.Value) error {
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsKnown() || e.IsNull() {
			continue
		}
		if _, err := netip.ParseAddr(e.AsString()); err != nil {
			return fmt.Errorf("via lists the addresses of routers; %q is not an IP address", e.AsString())
		}
	}
	return nil
}

func compareVia(wanted []string, got Result) *checks.Diff {
	var path [][]string // per hop, the normalised addresses that answered
	var shown []string
	for _, h := range got.Hops {
		addrs := slices.Clone(h.Addresses)
		if len(addrs) == 0 && h.Address != "" {
			addrs = []string{h.Address}
		}
		for i := range addrs {
			addrs[i] = normalise(addrs[i])
		}
		path = append(path, addrs)
		switch len(addrs) {
		case 0:
			shown = append(shown, "*")
		case 1:
			shown = append(shown, fmt.Sprintf("%q", addrs[0]))
		default:
			shown = append(shown, fmt.Sprintf("%q", strings.Join(addrs, "|")))
		}
	}
	// Greedy matching is exact for an ordered subsequence: taking the
	// earliest hop for each wanted address leaves the most room for the
	// ones after it.
	next := 0
	for i, w := range wanted {
		w = normalise(w)
		found := false
		for next < len(path) && !found {
			found = contains(path[next], w)
			next++
		}
		if !found {
			missing := fmt.Sprintf("%q", wanted[i])
			if i > 0 {
				missing += fmt.Sprintf(" after %q", wanted[i-1])
			}
			return &checks.Diff{
				Field:    "hops",
				Expected: "via " + checks.Literal(wanted),
				Actual:   "[" + strings.Join(shown, ", ") + "] (no " + missing + ")",
			}
		}
	}
	return nil
}

// normalise writes an address the way the result does, so that "::ffff:1.2.3.4"
// or "2001:DB8::1" in a via list matches what the trace reports.
func normalise(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}
