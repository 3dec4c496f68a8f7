// Package lab builds throwaway network labs out of Linux network namespaces
// for nettest's own tests: hosts joined by veth pairs, with addresses from
// 198.18.0.0/15 (the benchmarking range, never routed on the internet) and
// no default route, so nothing a test sends can leave the machine.
//
// Everything a lab creates is removed in t.Cleanup, in reverse order of
// creation, also when the test fails or panics: started processes are killed
// by PID (and waited for), namespaces are deleted (which deletes their veths
// and their iptables rules), /etc/netns/<ns>/ is removed. Namespaces left by
// a test binary that was killed before its cleanup ran are removed by the
// next New, once the PID encoded in their name no longer runs.
//
// Typical use:
//
//	lab.RequireRoot(t)
//	l := lab.New(t)
//	client, server := l.Host("client"), l.Host("server")
//	l.Link(client, "198.18.0.1/24", server, "198.18.0.2/24")
//	server.StartNginx(t, `listen 198.18.0.2:80; location / { return 200 "ok\n"; }`)
//	results, summary, code, out := client.Nettest(t, lab.SuiteDir(t, map[string]string{"web.nettest.hcl": src}))
//
// API (the contract other packages code against):
//
//	func RequireRoot(t testing.TB)
//	func RequireBinary(t testing.TB, name, debianPackage string) string
//	func ValidateJUnit(t testing.TB, path string)
//	func New(t testing.TB) *Lab
//	func (l *Lab) Host(name string) *Host
//	func (l *Lab) Link(a *Host, aCIDR string, b *Host, bCIDR string) (aIf, bIf string)
//	func (h *Host) Name() string
//	func (h *Host) Run(t testing.TB, args ...string) string
//	func (h *Host) Start(t testing.TB, args ...string) *exec.Cmd
//	func (h *Host) Exec(args ...string) (stdout, stderr string, exitCode int)
//	func (h *Host) Do(fn func() error) error
//	func (h *Host) Dial(ctx context.Context, network, addr string) (net.Conn, error)
//	func (h *Host) Listen(t testing.TB, network, addr string) net.Listener
//	func (h *Host) Iptables(t testing.TB, args ...string)
//	func (h *Host) Forwarding(t testing.TB)
//	func (h *Host) NoICMPRateLimit(t testing.TB)
//	func (h *Host) Resolv(t testing.TB, nameserver string)
//	func (h *Host) Hosts(t testing.TB, lines ...string)
//	func (h *Host) StartNginx(t testing.TB, server string) string
//	func (h *Host) StartDnsmasq(t testing.TB, args ...string)
//	func (h *Host) StartSSHD(t testing.TB, addr string) *SSHD
//	func Nettest(t testing.TB) string
//	func (h *Host) Nettest(t testing.TB, args ...string) (results []Result, summary Summary, exitCode int, output string)
//	func (h *Host) NettestVia(t testing.TB, wrapper []string, args ...string) (results []Result, summary Summary, exitCode int, output string)
//	func ByAddress(results []Result) map[string]Result
//	func SuiteDir(t testing.TB, files map[string]string) string
//	func AcceptAndClose(ln net.Listener)
//	func Probe[C, R any](h *Host, timeout time.Duration, probe func(context.Context, C) (R, error), cfg C) (R, error)
//	func ProbeMain[C, R any](m *testing.M, probe func(context.Context, C) (R, error))
//	func ProbeAs[R, C any](t testing.TB, h *Host, wrap, env []string, timeout time.Duration, cfg C) ProbeReply[R]
//	var AsNobody, AsRootWithoutNetRaw []string
//
// StartNginx takes the body of a server block ("listen 198.18.0.2:80;
// location / { … }") or a whole "server { … }" block; the address it waits
// for comes from the first listen directive. StartDnsmasq waits on the
// --listen-address (default 127.0.0.1) and --port (default 53) it was given.
//
// Commands run with `ip netns exec`, so they see /etc/netns/<ns>/hosts and
// resolv.conf written by Hosts and Resolv. Code run in-process through Do
// does not: it only switches the network namespace of one OS thread.
package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// commandTimeout bounds every command Run and Exec start, so a wedged tool
// cannot hang a test until the go test timeout (which skips cleanups).
const commandTimeout = 30 * time.Second

