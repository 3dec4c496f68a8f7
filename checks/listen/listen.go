// Package listen is the listen check: is something listening on a port of
// this host, on which addresses, and which process, run by which user?
//
// It asks the kernel, not ss(8): the sockets come from netlink sock_diag in
// the network namespace the check runs in (see diag.go), their owners from
// /proc (see owners.go). It only reads; it opens no connection, so a port
// behind a local firewall still counts as listening, which is the point: the
// check asserts the local side of a forward or a firewall rule, and the tcp
// check asserts what the network lets through.
package listen

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// The protocols a listen check looks at.
const (
	TCP = "tcp"
	UDP = "udp"
)

// Config is what a listen block says.
type Config struct {
	Port     int     `cty:"port"`
	Protocol string  `cty:"protocol,optional"`
	Address  *string `cty:"address"`
}

// Defaults are the values of the arguments a block leaves out.
var Defaults = Config{
	Protocol: TCP,
}

// Result is what a listen check observed; every field is usable as
// listen.NAME.FIELD elsewhere and as self.FIELD in assert blocks.
type Result struct {
	Port     int    `cty:"port"`
	Protocol string `cty:"protocol"`
	// Listening is whether a socket listens on the port (and, with
	// address, accepts connections to that address).
	Listening bool `cty:"listening"`
	// Addresses are every address:port the port is bound on, whatever
	// address asks ("0.0.0.0:80", "[::]:80", "127.0.0.1:80"), sorted.
	Addresses []string `cty:"addresses"`
	// Process, PID and User describe the first owner (the lowest pid) of
	// the listening sockets; Processes lists every one.
	Process   string    `cty:"process"`
	PID       *int      `cty:"pid"`
	User      string    `cty:"user"`
	Processes []Process `cty:"processes"`
	// Error says why owners may be missing although a socket listens.
	Error string `cty:"error"`
}

func init() {
	checks.RegisterFunc("listen", func() checks.Kind {
		return checks.Kind{
			Name:    "listen",
			Summary: "Reports whether a local TCP or UDP port is listening, on which addresses, and which process and user hold it.",
			Docs: map[string]checks.ArgDoc{
				"port":     {Doc: "The local port, 1 to 65535.", Validate: checks.ValidPort},
				"protocol": {Doc: `"tcp" (a socket in LISTEN) or "udp" (a bound, unconnected socket).`, Validate: checks.OneOf(TCP, UDP)},
				"address":  {Doc: "A local IP address the port must accept connections on; a socket bound to the wildcard (0.0.0.0, ::) covers it. Unset, any address counts.", Validate: validAddress},
			},
			Expect: []checks.Expectation{
				listeningExpectation(),
				anyOwner("process", "A process of this name (its command name, as ps shows it) must hold the listening socket.", func(p Process) string { return p.Name }),
				anyOwner("user", "A process run by this user (name, or number without a passwd entry) must hold the listening socket.", func(p Process) string { return p.User }),
				checks.SetEqual("addresses", `The port must be bound on exactly these addresses, in any order ("0.0.0.0:80", "[::]:80").`),
			},
			Probe: checks.Typed(Defaults, Probe),
		}
	})
}

func validAddress(v cty.Value) error {
	a, err := netip.ParseAddr(v.AsString())
	if err != nil {
		return fmt.Errorf("must be an IP address such as \"127.0.0.1\" or \"::\", got %q", v.AsString())
	}
	if a.Zone() != "" {
		return fmt.Errorf("%q has a zone; give the address without it", v.AsString())
	}
	return nil
}

// listeningExpectation is Equal on listening, with the bound addresses in
// the diff when the port listens elsewhere than address asks: "false (bound
// on 127.0.0.1:8080)" says at once that the service listens on loopback only.
func listeningExpectation() checks.Expectation {
	return checks.Expect("listening", "Whether something must listen on the port (true) or nothing may (false).", func(want bool, got Result) *checks.Diff {
		if got.Listening == want {
			return nil
		}
		d := &checks.Diff{Expected: checks.Literal(want), Actual: checks.Literal(got.Listening)}
		if !got.Listening && len(got.Addresses) > 0 {
			d.Actual += " (bound on " + strings.Join(got.Addresses, ", ") + ")"
		}
		return d
	})
}

