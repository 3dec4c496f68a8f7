// Package iptables is the iptables check: is a rule installed in a chain,
// what is a chain's policy, and is a port forwarded where it should be?
//
// It reads the rules through the iptables (or ip6tables) command, with
// github.com/coreos/go-iptables, and never changes any: it lists a chain
// (iptables -v -S CHAIN) and, for a rule that does not appear in the listing
// as written, asks iptables -C, which compares rules the way the kernel
// holds them. A check has one of three forms:
//
//   - rule: a rule specification as written after "iptables -A CHAIN"; it is
//     present when the chain holds that rule, however iptables lists it.
//   - protocol, from_port, to_port: a port forward. It is present when a
//     rule of the chain sends packets for from_port on to to_port, whether
//     written as REDIRECT --to-ports or DNAT --to-destination, with a single
//     port, a range or a multiport list.
//   - neither: the chain itself, for its policy and its list of rules.
package iptables

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// Tables are the iptables tables a check may read.
var Tables = []string{"filter", "nat", "mangle", "raw", "security"}

// Protocols are the protocols the port-forward form understands: those
// whose packets REDIRECT and DNAT can send to another port.
var Protocols = []string{"tcp", "udp", "sctp"}

// Config is what an iptables block says. Pointer fields are optional
// arguments, nil when the block leaves them out.
type Config struct {
	// Table is nil when not given: "nat" for the port-forward form,
	// "filter" otherwise.
	Table     *string `cty:"table"`
	Chain     string  `cty:"chain"`
	IPv6      bool    `cty:"ipv6,optional"`
	Rule      *string `cty:"rule"`
	Protocol  *string `cty:"protocol"`
	FromPort  *int    `cty:"from_port"`
	ToPort    *int    `cty:"to_port"`
	ToAddress *string `cty:"to_address"`
}

// Result is what an iptables check observed; every field is usable as
// iptables.NAME.FIELD elsewhere and as self.FIELD in assert blocks.
type Result struct {
	Table string `cty:"table"`
	Chain string `cty:"chain"`
	// Present says whether the rule or forward was found; for a check of
	// the chain itself it is true (a missing chain is an error).
	Present bool `cty:"present"`
	// Policy is the chain's policy (ACCEPT or DROP), "" for a user-defined
	// chain, which has none.
	Policy string `cty:"policy"`
	// Rules are the chain's rules in order, as iptables -S lists them
	// without "-A CHAIN" and without counters.
	Rules []string `cty:"rules"`
	// Matched is the listed rule that was found, "" when none was.
	Matched string `cty:"matched"`
	// Packets and Bytes are the matched rule's counters (0 when none).
	Packets int64 `cty:"packets"`
	Bytes   int64 `cty:"bytes"`
}

func init() {
	checks.RegisterFunc("iptables", func() checks.Kind {
		return checks.Kind{
			Name:     "iptables",
			Summary:  "Reads an iptables chain: whether a rule or a port forward is installed, and the chain's policy. Never changes a rule.",
			Validate: Validate,
			Docs: map[string]checks.ArgDoc{
				"table":      {Doc: `Table to read: "filter", "nat", "mangle", "raw" or "security". Default "nat" for the port-forward form, "filter" otherwise.`, Validate: checks.OneOf(Tables...)},
				"chain":      {Doc: `Chain to read, such as "INPUT", "PREROUTING" or a user-defined chain.`, Validate: validChain},
				"ipv6":       {Doc: "Read the IPv6 rules (ip6tables) instead of the IPv4 ones."},
				"rule":       {Doc: `A rule as written after "iptables -A CHAIN", such as "-p tcp --dport 22 -j ACCEPT".`, Validate: validRule},
				"protocol":   {Doc: `Port-forward form: the protocol of the forwarded port, "tcp", "udp" or "sctp".`, Validate: checks.OneOf(Protocols...)},
				"from_port":  {Doc: "Port-forward form: the destination port packets arrive for.", Validate: checks.ValidPort},
				"to_port":    {Doc: "Port-forward form: the port they must be sent on to.", Validate: checks.ValidPort},
				"to_address": {Doc: "Port-forward form: the address they must be sent on to (a DNAT); without it, any address of this machine.", Validate: validAddress},
			},
			Expect: []checks.Expectation{
				presentExpectation(),
				checks.Equal("policy", cty.String, `The chain's policy: "ACCEPT" or "DROP" (built-in chains only).`).Validated(checks.OneOf("ACCEPT", "DROP")),
			},
			Probe: checks.Typed(Config{}, Probe),
		}
	})
}

