package listen

import (
	"context"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// probe runs Probe with a short timeout and fails the test on an error.
func probe(t *testing.T, cfg Config) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := Probe(ctx, cfg)
	if err != nil {
		t.Fatalf("Probe(%+v): %v", cfg, err)
	}
	return r
}

// self is this test process as the check must report it.
func self(t *testing.T) Process {
	t.Helper()
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	name := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return Process{Name: strings.TrimSpace(string(comm)), PID: os.Getpid(), User: name, UID: os.Geteuid()}
}

// skipIfShared skips a test whose result differs from what this process's
// own sockets make it when another process of the machine holds a socket on
// the same port meanwhile: ports from the kernel's ephemeral range are
// unique per address, not per port, and other test binaries run at the same
// time. The lab tests, in namespaces of their own, check exact results.
func skipIfShared(t *testing.T, cfg Config, me Process) {
	t.Helper()
	cfg.Address = nil
	if cfg.Protocol == "" {
		cfg.Protocol = TCP
	}
	for _, p := range probe(t, cfg).Processes {
		if p.PID != me.PID {
			t.Skipf("another process (%s, pid %d) holds a %s socket on port %d too", p.Name, p.PID, cfg.Protocol, cfg.Port)
		}
	}
}

func tcpListener(t *testing.T, network, addr string) int {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func udpListener(t *testing.T, network, addr string) int {
	t.Helper()
	c, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Real sockets of this process, on loopback: the check finds each with its
// addresses and names this process, its pid and its user as the owner.
func TestOwnSockets(t *testing.T) {
	me := self(t)
	tcp4 := tcpListener(t, "tcp4", "127.0.0.1:0")
	tcp6 := tcpListener(t, "tcp6", "[::1]:0")
	dual := tcpListener(t, "tcp", "[::]:0")      // Go leaves IPV6_V6ONLY off: IPv4 too
	v6only := tcpListener(t, "tcp6", "[::]:0")   // Go sets IPV6_V6ONLY for tcp6
	wild4 := tcpListener(t, "tcp4", "0.0.0.0:0") // every IPv4 address
	udp4 := udpListener(t, "udp4", "127.0.0.1:0")
	udp6 := udpListener(t, "udp6", "[::1]:0")
	p := func(n int) string { return strconv.Itoa(n) }
	for _, tc := range []struct {
		name      string
		cfg       Config
		listening bool
		addresses []string
	}{
		{"tcp on 127.0.0.1", Config{Port: tcp4}, true, []string{"127.0.0.1:" + p(tcp4)}},
		{"tcp on ::1", Config{Port: tcp6}, true, []string{"[::1]:" + p(tcp6)}},
		{"tcp on ::1, asked for ::1", Config{Port: tcp6, Address: new("::1")}, true, []string{"[::1]:" + p(tcp6)}},
		{"tcp on 127.0.0.1, asked for another address", Config{Port: tcp4, Address: new("127.0.0.2")}, false, []string{"127.0.0.1:" + p(tcp4)}},
		{"tcp on 127.0.0.1, asked for every address", Config{Port: tcp4, Address: new("0.0.0.0")}, false, []string{"127.0.0.1:" + p(tcp4)}},
		{"dual-stack [::] covers IPv4", Config{Port: dual, Address: new("127.0.0.1")}, true, []string{"[::]:" + p(dual)}},
		{"dual-stack [::] covers 0.0.0.0", Config{Port: dual, Address: new("0.0.0.0")}, true, []string{"[::]:" + p(dual)}},
		{"IPv6-only [::] does not cover IPv4", Config{Port: v6only, Address: new("127.0.0.1")}, false, []string{"[::]:" + p(v6only)}},
		{"IPv6-only [::] covers ::1", Config{Port: v6only, Address: new("::1")}, true, []string{"[::]:" + p(v6only)}},
		{"0.0.0.0 covers 127.0.0.5", Config{Port: wild4, Address: new("127.0.0.5")}, true, []string{"0.0.0.0:" + p(wild4)}},
		{"0.0.0.0 does not cover ::1", Config{Port: wild4, Address: new("::1")}, false, []string{"0.0.0.0:" + p(wild4)}},
		{"udp on 127.0.0.1", Config{Port: udp4, Protocol: UDP}, true, []string{"127.0.0.1:" + p(udp4)}},
		{"udp on ::1", Config{Port: udp6, Protocol: UDP}, true, []string{"[::1]:" + p(udp6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := probe(t, tc.cfg)
			if r.Listening != tc.listening || strings.Join(r.Addresses, " ") != strings.Join(tc.addresses, " ") {
				skipIfShared(t, tc.cfg, me)
				t.Fatalf("got listening %v addresses %v, want %v %v", r.Listening, r.Addresses, tc.listening, tc.addresses)
			}
			if !tc.listening {
				if r.Process != "" || r.PID != nil || len(r.Processes) != 0 || r.Error != "" {
					t.Errorf("owner reported for a socket that does not count: %+v", r)
				}
				return
			}
			if r.Process != me.Name || r.PID == nil || *r.PID != me.PID || r.User != me.User || r.Error != "" {
				t.Errorf("got process %q pid %v user %q error %q, want %q %d %q", r.Process, r.PID, r.User, r.Error, me.Name, me.PID, me.User)
			}
			if len(r.Processes) != 1 || r.Processes[0] != me {
				t.Errorf("got processes %+v, want only %+v", r.Processes, me)
			}
		})
	}
}

// What does not listen: a closed port, a TCP port asked as UDP, a connected
// UDP socket (it takes datagrams from its peer only).
func TestNotListening(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	tcp := tcpListener(t, "tcp4", "127.0.0.1:0")
	server := udpListener(t, "udp4", "127.0.0.1:0")
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: server})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	connected := conn.LocalAddr().(*net.UDPAddr).Port
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"closed tcp port", Config{Port: closed}},
		{"tcp port asked as udp", Config{Port: tcp, Protocol: UDP}},
		{"connected udp socket", Config{Port: connected, Protocol: UDP}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := probe(t, tc.cfg)
			if r.Listening || len(r.Addresses) != 0 || len(r.Processes) != 0 || r.PID != nil {
				skipIfShared(t, tc.cfg, self(t))
				t.Errorf("got %+v, want nothing listening", r)
			}
		})
	}
}

