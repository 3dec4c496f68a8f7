package iptables

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	goipt "github.com/coreos/go-iptables/iptables"
)

// The iptables command: finding it, one handle per binary and family, and
// calls bounded by the check's context.

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
