package iptables_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nettest/nettest/checks/iptables"
	"github.com/nettest/nettest/checks/tcp"
	"github.com/nettest/nettest/internal/lab"
)

// backend is a pair of iptables commands: the ones in PATH, or the legacy
// (x_tables) ones, whose listings and messages differ from nf_tables'.
type backend struct{ name, v4, v6 string }

var defaultBackend = backend{"default", "iptables", "ip6tables"}

// backends returns the backends this machine has: the default one always,
// the legacy one when installed.
func backends(t *testing.T) []backend {
	out := []backend{defaultBackend}
	if _, err := exec.LookPath("iptables-legacy"); err == nil {
		out = append(out, backend{"legacy", "iptables-legacy", "ip6tables-legacy"})
	}
	return out
}

// inNamespace makes the iptables and ip6tables commands the probe runs
// execute inside h's namespace (through wrapper scripts put first in PATH),
// so the probe, running in the test process, reads the rules of h. prefix
// runs before the real command, such as setpriv to drop privileges.
func inNamespace(t *testing.T, h *lab.Host, b backend, prefix ...string) {
	t.Helper()
	dir := t.TempDir()
	for name, bin := range map[string]string{"iptables": b.v4, "ip6tables": b.v6} {
		real := lab.RequireBinary(t, bin, "iptables")
		script := "#!/bin/sh\nexec ip netns exec " + h.Name() + " " + strings.Join(prefix, " ") + " " + real + ` "$@"` + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func probe(t *testing.T, cfg iptables.Config) (iptables.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return iptables.Probe(ctx, cfg)
}

// server builds the port-forward lab: a client and a server joined by a
// veth pair, nginx on the server's port 8080, and on the server a REDIRECT
// of port 80 to 8080 plus a few filter rules.
func server(t *testing.T) (client, server *lab.Host) {
	return serverWith(t, defaultBackend)
}

// serverWith builds the lab of server with the rules added by backend b.
func serverWith(t *testing.T, b backend) (client, server *lab.Host) {
	l := lab.New(t)
	client, server = l.Host("client"), l.Host("server")
	l.Link(client, "198.18.0.1/24", server, "198.18.0.2/24")
	server.StartNginx(t, `listen 8080; location / { return 200 "forwarded\n"; }`)
	v4 := func(args ...string) { server.Run(t, append([]string{b.v4, "-w", "5"}, args...)...) }
	v6 := func(args ...string) { server.Run(t, append([]string{b.v6, "-w", "5"}, args...)...) }
	v4("-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "80", "-j", "REDIRECT", "--to-ports", "8080")
	v4("-t", "nat", "-A", "PREROUTING", "-i", "lo", "-p", "udp", "-m", "multiport", "--dports", "5300:5399", "-j", "DNAT", "--to-destination", "127.0.0.1:53")
	v4("-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT")
	v4("-A", "INPUT", "-p", "tcp", "--dport", "23", "-j", "DROP")
	v4("-A", "INPUT", "-m", "comment", "--comment", "no telnet, ever", "-p", "tcp", "--dport", "2323", "-j", "REJECT", "--reject-with", "tcp-reset")
	v4("-P", "FORWARD", "DROP")
	v4("-N", "WEB")
	v4("-A", "WEB", "-j", "RETURN")
	v6("-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT")
	v6("-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", "[::1]:8080")
	return client, server
}

// TestProbe reads the rules of the lab's server: each spelling of the
// forward, rules that are there and rules that are not, policies, and the
// errors a user sees for a chain or rule that cannot be read.
func TestProbe(t *testing.T) {
	lab.RequireRoot(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testProbe(t, b) })
	}
}

func testProbe(t *testing.T, b backend) {
	_, srv := serverWith(t, b)
	inNamespace(t, srv, b)
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	nat := s("nat")
	natRules := []string{
		"-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080",
		"-i lo -p udp -m multiport --dports 5300:5399 -j DNAT --to-destination 127.0.0.1:53",
	}
	tests := []struct {
		name    string
		cfg     iptables.Config
		present bool
		matched string
		policy  string
		rules   []string
		err     string
	}{
		{name: "rule as in the issue", cfg: iptables.Config{Table: nat, Chain: "PREROUTING", Rule: s("-p tcp --dport 80 -j REDIRECT --to-ports 8080")},
			present: true, matched: natRules[0], policy: "ACCEPT", rules: natRules},
		{name: "rule as listed", cfg: iptables.Config{Table: nat, Chain: "PREROUTING", Rule: s("-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080")},
			present: true, matched: natRules[0], policy: "ACCEPT"},
		{name: "rule with long options", cfg: iptables.Config{Table: nat, Chain: "PREROUTING", Rule: s("--protocol tcp --destination-port 80 --jump REDIRECT --to-port 8080")},
			present: true, matched: natRules[0]},
		{name: "rule with a service name", cfg: iptables.Config{Table: nat, Chain: "PREROUTING", Rule: s("-p tcp --dport http -j REDIRECT --to-ports 8080")},
			present: true, matched: natRules[0]},
		{name: "rule with another target port", cfg: iptables.Config{Table: nat, Chain: "PREROUTING", Rule: s("-p tcp --dport 80 -j REDIRECT --to-ports 9090")},
			present: false, policy: "ACCEPT", rules: natRules},
		{name: "forward", cfg: iptables.Config{Chain: "PREROUTING", Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080)},
			present: true, matched: natRules[0], policy: "ACCEPT", rules: natRules},
		{name: "forward written as a dnat", cfg: iptables.Config{Chain: "PREROUTING", Protocol: s("udp"), FromPort: n(5353), ToPort: n(53)},
			present: true, matched: natRules[1]},
		{name: "forward to the named address", cfg: iptables.Config{Chain: "PREROUTING", Protocol: s("udp"), FromPort: n(5353), ToPort: n(53), ToAddress: s("127.0.0.1")},
			present: true, matched: natRules[1]},
		{name: "forward of another port", cfg: iptables.Config{Chain: "PREROUTING", Protocol: s("tcp"), FromPort: n(443), ToPort: n(8080)}, present: false},
		{name: "forward of another protocol", cfg: iptables.Config{Chain: "PREROUTING", Protocol: s("udp"), FromPort: n(80), ToPort: n(8080)}, present: false},
		{name: "forward in OUTPUT", cfg: iptables.Config{Chain: "OUTPUT", Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080)}, present: false, policy: "ACCEPT", rules: []string{}},
		{name: "reject", cfg: iptables.Config{Chain: "INPUT", Rule: s("-p tcp --dport 22 -j REJECT")},
			present: true, matched: "-p tcp -m tcp --dport 22 -j REJECT --reject-with icmp-port-unreachable"},
		{name: "drop", cfg: iptables.Config{Chain: "INPUT", Rule: s("-p tcp --dport 23 -j DROP")},
			present: true, matched: "-p tcp -m tcp --dport 23 -j DROP"},
		{name: "drop that is a reject", cfg: iptables.Config{Chain: "INPUT", Rule: s("-p tcp --dport 22 -j DROP")}, present: false},
		{name: "matches in another order", cfg: iptables.Config{Chain: "INPUT", Rule: s(`-p tcp --dport 2323 -m comment --comment "no telnet, ever" -j REJECT --reject-with tcp-reset`)},
			present: true, matched: `-p tcp -m comment --comment "no telnet, ever" -m tcp --dport 2323 -j REJECT --reject-with tcp-reset`},
		{name: "policy", cfg: iptables.Config{Chain: "FORWARD"}, present: true, policy: "DROP", rules: []string{}},
		{name: "user chain", cfg: iptables.Config{Chain: "WEB"}, present: true, policy: "", rules: []string{"-j RETURN"}},
		{name: "ipv6 reject", cfg: iptables.Config{Chain: "INPUT", IPv6: true, Rule: s("-p tcp --dport 22 -j REJECT")},
			present: true, matched: "-p tcp -m tcp --dport 22 -j REJECT --reject-with icmp6-port-unreachable", policy: "ACCEPT",
			rules: []string{"-p tcp -m tcp --dport 22 -j REJECT --reject-with icmp6-port-unreachable"}},
		{name: "ipv6 forward", cfg: iptables.Config{Chain: "PREROUTING", IPv6: true, Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080)},
			present: true, matched: "-p tcp -m tcp --dport 80 -j DNAT --to-destination [::1]:8080"},
		{name: "ipv6 forward to the named address", cfg: iptables.Config{Chain: "PREROUTING", IPv6: true, Protocol: s("tcp"), FromPort: n(80), ToPort: n(8080), ToAddress: s("::1")},
			present: true, matched: "-p tcp -m tcp --dport 80 -j DNAT --to-destination [::1]:8080"},
		{name: "ipv6 rule absent", cfg: iptables.Config{Chain: "INPUT", IPv6: true, Rule: s("-p tcp --dport 23 -j DROP")}, present: false},
		{name: "missing chain", cfg: iptables.Config{Table: nat, Chain: "NOPE", Rule: s("-j ACCEPT")},
			err: "chain NOPE does not exist in table nat (its chains: PREROUTING, INPUT, OUTPUT, POSTROUTING); check the chain's name, its case and the table"},
		{name: "chain in the wrong case", cfg: iptables.Config{Chain: "input"}, err: "chain input does not exist in table filter"},
		{name: "rule iptables cannot check", cfg: iptables.Config{Chain: "INPUT", Rule: s("-p tcp --dport 1 --bogus 1 -j ACCEPT")},
			err: `iptables cannot check the rule "-p tcp --dport 1 --bogus 1 -j ACCEPT" in filter/INPUT: `},
		{name: "what iptables said", cfg: iptables.Config{Chain: "INPUT", Rule: s("-p tcp --dport 1 --bogus 1 -j ACCEPT")},
			err: `unknown option "--bogus"; it is not in the chain's listing either. Write the rule exactly as after ` + "`iptables -t filter -A INPUT`"},
		{name: "both forms", cfg: iptables.Config{Chain: "PREROUTING", Rule: s("-j ACCEPT"), FromPort: n(80)}, err: "give either rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := probe(t, tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Present != tt.present || r.Matched != tt.matched {
				t.Errorf("present = %v, matched = %q; want %v, %q\nrules: %q", r.Present, r.Matched, tt.present, tt.matched, r.Rules)
			}
			if tt.policy != "" && r.Policy != tt.policy || tt.rules != nil && r.Policy != tt.policy {
				t.Errorf("policy = %q, want %q", r.Policy, tt.policy)
			}
			if tt.rules != nil && !reflect.DeepEqual(r.Rules, tt.rules) {
				t.Errorf("rules = %q, want %q", r.Rules, tt.rules)
			}
		})
	}
}