// readyTimeout bounds how long StartNginx and StartDnsmasq wait for their
// server to accept connections.
const readyTimeout = 5 * time.Second

// namePrefix starts every namespace and interface a lab creates, so leftovers
// are recognisable (and removable) by name.
const namePrefix = "nt"

var (
	// pidTag is this process's PID in base 36: short enough to fit
	// interface names (15 bytes at most) and unique among running
	// processes, so parallel test binaries never collide.
	pidTag = strconv.FormatInt(int64(os.Getpid()), 36)

	labSeq  atomic.Int64 // numbers labs within this process
	linkSeq atomic.Int64 // numbers veth pairs within this process

	staleOnce sync.Once
)

// RequireRoot skips the test when it cannot build a lab (not root, or the
// ip command from iproute2 is missing). When NETTEST_REQUIRE_ROOT=1, as in
// CI, it fails the test instead, so a lab test can never pass by skipping.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "needs root to create network namespaces (run as root, e.g. sudo -E go test ./...)")
		return
	}
	RequireBinary(t, "ip", "iproute2")
}

// RequireBinary returns the path of the program name, or skips the test
// (fails it when NETTEST_REQUIRE_ROOT=1) naming the Debian package that
// provides it.
func RequireBinary(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		// sbin directories are often missing from a non-login PATH.
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
		unavailable(t, fmt.Sprintf("needs %s (Debian package %s: apt-get install %s)", name, debianPackage, debianPackage))
		return ""
	}
	return path
}

// unavailable skips, or fails when the environment demands that lab tests run.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("NETTEST_REQUIRE_ROOT") == "1" {
		t.Fatalf("%s; NETTEST_REQUIRE_ROOT=1 forbids skipping", reason)
	}
	t.Skip(reason)
}

// Lab is a set of namespaces and links owned by one test.
type Lab struct {
	t     testing.TB
	id    string // unique within the process: pidTag + "-" + sequence
	mu    sync.Mutex
	hosts map[string]*Host
}

// New returns an empty lab; it calls RequireRoot first. Everything made
// through it is removed when the test ends.
func New(t testing.TB) *Lab {
	t.Helper()
	RequireRoot(t)
	staleOnce.Do(removeStale)
	return &Lab{
		t:     t,
		id:    pidTag + "-" + strconv.FormatInt(labSeq.Add(1), 10),
		hosts: map[string]*Host{},
	}
}

// Host is one network namespace in a lab.
type Host struct {
	lab  *Lab
	name string // as given to Lab.Host
	ns   string // the netns name
}

// Host creates a namespace for name (unique within the lab) with the
// loopback interface up and forwarding off: an end host until Forwarding is
// called. Its namespace name is nt<pid>-<lab>-<name>.
func (l *Lab) Host(name string) *Host {
	t := l.t
	t.Helper()
	l.mu.Lock()
	_, dup := l.hosts[name]
	h := &Host{lab: l, name: name, ns: namePrefix + l.id + "-" + name}
	l.hosts[name] = h
	l.mu.Unlock()
	if dup {
		t.Fatalf("lab: host %q already exists in this lab", name)
	}
	// A namespace of that name can only be a leftover of a dead process
	// with the same PID: replace it.
	_ = exec.Command("ip", "netns", "del", h.ns).Run()
	mustIP(t, "netns", "add", h.ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", h.ns).CombinedOutput(); err != nil {
			t.Logf("lab: deleting namespace %s: %v: %s", h.ns, err, out)
		}
		os.RemoveAll(filepath.Join("/etc/netns", h.ns))
	})
	mustIP(t, "-n", h.ns, "link", "set", "lo", "up")
	h.sysctl(t, "net/ipv4/ip_forward", "0")
	h.sysctl(t, "net/ipv6/conf/all/forwarding", "0")
	// Without duplicate address detection, link-local addresses are usable
	// at once; with it, the first IPv6 packets wait a second or two for
	// neighbour discovery. Set before any veth exists, which inherit it.
	h.sysctl(t, "net/ipv6/conf/default/accept_dad", "0")
	h.sysctl(t, "net/ipv6/conf/all/accept_dad", "0")
	return h
}