// anyOwner is met when one of the processes holding the socket has the
// expected value of attr: nginx's master runs as root and its workers as
// www-data, and `user = "www-data"` means the workers.
func anyOwner(name, doc string, attr func(Process) string) checks.Expectation {
	return checks.Expect(name, doc, func(want string, got Result) *checks.Diff {
		var seen []string
		for _, p := range got.Processes {
			v := attr(p)
			if v == want {
				return nil
			}
			if !slices.Contains(seen, v) {
				seen = append(seen, v)
			}
		}
		d := &checks.Diff{Expected: checks.Literal(want)}
		switch {
		case len(seen) == 1:
			d.Actual = fmt.Sprintf("%q", seen[0])
		case len(seen) > 1:
			d.Actual = checks.Literal(seen)
		default:
			d.Actual = "null"
			if got.Error != "" {
				d.Actual += " (" + got.Error + ")"
			} else if !got.Listening {
				d.Actual += " (nothing listens)"
			}
		}
		return d
	})
}

// Probe lists the listening sockets of cfg.Port in the calling thread's
// network namespace and finds the processes that hold them. Only a kernel
// that refuses to list its sockets is an error; a port nobody listens on is
// an observation.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Protocol == "" {
		cfg.Protocol = TCP
	}
	r := Result{Port: cfg.Port, Protocol: cfg.Protocol, Addresses: []string{}, Processes: []Process{}}
	if cfg.Protocol != TCP && cfg.Protocol != UDP {
		return r, fmt.Errorf("protocol %q is not \"tcp\" or \"udp\"", cfg.Protocol)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return r, fmt.Errorf("port %d is not between 1 and 65535", cfg.Port)
	}
	var want netip.Addr
	if cfg.Address != nil {
		a, err := netip.ParseAddr(*cfg.Address)
		if err != nil {
			return r, fmt.Errorf("address %q is not an IP address", *cfg.Address)
		}
		want = a.Unmap()
	}
	socks, err := listeningSockets(cfg.Protocol, uint16(cfg.Port))
	if err != nil {
		if errors.Is(err, errPermission) {
			return r, fmt.Errorf("%v; this system forbids listing sockets to this user (a seccomp or security policy): run nettest as root", err)
		}
		return r, err
	}
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("interrupted while listing sockets: %w", err)
	}

	inodes := map[uint32]bool{}
	for _, s := range socks {
		addr := show(s)
		if !slices.Contains(r.Addresses, addr) {
			r.Addresses = append(r.Addresses, addr)
		}
		if !want.IsValid() || covers(s, want) {
			r.Listening = true
			inodes[s.inode] = true
		}
	}
	slices.Sort(r.Addresses)
	if !r.Listening {
		return r, nil
	}

	scan := findOwners(inodes)
	r.Processes = append(r.Processes, scan.owners...)
	if len(scan.owners) > 0 {
		first := scan.owners[0]
		r.Process, r.PID, r.User = first.Name, &first.PID, first.User
	} else if scan.hidden > 0 {
		r.Error = fmt.Sprintf("the socket's owner is not visible: the open files of %d processes of other users cannot be read by this user; run nettest as root (or with CAP_SYS_PTRACE) to see them", scan.hidden)
	} else {
		r.Error = "no process visible here holds the socket: it belongs to a process of another PID namespace (a container's, or the host's when nettest runs in one), to the kernel itself (an NFS server), or it is being closed"
	}
	return r, nil
}

// covers tells whether a socket accepts connections to address a: bound to
// it, or to the wildcard of its family, or to the IPv6 wildcard of a socket
// that also takes IPv4 (not IPV6_V6ONLY). A wanted wildcard ("0.0.0.0",
// "::") is covered only by a wildcard: "listening on every address".
func covers(s socket, a netip.Addr) bool {
	bound := s.addr.Addr().Unmap()
	switch {
	case bound == a:
		return true
	case bound == netip.IPv4Unspecified():
		return a.Is4()
	case bound == netip.IPv6Unspecified():
		return a.Is6() || !s.v6only
	}
	return false
}

// show writes a socket's local address as "198.18.0.2:80" or "[::]:80";
// an IPv4-mapped address is written as IPv4.
func show(s socket) string {
	a := s.addr.Addr()
	if a.Is4In6() {
		a = a.Unmap()
	}
	return netip.AddrPortFrom(a, s.addr.Port()).String()
}