// Many sockets on one port (SO_REUSEPORT-less here: one IPv4, one IPv6) are
// all listed, and the owner is named once.
func TestTwoSocketsOnePort(t *testing.T) {
	me := self(t)
	port := tcpListener(t, "tcp4", "127.0.0.1:0")
	ln, err := net.Listen("tcp6", "[::1]:"+strconv.Itoa(port))
	if err != nil {
		t.Skipf("port %d is taken on ::1: %v", port, err)
	}
	defer ln.Close()
	r := probe(t, Config{Port: port})
	want := "127.0.0.1:" + strconv.Itoa(port) + " [::1]:" + strconv.Itoa(port)
	if strings.Join(r.Addresses, " ") != want {
		skipIfShared(t, Config{Port: port}, me)
	}
	if !r.Listening || strings.Join(r.Addresses, " ") != want || len(r.Processes) != 1 || r.Processes[0] != me {
		t.Errorf("got listening %v addresses %v processes %+v, want true, %s, only this process", r.Listening, r.Addresses, r.Processes, want)
	}
}

func toCty(t *testing.T, r Result) cty.Value {
	t.Helper()
	v, err := gocty.ToCtyValue(r, checks.TypeOf[Result]())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The diff lines a user reads.
func TestExpectations(t *testing.T) {
	nginx := Result{Port: 80, Protocol: TCP, Listening: true, Addresses: []string{"0.0.0.0:80"},
		Process: "nginx", PID: new(10), User: "root",
		Processes: []Process{{"nginx", 10, "root", 0}, {"nginx", 11, "www-data", 33}}}
	loopbackOnly := Result{Port: 8080, Protocol: TCP, Addresses: []string{"127.0.0.1:8080"}, Processes: []Process{}}
	nothing := Result{Port: 81, Protocol: TCP, Addresses: []string{}, Processes: []Process{}}
	hidden := Result{Port: 80, Protocol: TCP, Listening: true, Addresses: []string{"0.0.0.0:80"}, Processes: []Process{},
		Error: "the socket's owner is not visible"}
	for _, tc := range []struct {
		name   string
		result Result
		expect map[string]cty.Value
		diffs  string
	}{
		{"met", nginx, map[string]cty.Value{"listening": cty.True, "process": cty.StringVal("nginx"), "user": cty.StringVal("www-data"),
			"addresses": cty.ListVal([]cty.Value{cty.StringVal("0.0.0.0:80")})}, ""},
		{"the master's user counts too", nginx, map[string]cty.Value{"user": cty.StringVal("root")}, ""},
		{"another process", nginx, map[string]cty.Value{"process": cty.StringVal("apache2")}, `process: "apache2" / "nginx"`},
		{"another user", nginx, map[string]cty.Value{"user": cty.StringVal("nobody")}, `user: "nobody" / ["root", "www-data"]`},
		{"not listening", nothing, map[string]cty.Value{"listening": cty.True}, "listening: true / false"},
		{"listening on loopback only", loopbackOnly, map[string]cty.Value{"listening": cty.True}, "listening: true / false (bound on 127.0.0.1:8080)"},
		{"nothing to own", nothing, map[string]cty.Value{"process": cty.StringVal("nginx")}, `process: "nginx" / null (nothing listens)`},
		{"owner hidden", hidden, map[string]cty.Value{"user": cty.StringVal("root")}, `user: "root" / null (the socket's owner is not visible)`},
		{"listening must not", nginx, map[string]cty.Value{"listening": cty.False}, "listening: false / true"},
		{"wrong addresses", nginx, map[string]cty.Value{"addresses": cty.ListVal([]cty.Value{cty.StringVal("[::]:80")})}, `addresses: ["[::]:80"] / ["0.0.0.0:80"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range kindtest.Verdict(t, "listen", toCty(t, tc.result), tc.expect) {
				got = append(got, d.Field+": "+d.Expected+" / "+d.Actual)
			}
			if strings.Join(got, "\n") != tc.diffs {
				t.Errorf("got diffs\n%s\nwant\n%s", strings.Join(got, "\n"), tc.diffs)
			}
		})
	}
}

func TestEffectiveUID(t *testing.T) {
	for _, tc := range []struct {
		status string
		uid    int
		ok     bool
	}{
		{"Name:\tnginx\nUid:\t0\t33\t33\t33\nGid:\t0\t0\t0\t0\n", 33, true},
		{"Uid:\t1000\t1000\t1000\t1000\n", 1000, true},
		{"Uid:\t1000\n", 0, false},
		{"Name:\tx\n", 0, false},
	} {
		uid, ok := effectiveUID(tc.status)
		if uid != tc.uid || ok != tc.ok {
			t.Errorf("effectiveUID(%q) = %d, %v; want %d, %v", tc.status, uid, ok, tc.uid, tc.ok)
		}
	}
}