// Link joins a and b with a veth pair, gives each end its address (CIDR
// notation, IPv4 or IPv6; IPv6 skips duplicate address detection so the
// addresses are usable at once) and brings both ends up. It returns the interface
// names in a and in b. No route besides the connected one is added.
func (l *Lab) Link(a *Host, aCIDR string, b *Host, bCIDR string) (aIf, bIf string) {
	t := l.t
	t.Helper()
	n := strconv.FormatInt(linkSeq.Add(1), 10)
	aIf, bIf = namePrefix+pidTag+"v"+n+"a", namePrefix+pidTag+"v"+n+"b"
	if len(aIf) > 15 {
		t.Fatalf("lab: interface name %q is longer than 15 bytes", aIf)
	}
	// Created directly inside the namespaces: the pair never exists in the
	// host's own namespace, even for a moment.
	mustIP(t, "link", "add", aIf, "netns", a.ns, "type", "veth", "peer", "name", bIf, "netns", b.ns)
	ends := []struct {
		h         *Host
		ifc, cidr string
	}{{a, aIf, aCIDR}, {b, bIf, bCIDR}}
	// Both ends go up before any address is added: an IPv6 address added
	// to a down interface answers neighbour solicitations only after the
	// first one was lost and resent, a second later.
	for _, end := range ends {
		mustIP(t, "-n", end.h.ns, "link", "set", end.ifc, "up")
	}
	for _, end := range ends {
		if err := checkLabCIDR(end.cidr); err != nil {
			t.Fatalf("lab: %v", err)
		}
		args := []string{"-n", end.h.ns, "addr", "add", end.cidr, "dev", end.ifc}
		if strings.Contains(end.cidr, ":") {
			args = append(args, "nodad")
		}
		mustIP(t, args...)
	}
	return aIf, bIf
}

// checkLabCIDR refuses addresses outside the ranges tests may use, so a typo
// cannot make a test talk to a real network.
func checkLabCIDR(cidr string) error {
	ip, _, err := net.ParseCIDR(cidr)
	if err != nil {
		return fmt.Errorf("address %q is not in CIDR notation (like 198.18.0.1/24): %v", cidr, err)
	}
	allowed := []string{"198.18.0.0/15", "2001:db8::/32", "fd00::/8"}
	for _, a := range allowed {
		_, n, _ := net.ParseCIDR(a)
		if n.Contains(ip) {
			return nil
		}
	}
	return fmt.Errorf("address %s is outside the lab ranges %s", cidr, strings.Join(allowed, ", "))
}

// Name returns the netns name, for `ip netns exec NAME …` or `ip -n NAME …`.
func (h *Host) Name() string { return h.ns }

// String returns the netns name.
func (h *Host) String() string { return h.ns }

// Exec runs args inside the namespace and returns what it printed and its
// exit code; it does not fail the test. A command that cannot be started or
// runs longer than 30 s gives exit code -1 with the reason in stderr.
func (h *Host) Exec(args ...string) (stdout, stderr string, exitCode int) {
	if len(args) == 0 {
		return "", "lab: Exec needs a command", -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.ns}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return o.String(), e.String(), 0
	case ctx.Err() != nil:
		return o.String(), e.String() + fmt.Sprintf("\nlab: killed after %s", commandTimeout), -1
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return o.String(), e.String(), exit.ExitCode()
	}
	return o.String(), e.String() + "\nlab: " + err.Error(), -1
}

// Run runs args inside the namespace and returns its combined output; the
// test fails at once when the command exits non-zero.
func (h *Host) Run(t testing.TB, args ...string) string {
	t.Helper()
	stdout, stderr, code := h.Exec(args...)
	if code != 0 {
		t.Fatalf("lab: in %s: %s: exit code %d\nstdout:\n%s\nstderr:\n%s", h.ns, strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout + stderr
}

// Start starts args in the background inside the namespace and returns the
// running command. At cleanup its process group is killed (SIGKILL) and
// waited for; if the test failed, what it printed is logged. Callers must not
// call Wait themselves.
func (h *Host) Start(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	if len(args) == 0 {
		t.Fatal("lab: Start needs a command")
	}
	// `ip netns exec` execs the command in place, so the PID is the
	// command's own; its own process group lets cleanup catch children.
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.ns}, args...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// No Pdeathsig: it fires when the forking OS thread exits, and Do
	// makes threads exit, which would kill servers at random.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("lab: in %s: starting %s: %v", h.ns, strings.Join(args, " "), err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Logf("lab: %s (pid %d) did not exit 5 s after SIGKILL", args[0], cmd.Process.Pid)
		}
		if t.Failed() && out.Len() > 0 {
			t.Logf("lab: output of %s in %s:\n%s", strings.Join(args, " "), h.ns, out.String())
		}
	})
	return cmd
}