// presentExpectation is met when present is as expected. Its diff says
// what was there instead, since "false" alone leaves the reader to log in
// and list the chain: the chain's first rules when the rule is missing, the
// matched rule when it should not be there.
func presentExpectation() checks.Expectation {
	return checks.Expect("present", "Whether the rule or port forward must be installed (true) or must not be (false).", func(want bool, got Result) *checks.Diff {
		if got.Present == want {
			return nil
		}
		d := &checks.Diff{Expected: checks.Literal(want)}
		switch {
		case got.Present:
			d.Actual = "true (matched " + checks.Literal(got.Matched) + ")"
		case len(got.Rules) == 0:
			d.Actual = "false (the chain holds no rules)"
		case len(got.Rules) <= shownRules:
			d.Actual = "false (the chain holds " + checks.Literal(got.Rules) + ")"
		default:
			d.Actual = fmt.Sprintf("false (the chain holds %s and %d more)", checks.Literal(got.Rules[:shownRules]), len(got.Rules)-shownRules)
		}
		return d
	})
}

// shownRules is how many of the chain's rules a diff shows.
const shownRules = 3

// validChain accepts names iptables can hold: up to 28 characters, no
// blanks, not starting like an option.
func validChain(v cty.Value) error {
	s := v.AsString()
	switch {
	case s == "":
		return errors.New("the chain name is empty")
	case len(s) > 28:
		return fmt.Errorf("chain %q is longer than the 28 characters iptables allows", s)
	case strings.ContainsAny(s, " \t\n'\""):
		return fmt.Errorf("chain %q contains a blank or a quote; give only the chain's name", s)
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "!"):
		return fmt.Errorf("chain %q starts like an option; give only the chain's name", s)
	}
	return nil
}

// validRule accepts a rule nettest can take apart: balanced quotes, options
// with their values, no -A/-t of its own.
func validRule(v cty.Value) error {
	_, _, err := parseUserRule(v.AsString(), false)
	return err
}

func validAddress(v cty.Value) error {
	if net.ParseIP(v.AsString()) == nil {
		return fmt.Errorf("%q is not an IP address", v.AsString())
	}
	return nil
}

// parseUserRule splits and takes apart the rule argument. It returns the
// words to hand to iptables -C and the parsed rule.
func parseUserRule(s string, ipv6 bool) ([]string, rule, error) {
	ts, err := split(s)
	if err != nil {
		return nil, rule{}, err
	}
	if len(ts) == 0 {
		return nil, rule{}, errors.New(`the rule is empty; write it as after "iptables -A CHAIN", such as "-p tcp --dport 22 -j ACCEPT"`)
	}
	r, err := parseRule(ts, ipv6)
	if err != nil {
		return nil, rule{}, err
	}
	return words(ts), r, nil
}

// Validate checks what no single argument can: that a block uses exactly
// one form, that the port-forward form has all its parts and reads the nat
// table, and that to_address is of the right family. It takes the
// arguments object a probe receives; values not known yet are not checked.
// Probe calls it too, so a bad combination is an error even where the
// loader does not call it.
var Validate = checks.ValidateConfig(func(cfg Config) error {
	_, err := planFor(cfg)
	return err
})

// plan is a validated Config: the table to read and what to look for.
type plan struct {
	table string
	// ruleWords and rule are set for the rule form.
	ruleWords []string
	rule      *rule
	// forward is set for the port-forward form.
	forward *forward
}

