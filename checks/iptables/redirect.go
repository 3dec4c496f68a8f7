package iptables

import (
	"bytes"
	"net"
	"strconv"
	"strings"
)

// forward is the redirect form of the check: packets of protocol to port
// from must be sent on to port to, on this machine or at toAddress.
type forward struct {
	protocol  string
	from, to  int
	toAddress net.IP // nil: any address of this machine
}

// matches reports whether the listed rule r forwards the packets f is
// about, however the rule was spelled: REDIRECT --to-ports or DNAT
// --to-destination, a single port, a range or a multiport list, with or
// without a protocol match written out. isLocal tells whether an address
// belongs to this machine (a DNAT to the machine's own address is a local
// forward, as REDIRECT is).
//
// Conditions the form does not name (interfaces, source or destination
// addresses, conntrack state, comments) do not prevent a match: the rule
// still forwards the port for the traffic it applies to, and the matched
// rule is in the result for an assert to look at.
func (f forward) matches(r rule, isLocal func(net.IP) bool) bool {
	if !f.protocolMatches(r) || !f.portMatches(r) {
		return false
	}
	switch r.target {
	case "REDIRECT":
		if f.toAddress != nil {
			return false
		}
		ports := ""
		for _, o := range r.targetOpts {
			if o.name == "--to-ports" && len(o.args) == 1 {
				ports = o.args[0]
			}
		}
		if ports == "" {
			// Without --to-ports, REDIRECT keeps the destination port.
			return f.to == f.from
		}
		lo, hi, ok := portRange(ports, "-")
		return ok && lo <= f.to && f.to <= hi
	case "DNAT":
		for _, o := range r.targetOpts {
			if o.name == "--to-destination" && len(o.args) == 1 && f.destinationMatches(o.args[0], isLocal) {
				return true
			}
		}
	}
	return false
}

// protocolMatches is true when the rule applies to f's protocol only: a
// forward of a port needs -p (iptables refuses --dport without it).
func (f forward) protocolMatches(r rule) bool {
	for _, o := range r.basic {
		if o.name == "-p" && !o.neg && len(o.args) == 1 && o.args[0] == f.protocol {
			return true
		}
	}
	return false
}

// portMatches is true when every destination-port condition of the rule
// lets f.from through. A rule without one applies to every port.
func (f forward) portMatches(r rule) bool {
	for _, m := range r.matches {
		for _, o := range m.opts {
			var in, known bool
			switch {
			case isProtocolMatch(m.name) && o.name == "--dport" && len(o.args) == 1:
				lo, hi, ok := portRange(o.args[0], ":")
				in, known = ok && lo <= f.from && f.from <= hi, true
			case m.name == "multiport" && (o.name == "--dports" || o.name == "--ports") && len(o.args) == 1:
				in, known = portListContains(o.args[0], f.from), true
			}
			if known && in == o.neg {
				return false
			}
		}
	}
	return true
}

// destinationMatches reads one DNAT --to-destination value,
// [ADDR[-ADDR]][:PORT[-PORT]] (IPv6 addresses in brackets when a port
// follows), and says whether it sends f's packets to f's port and address.
func (f forward) destinationMatches(v string, isLocal func(net.IP) bool) bool {
	addrs, ports := v, ""
	switch {
	case strings.HasPrefix(v, "["):
		if i := strings.LastIndex(v, "]:"); i >= 0 {
			addrs, ports = v[:i+1], v[i+2:]
		}
		addrs = strings.NewReplacer("[", "", "]", "").Replace(addrs)
	case strings.Count(v, ":") == 1:
		addrs, ports, _ = strings.Cut(v, ":")
	}
	if ports == "" {
		// Without a port, DNAT keeps the destination port.
		if f.to != f.from {
			return false
		}
	} else {
		// A port shift (PORT-PORT/BASE) still starts from the range.
		ports, _, _ = strings.Cut(ports, "/")
		lo, hi, ok := portRange(ports, "-")
		if !ok || f.to < lo || f.to > hi {
			return false
		}
	}
	if addrs == "" {
		// Only the port changes: the packet stays addressed to this
		// machine when it was, as with REDIRECT.
		return f.toAddress == nil
	}
	first, last, ok := addressRange(addrs)
	if !ok {
		return false
	}
	if f.toAddress != nil {
		return bytes.Compare(first, f.toAddress) <= 0 && bytes.Compare(f.toAddress, last) <= 0
	}
	return first.Equal(last) && (first.IsLoopback() || isLocal(first))
}

// addressRange reads ADDR or ADDR-ADDR into two addresses of the same
// length, for byte-wise comparison.
func addressRange(s string) (first, last net.IP, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	first, last = normalIP(a), normalIP(b)
	if first == nil || last == nil || len(first) != len(last) {
		return nil, nil, false
	}
	return first, last, true
}

// normalIP parses an address, IPv4 as 4 bytes and IPv6 as 16.
func normalIP(s string) net.IP {
	ip := net.ParseIP(s)
	if ip4 := ip.To4(); ip4 != nil {
		return ip4
	}
	return ip
}

// portRange reads PORT or PORT<sep>PORT; an open end (80: or :90) reaches to
// 65535 or from 0, as in iptables.
func portRange(s, sep string) (lo, hi int, ok bool) {
	a, b, isRange := strings.Cut(s, sep)
	if !isRange {
		b = a
	}
	if a == "" {
		a = "0"
	}
	if b == "" {
		b = "65535"
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || lo < 0 || hi > 65535 {
		return 0, 0, false
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, true
}

// portListContains reads a multiport list (80,443,8000:8080) and says
// whether it holds port.
func portListContains(list string, port int) bool {
	for _, item := range strings.Split(list, ",") {
		if lo, hi, ok := portRange(item, ":"); ok && lo <= port && port <= hi {
			return true
		}
	}
	return false
}
