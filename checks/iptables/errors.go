package iptables

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goipt "github.com/coreos/go-iptables/iptables"
)

// Errors of the iptables command turned into messages that say what to do.

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