func planFor(cfg Config) (plan, error) {
	p := plan{table: "filter"}
	isForward := cfg.Protocol != nil || cfg.FromPort != nil || cfg.ToPort != nil || cfg.ToAddress != nil
	if cfg.Rule != nil && isForward {
		return p, errors.New("give either rule, or protocol, from_port and to_port (a port forward), not both")
	}
	if cfg.Table != nil {
		p.table = *cfg.Table
	}
	switch {
	case cfg.Rule != nil:
		w, r, err := parseUserRule(*cfg.Rule, cfg.IPv6)
		if err != nil {
			return p, fmt.Errorf("rule %q: %v", *cfg.Rule, err)
		}
		p.ruleWords, p.rule = w, &r
	case isForward:
		var missing []string
		if cfg.Protocol == nil {
			missing = append(missing, "protocol")
		}
		if cfg.FromPort == nil {
			missing = append(missing, "from_port")
		}
		if cfg.ToPort == nil {
			missing = append(missing, "to_port")
		}
		if len(missing) > 0 {
			return p, fmt.Errorf("a port forward needs protocol, from_port and to_port; %s missing", strings.Join(missing, " and "))
		}
		if cfg.Table == nil {
			p.table = "nat"
		} else if p.table != "nat" {
			return p, fmt.Errorf("a port forward is read from the nat table (REDIRECT and DNAT live there), not %q; leave table out or set it to \"nat\"", p.table)
		}
		switch cfg.Chain {
		case "INPUT", "POSTROUTING", "FORWARD":
			return p, fmt.Errorf("a port forward lives in PREROUTING (arriving packets), OUTPUT (local ones) or a chain they jump to, not %s", cfg.Chain)
		}
		f := &forward{protocol: *cfg.Protocol, from: *cfg.FromPort, to: *cfg.ToPort}
		if cfg.ToAddress != nil {
			f.toAddress = normalIP(*cfg.ToAddress)
			if f.toAddress == nil {
				return p, fmt.Errorf("to_address %q is not an IP address", *cfg.ToAddress)
			}
			if v4 := len(f.toAddress) == net.IPv4len; v4 == cfg.IPv6 {
				return p, fmt.Errorf("to_address %s is not an %s address; set ipv6 = %t to read the %s rules", *cfg.ToAddress, family(cfg.IPv6), !cfg.IPv6, family(!cfg.IPv6))
			}
		}
		p.forward = f
	}
	return p, nil
}

func family(ipv6 bool) string {
	if ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

// Probe lists the chain and looks for the rule or forward in it.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	p, err := planFor(cfg)
	if err != nil {
		return Result{}, err
	}
	r := Result{Table: p.table, Chain: cfg.Chain, Rules: []string{}}
	ipt, err := command(ctx, cfg.IPv6)
	if err != nil {
		return r, err
	}
	lines, err := call(ctx, func() ([]string, error) { return ipt.ListWithCounters(p.table, cfg.Chain) })
	if err != nil {
		return r, listError(ctx, ipt, p.table, cfg.Chain, err)
	}
	listing := parseListing(cfg.Chain, lines, cfg.IPv6)
	r.Policy = listing.policy
	for _, lr := range listing.rules {
		r.Rules = append(r.Rules, lr.text)
	}

	found := -1
	switch {
	case p.rule != nil:
		key := p.rule.key()
		for i, lr := range listing.rules {
			if lr.err == nil && lr.parsed.key() == key {
				found = i
				break
			}
		}
		if found >= 0 {
			break
		}
		// Not in the listing as nettest spells rules: iptables -C is the
		// authority (it compares the rule as the kernel holds it).
		exists, err := call(ctx, func() (bool, error) { return ipt.Exists(p.table, cfg.Chain, p.ruleWords...) })
		if err != nil {
			return r, checkError(ctx, cfg, p, err)
		}
		if exists {
			// A listing nettest could not take apart may leave no
			// candidate: the rule is present all the same.
			r.Present = true
			found = closest(listing.rules, *p.rule)
		}
	case p.forward != nil:
		isLocal := localAddresses()
		for i, lr := range listing.rules {
			if lr.err == nil && p.forward.matches(lr.parsed, isLocal) {
				found = i
				break
			}
		}
	default:
		r.Present = true
	}
	if found >= 0 {
		m := listing.rules[found]
		r.Present, r.Matched = true, m.text
		r.Packets, r.Bytes = m.parsed.packets, m.parsed.bytes
	}
	return r, nil
}

// closest returns the index of the listed rule most like want: the one
// iptables -C found, when nettest's own comparison could not tell. -1 when
// no listed rule could be taken apart.
func closest(rules []listedRule, want rule) int {
	best, score := -1, -1.0
	for i, lr := range rules {
		if lr.err != nil {
			continue
		}
		if s := similarity(lr.parsed, want); s > score {
			best, score = i, s
		}
	}
	return best
}

// localAddresses returns a function telling whether an address belongs to
// this machine (this network namespace); the interfaces are read once, on
// first use, since most rules never need it.
func localAddresses() func(net.IP) bool {
	var once sync.Once
	var addrs []net.IP
	return func(ip net.IP) bool {
		once.Do(func() {
			as, _ := net.InterfaceAddrs()
			for _, a := range as {
				if n, ok := a.(*net.IPNet); ok {
					addrs = append(addrs, n.IP)
				}
			}
		})
		for _, a := range addrs {
			if a.Equal(ip) {
				return true
			}
		}
		return false
	}
}
