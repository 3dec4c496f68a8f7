// Package iface finds network interfaces by name for the kinds that ask the
// kernel over netlink (neighbor, route), with the same error for a name
// that does not exist in each.
package iface

import (
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// ByName returns the interface called name in the network namespace of h.
// When there is none, the error names the interfaces there are, so that a
// typo or the wrong namespace shows at once.
func ByName(h *netlink.Handle, name string) (netlink.Link, error) {
	link, err := h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("no interface named %q in this network namespace (there are: %s)", name, Names(h))
	}
	return link, nil
}

// Names lists the interface names of the namespace of h, for error
// messages: the first twelve, then how many more there are.
func Names(h *netlink.Handle) string {
	links, err := h.LinkList()
	if err != nil {
		return ""
	}
	// A host with many containers has hundreds of veths: name a few.
	const most = 12
	var names []string
	for _, l := range links {
		if len(names) == most {
			names = append(names, fmt.Sprintf("and %d more", len(links)-most))
			break
		}
		names = append(names, l.Attrs().Name)
	}
	return strings.Join(names, ", ")
}