// Do runs fn in the calling process with the network namespace of h: on a
// fresh goroutine locked to its OS thread, switched into h. That thread is
// never unlocked, so Go terminates it when fn returns instead of reusing a
// thread that sits in another namespace. Sockets fn creates belong to h and
// stay there after fn returns. Goroutines fn starts run in the process's own
// namespace, and so do the dials of http.Transport and the fallback dials of
// net.Dial to a name with both IPv4 and IPv6 addresses: inside fn, dial IP
// literals directly, or use Dial as the transport's DialContext. Getting this
// wrong sends traffic out of the host's own namespace. A panic in fn is
// returned as an error.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer func() {
			if p := recover(); p != nil {
				errc <- fmt.Errorf("lab: panic in %s: %v", h.ns, p)
			}
		}()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("lab: reading this thread's namespace: %v", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(h.ns)
		if err != nil {
			errc <- fmt.Errorf("lab: opening namespace %s: %v", h.ns, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("lab: entering namespace %s: %v", h.ns, err)
			return
		}
		// Going back is not needed for safety (the thread is never reused)
		// but the main thread is parked rather than terminated, and would
		// keep a deleted namespace and its veths alive until the process ends.
		defer netns.Set(orig)
		errc <- fn()
	}()
	return <-errc
}

// Dial connects from inside the namespace: the socket is created on a
// thread switched into h, whichever goroutine calls Dial. Its signature fits
// http.Transport.DialContext and similar hooks, which dial on goroutines of
// their own (code run through Do would dial from the wrong namespace there).
// addr must be an IP literal and port: resolving names would happen outside.
func (h *Host) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, _, err := net.SplitHostPort(addr); err != nil || net.ParseIP(host) == nil {
		return nil, fmt.Errorf("lab: Dial in %s needs an IP address and port, got %q", h.ns, addr)
	}
	var c net.Conn
	err := h.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen opens a listener inside the namespace (network "tcp", "tcp4",
// "tcp6"); it is closed at cleanup. Accepting on it works from any goroutine.
func (h *Host) Listen(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	}); err != nil {
		t.Fatalf("lab: listening on %s in %s: %v", addr, h.ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// Iptables runs iptables (with -w, waiting for the lock other namespaces may
// hold) inside the namespace; the rules vanish with the namespace. Skips or
// fails like RequireBinary when iptables is missing.
func (h *Host) Iptables(t testing.TB, args ...string) {
	t.Helper()
	RequireBinary(t, "iptables", "iptables")
	h.Run(t, append([]string{"iptables", "-w", "5"}, args...)...)
}

// Forwarding turns on IPv4 and IPv6 forwarding in the namespace, making the
// host a router between its links.
func (h *Host) Forwarding(t testing.TB) {
	t.Helper()
	h.sysctl(t, "net/ipv4/ip_forward", "1")
	h.sysctl(t, "net/ipv6/conf/all/forwarding", "1")
}

// NoICMPRateLimit lets the namespace send ICMP errors without limit, IPv4
// and IPv6: the per-destination limit (icmp_ratelimit) and the namespace's
// global one (icmp_msgs_per_sec) both apply only to the types in the mask.
// Routers of a lab that answer many probes a second need it; real routers
// do rate-limit, which the probes must cope with.
func (h *Host) NoICMPRateLimit(t testing.TB) {
	t.Helper()
	h.sysctl(t, "net/ipv4/icmp_ratelimit", "0")
	h.sysctl(t, "net/ipv4/icmp_ratemask", "0")
	h.sysctl(t, "net/ipv6/icmp/ratelimit", "0")
	h.sysctl(t, "net/ipv6/icmp/ratemask", "\n")
}

// sysctl writes a /proc/sys/net value as seen from inside the namespace.
func (h *Host) sysctl(t testing.TB, key, value string) {
	t.Helper()
	err := h.Do(func() error {
		return os.WriteFile("/proc/sys/"+key, []byte(value), 0o644)
	})
	if err != nil && !(strings.HasPrefix(key, "net/ipv6/") && errors.Is(err, os.ErrNotExist)) {
		t.Fatalf("lab: in %s: setting %s=%s: %v", h.ns, key, value, err)
	}
}

// Resolv writes /etc/netns/<ns>/resolv.conf naming one nameserver, which
// commands started through Run, Exec and Start see as /etc/resolv.conf.
func (h *Host) Resolv(t testing.TB, nameserver string) {
	t.Helper()
	h.etcFile(t, "resolv.conf", "nameserver "+nameserver+"\n")
}

// Hosts writes /etc/netns/<ns>/hosts with the given lines (like
// "198.18.0.2 web.lab"), seen as /etc/hosts by commands run in the namespace.
// A localhost line is added first, as every hosts file has one.
func (h *Host) Hosts(t testing.TB, lines ...string) {
	t.Helper()
	h.etcFile(t, "hosts", "127.0.0.1 localhost\n::1 localhost\n"+strings.Join(lines, "\n")+"\n")
}

func (h *Host) etcFile(t testing.TB, name, content string) {
	t.Helper()
	dir := filepath.Join("/etc/netns", h.ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("lab: %v", err)
	}
	// The directory itself is removed by the cleanup Host registered.
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatalf("lab: %v", err)
	}
}

var listenRE = regexp.MustCompile(`(?:^|[\s;{])listen\s+([^\s;]+)`)

// StartNginx starts nginx inside the namespace serving one server block and
// waits (at most 5 s) until it accepts connections on the address of the
// block's first listen directive. server is the block's body (listen,
// location, return, …) or a whole "server { … }" block. It returns the
// directory holding nginx.conf, the logs and temp files; files put there
// can be served with `root DIR;`. Needs nginx (nginx-light).
func (h *Host) StartNginx(t testing.TB, server string) string {
	t.Helper()
	bin := RequireBinary(t, "nginx", "nginx-light")
	m := listenRE.FindStringSubmatch(server)
	if m == nil {
		t.Fatal("lab: StartNginx: the server block has no listen directive")
	}
	addr := listenAddr(m[1])
	if addr == "" {
		t.Fatalf("lab: StartNginx: cannot tell the address of `listen %s`", m[1])
	}
	block := strings.TrimSpace(server)
	if !strings.HasPrefix(block, "server") {
		block = "server {\n" + block + "\n}"
	}
	dir := t.TempDir()
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 1024; }
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/client_body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	default_type text/plain;
%[2]s
}
`, dir, block)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatalf("lab: %v", err)
	}
	cmd := h.Start(t, bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	if err := h.waitAccept(cmd, addr); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("lab: nginx in %s: %v\nnginx.conf:\n%s\nerror.log:\n%s", h.ns, err, conf, log)
	}
	return dir
}

// listenAddr turns an nginx listen argument ("80", "198.18.0.2:80",
// "[::1]:8080", "*:80") into an address to dial from inside the namespace.
func listenAddr(arg string) string {
	if _, err := strconv.Atoi(arg); err == nil {
		return net.JoinHostPort("127.0.0.1", arg)
	}
	host, port, err := net.SplitHostPort(arg)
	if err != nil {
		return ""
	}
	if host == "*" || host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	if host == "::" {
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// StartDnsmasq starts dnsmasq in the foreground inside the namespace with
// --keep-in-foreground --no-resolv --no-hosts --bind-interfaces, logging to
// its output, reading no configuration file, pid file in a temp dir, plus
// args (like "--listen-address=198.18.0.53", "--address=/web.lab/198.18.0.2",
// "--host-record=…"). It waits (at most 5 s) until dnsmasq accepts TCP on
// its listen address (default 127.0.0.1) and port (default 53). Needs dnsmasq.
func (h *Host) StartDnsmasq(t testing.TB, args ...string) {
	t.Helper()
	bin := RequireBinary(t, "dnsmasq", "dnsmasq")
	dir := t.TempDir()
	listen, port := "127.0.0.1", "53"
	hasConf, hasUser := false, false
	for i, a := range args {
		val := func(long, short string) (string, bool) {
			switch {
			case strings.HasPrefix(a, long+"="):
				return strings.TrimPrefix(a, long+"="), true
			case (a == long || a == short) && i+1 < len(args):
				return args[i+1], true
			}
			return "", false
		}
		if v, ok := val("--listen-address", "-a"); ok {
			listen = strings.Split(v, ",")[0]
		}
		if v, ok := val("--port", "-p"); ok {
			port = v
		}
		if _, ok := val("--conf-file", "-C"); ok {
			hasConf = true
		}
		if _, ok := val("--user", "-u"); ok {
			hasUser = true
		}
	}
	full := []string{bin, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
		"--log-facility=-", "--pid-file=" + filepath.Join(dir, "dnsmasq.pid")}
	if !hasConf {
		full = append(full, "--conf-file=/dev/null")
	}
	if !hasUser {
		// Stay root: the dnsmasq user may not exist where dnsmasq-base is
		// installed without the dnsmasq package.
		full = append(full, "--user=root")
	}
	full = append(full, args...)
	cmd := h.Start(t, full...)
	if port == "0" {
		return // DNS is off (DHCP-only); nothing to wait for.
	}
	if err := h.waitAccept(cmd, net.JoinHostPort(listen, port)); err != nil {
		t.Fatalf("lab: dnsmasq in %s: %v (command: %s)", h.ns, err, strings.Join(full, " "))
	}
}

// waitAccept dials addr from inside the namespace until it accepts, the
// process exits or readyTimeout passes.
func (h *Host) waitAccept(cmd *exec.Cmd, addr string) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if processGone(cmd.Process.Pid) {
			return fmt.Errorf("exited before accepting connections on %s", addr)
		}
		last = h.Do(func() error {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err
		})
		if last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not accepting connections on %s after %s: %v", addr, readyTimeout, last)
}

// processGone reports whether pid has exited (a zombie counts as exited).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// Nettest returns the path of a nettest binary built from ./cmd/nettest,
// once per test process, into a directory named after the PID under the
// temp dir (removed by a later process once this one is gone).
func Nettest(t testing.TB) string {
	t.Helper()
	path, err := buildNettest()
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	return path
}

var buildNettest = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("nettest-lab-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	path := filepath.Join(dir, "nettest")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "build", "-buildvcs=false", "-o", path, "github.com/nettest/nettest/cmd/nettest").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/nettest: %v\n%s", err, out)
	}
	return path, nil
})

// removeStale deletes namespaces and binary directories left behind by lab
// processes that died before their cleanup ran (a go test timeout, a kill).
func removeStale() {
	re := regexp.MustCompile(`^` + namePrefix + `([0-9a-z]+)-[0-9]+-`)
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		m := re.FindStringSubmatch(fields[0])
		if m == nil {
			continue
		}
		pid, err := strconv.ParseInt(m[1], 36, 64)
		if err != nil || int(pid) == os.Getpid() || !processGone(int(pid)) {
			continue
		}
		// Its servers may outlive it: kill them before the namespace goes.
		pids, _ := exec.Command("ip", "netns", "pids", fields[0]).Output()
		for _, p := range strings.Fields(string(pids)) {
			if n, err := strconv.Atoi(p); err == nil {
				syscall.Kill(n, syscall.SIGKILL)
			}
		}
		exec.Command("ip", "netns", "del", fields[0]).Run()
		os.RemoveAll(filepath.Join("/etc/netns", fields[0]))
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "nettest-lab-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "nettest-lab-"))
		if err == nil && pid != os.Getpid() && processGone(pid) {
			os.RemoveAll(d)
		}
	}
}

// mustIP runs the ip command in the host's own namespace.
func mustIP(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("lab: ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// syncBuffer collects a background process's output safely while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep the first megabyte: enough to debug, bounded for chatty servers.
	if b.buf.Len() < 1<<20 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