// TestForwardCarriesTraffic proves the forward the probe found is real: a
// TCP connection from the client to the server's port 80 reaches nginx on
// 8080, and the matched rule's counters then show the packet.
func TestForwardCarriesTraffic(t *testing.T) {
	cl, srv := server(t)
	inNamespace(t, srv, defaultBackend)
	dial := func(port int, timeout time.Duration) tcp.Result {
		r, err := lab.Probe(cl, timeout, tcp.Probe, tcp.Config{Host: "198.18.0.2", Port: port})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct {
		port  int
		state string
	}{{80, tcp.Open}, {8080, tcp.Open}, {81, tcp.Closed}, {22, tcp.Closed}, {23, tcp.Filtered}} {
		if r := dial(c.port, 500*time.Millisecond); r.State != c.state {
			t.Errorf("port %d from the client: %s (%s), want %s", c.port, r.State, r.Error, c.state)
		}
	}
	proto, from, to := "tcp", 80, 8080
	r, err := probe(t, iptables.Config{Chain: "PREROUTING", Protocol: &proto, FromPort: &from, ToPort: &to})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Present || r.Packets < 1 || r.Bytes < 40 {
		t.Errorf("after a connection through the forward: present = %v, packets = %d, bytes = %d; want true, ≥ 1, ≥ 40", r.Present, r.Packets, r.Bytes)
	}
}

// TestNoPrivileges runs iptables as user nobody: the error says what is
// needed instead of reporting rules as absent.
func TestNoPrivileges(t *testing.T) {
	_, srv := server(t)
	setpriv := lab.RequireBinary(t, "setpriv", "util-linux")
	inNamespace(t, srv, defaultBackend, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
	for _, ipv6 := range []bool{false, true} {
		_, err := probe(t, iptables.Config{Chain: "INPUT", IPv6: ipv6})
		want := "reading iptables rules needs root: run nettest as root (sudo nettest test …) or with the capabilities CAP_NET_ADMIN and CAP_NET_RAW (iptables said: "
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ipv6 = %v: error = %v, want one starting %q", ipv6, err, want)
		}
		t.Logf("ipv6 = %v: %v", ipv6, err)
	}
}

// TestTimeout holds the xtables lock that iptables-legacy takes (a private
// lock file, named by XTABLES_LOCKFILE, so no other iptables on the machine
// waits): the probe gives up at its deadline with an error that names the
// lock, instead of waiting.
func TestTimeout(t *testing.T) {
	lab.RequireRoot(t)
	legacy := lab.RequireBinary(t, "iptables-legacy", "iptables")
	h := lab.New(t).Host("locked")
	dir := t.TempDir()
	lockFile := filepath.Join(dir, "xtables.lock")
	f, err := os.Create(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nXTABLES_LOCKFILE=" + lockFile + " exec ip netns exec " + h.Name() + " " + legacy + ` "$@"` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "iptables"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = iptables.Probe(ctx, iptables.Config{Chain: "INPUT"})
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the probe took %s with a 1.5 s timeout", took)
	}
	want := "iptables did not answer within the check's timeout; another program may be holding the xtables lock (/run/xtables.lock), or raise the timeout"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
