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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	goipt "github.com/coreos/go-iptables/iptables"
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
	checks.Register(checks.Kind{
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

// sbinDirs are searched for iptables when it is not in PATH: non-root
// users, and services started with a short PATH, often lack the sbin
// directories, and "not installed" would then be the wrong advice.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

type commandKey struct {
	path    string
	ipv6    bool
	timeout int
}

// commands caches one go-iptables handle per binary, family and lock
// timeout: creating one runs "iptables --version", which a suite of
// thousands of checks need not repeat.
var commands sync.Map // commandKey → *goipt.IPTables

// command returns a handle on iptables or ip6tables. The xtables lock is
// waited for at most until the context's deadline, so a program holding it
// cannot make a check outlive its timeout.
func command(ctx context.Context, ipv6 bool) (*goipt.IPTables, error) {
	name, proto := "iptables", goipt.ProtocolIPv4
	if ipv6 {
		name, proto = "ip6tables", goipt.ProtocolIPv6
	}
	path, err := exec.LookPath(name)
	if err != nil {
		path = ""
		for _, dir := range sbinDirs {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				path = p
				break
			}
		}
		if path == "" {
			return nil, fmt.Errorf("the %s command is not installed (nettest reads the rules through it): install the iptables package (Debian, Ubuntu: apt-get install iptables; Fedora, RHEL: dnf install iptables-nft)", name)
		}
	}
	wait := 10
	if d, ok := ctx.Deadline(); ok {
		wait = int(time.Until(d)/time.Second) + 1
	}
	key := commandKey{path, ipv6, wait}
	if h, ok := commands.Load(key); ok {
		return h.(*goipt.IPTables), nil
	}
	h, err := call(ctx, func() (*goipt.IPTables, error) {
		return goipt.New(goipt.IPFamily(proto), goipt.Path(path), goipt.Timeout(wait))
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("cannot run %s: %v; check that the iptables package is installed and working (%s --version)", path, err, name)
	}
	commands.Store(key, h)
	return h, nil
}

// call runs f, which cannot be cancelled (go-iptables takes no context),
// and returns at once when ctx is done; the iptables process then finishes
// on its own, within its lock timeout.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type outcome struct {
		v   T
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		v, err := f()
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		return o.v, o.err
	case <-ctx.Done():
		var zero T
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return zero, errors.New("iptables did not answer within the check's timeout; another program may be holding the xtables lock (/run/xtables.lock), or raise the timeout")
		}
		return zero, fmt.Errorf("interrupted while reading iptables: %w", ctx.Err())
	}
}

// message returns what iptables printed on its standard error, from a
// go-iptables error ("running [...]: exit status N: MESSAGE").
func message(err error) string {
	var e *goipt.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	s := e.Error()
	marker := fmt.Sprintf("exit status %d: ", e.ExitStatus())
	if i := strings.Index(s, marker); i >= 0 {
		s = s[i+len(marker):]
	}
	// Keep what iptables said, not its advice to read its help.
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Try `") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// privilegeError explains a refusal for lack of privileges, or returns nil.
func privilegeError(err error) error {
	msg := message(err)
	if strings.Contains(msg, "Permission denied") || strings.Contains(msg, "must be root") || strings.Contains(msg, "Operation not permitted") {
		return fmt.Errorf("reading iptables rules needs root: run nettest as root (sudo nettest test …) or with the capabilities CAP_NET_ADMIN and CAP_NET_RAW (iptables said: %s)", msg)
	}
	return nil
}

// listError explains why a chain could not be listed: no privileges, a
// chain or table that does not exist, or whatever iptables said.
func listError(ctx context.Context, ipt *goipt.IPTables, table, chain string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if perr := privilegeError(err); perr != nil {
		return perr
	}
	// iptables words a missing chain differently by version and backend
	// ("No chain/target/match by that name", "… is incompatible, use 'nft'
	// tool"): ask for the table's chains to say it plainly.
	chains, lerr := call(ctx, func() ([]string, error) { return ipt.ListChains(table) })
	if lerr == nil {
		for _, c := range chains {
			if c == chain {
				return fmt.Errorf("cannot list chain %s in table %s: %s", chain, table, message(err))
			}
		}
		return fmt.Errorf("chain %s does not exist in table %s (its chains: %s); check the chain's name, its case and the table", chain, table, strings.Join(chains, ", "))
	}
	if ctx.Err() != nil {
		return lerr
	}
	if strings.Contains(message(lerr), "Table does not exist") || strings.Contains(message(lerr), "can't initialize") {
		return fmt.Errorf("table %s is not available on this machine (iptables said: %s); its kernel module may need loading (modprobe iptable_%s)", table, message(lerr), table)
	}
	return fmt.Errorf("cannot list chain %s in table %s: %s", chain, table, message(err))
}

// checkError explains why iptables -C could not check the rule. The rule
// was not found in the listing either, so nettest cannot tell on its own.
func checkError(ctx context.Context, cfg Config, p plan, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if perr := privilegeError(err); perr != nil {
		return perr
	}
	return fmt.Errorf("iptables cannot check the rule %q in %s/%s: %s; it is not in the chain's listing either. Write the rule exactly as after `iptables -t %s -A %s` (iptables -C needs a rule the kernel would accept: its matches and target must exist and fit the table)", *cfg.Rule, p.table, cfg.Chain, message(err), p.table, cfg.Chain)
}
