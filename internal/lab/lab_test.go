package lab_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/nettest/nettest/internal/lab"
	"github.com/vishvananda/netns"
)

// namespaces lists the network namespaces that exist now.
func namespaces(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	set := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			set[f[0]] = true
		}
	}
	return set
}

// TestLinkCarriesTCPAndCleanupRemovesEverything joins two hosts, proves a TCP
// handshake crosses the link and nothing else is reachable, and checks that
// the namespaces, /etc/netns files and processes are gone afterwards.
func TestLinkCarriesTCPAndCleanupRemovesEverything(t *testing.T) {
	lab.RequireRoot(t)
	var names []string
	var sleeper int
	t.Run("lab", func(t *testing.T) {
		l := lab.New(t)
		client, server := l.Host("client"), l.Host("server")
		names = []string{client.Name(), server.Name()}
		cIf, sIf := l.Link(client, "198.18.0.1/24", server, "198.18.0.2/24")
		for _, ifc := range []string{cIf, sIf} {
			if len(ifc) > 15 {
				t.Errorf("interface name %q is longer than 15 bytes", ifc)
			}
		}
		if !strings.Contains(client.Run(t, "ip", "-br", "addr"), "198.18.0.1/24") {
			t.Errorf("client lacks 198.18.0.1/24:\n%s", client.Run(t, "ip", "addr"))
		}

		// A listener created inside the server namespace.
		ln := server.Listen(t, "tcp", "198.18.0.2:0")
		go lab.AcceptAndClose(ln)
		port := ln.Addr().(*net.TCPAddr).Port

		dial := func(h *lab.Host, addr string) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			c, err := h.Dial(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		}
		if err := dial(client, fmt.Sprintf("198.18.0.2:%d", port)); err != nil {
			t.Errorf("client cannot reach the server's listener across the link: %v", err)
		}
		// The listener is in the server's namespace, not the test's own.
		if err := dial(client, fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			t.Errorf("client reached 127.0.0.1:%d: the namespaces are not isolated", port)
		}
		// No default route: nothing can leave the lab.
		if _, stderr, code := client.Exec("ip", "route", "get", "192.0.2.1"); code == 0 || !strings.Contains(stderr, "unreachable") {
			t.Errorf("client has a route out of the lab (exit %d): %s", code, stderr)
		}
		if _, err := exec.LookPath("ping"); err == nil {
			client.Run(t, "ping", "-c1", "-W1", "198.18.0.2")
		}

		cmd := server.Start(t, "sleep", "300")
		sleeper = cmd.Process.Pid
		if got := strings.TrimSpace(server.Run(t, "cat", "/proc/sys/net/ipv4/ip_forward")); got != "0" {
			t.Errorf("ip_forward in a new host = %s, want 0", got)
		}
		server.Forwarding(t)
		if got := strings.TrimSpace(server.Run(t, "cat", "/proc/sys/net/ipv4/ip_forward")); got != "1" {
			t.Errorf("ip_forward after Forwarding = %s, want 1", got)
		}
		client.Hosts(t, "198.18.0.2 web.lab")
		client.Resolv(t, "198.18.0.53")
	})
	now := namespaces(t)
	for _, n := range names {
		if now[n] {
			t.Errorf("namespace %s still exists after cleanup", n)
		}
		if _, err := os.Stat("/etc/netns/" + n); err == nil {
			t.Errorf("/etc/netns/%s still exists after cleanup", n)
		}
	}
	if sleeper != 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", sleeper)); err == nil {
			t.Errorf("process %d started with Start still runs after cleanup", sleeper)
		}
	}
}

func TestExecReportsExitCodeAndEtcFiles(t *testing.T) {
	l := lab.New(t)
	h := l.Host("h")
	h.Hosts(t, "198.18.0.2 web.lab")
	h.Resolv(t, "198.18.0.53")
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"getent", "hosts", "web.lab"}, 0, "198.18.0.2"},
		{[]string{"cat", "/etc/resolv.conf"}, 0, "nameserver 198.18.0.53"},
		{[]string{"sh", "-c", "echo oops >&2; exit 3"}, 3, "oops"},
		{[]string{"/nonexistent/binary"}, 1, "nonexistent"},
	}
	for _, tt := range tests {
		stdout, stderr, code := h.Exec(tt.args...)
		if code != tt.code || !strings.Contains(stdout+stderr, tt.contains) {
			t.Errorf("Exec(%q) = (%q, %q, %d), want exit %d and output containing %q",
				tt.args, stdout, stderr, code, tt.code, tt.contains)
		}
	}
}

func TestStartNginxServesInsideTheNamespace(t *testing.T) {
	l := lab.New(t)
	client, server := l.Host("client"), l.Host("server")
	l.Link(client, "198.18.1.1/24", server, "198.18.1.2/24")
	server.StartNginx(t, `listen 198.18.1.2:8080;
location / { return 200 "hello from the lab\n"; }`)
	// A whole block on one line works as well.
	server.StartNginx(t, `server { listen 198.18.1.2:8081; return 204; }`)

	// The transport dials on goroutines of its own: Dial puts the socket
	// in the client's namespace all the same.
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: client.Dial, Proxy: nil}}
	var body string
	resp, err := c.Get("http://198.18.1.2:8080/")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	if err != nil || body != "200 hello from the lab\n" {
		t.Errorf("GET from the client = %q, %v; want 200 with the lab body", body, err)
	}
	if resp, err := c.Get("http://198.18.1.2:8081/"); err != nil || resp.StatusCode != 204 {
		t.Errorf("GET :8081 from the client = %v, %v; want 204", resp, err)
	} else {
		resp.Body.Close()
	}
}

func TestStartDnsmasqAnswers(t *testing.T) {
	l := lab.New(t)
	client, server := l.Host("client"), l.Host("server")
	l.Link(client, "198.18.2.1/24", server, "198.18.2.53/24")
	server.StartDnsmasq(t, "--listen-address=198.18.2.53", "--address=/web.lab/198.18.2.80")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var answers []string
	conn, err := client.Dial(ctx, "udp", "198.18.2.53:53")
	if err == nil {
		defer conn.Close()
		m := new(dns.Msg)
		m.SetQuestion("web.lab.", dns.TypeA)
		var r *dns.Msg
		r, _, err = new(dns.Client).ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: conn})
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				answers = append(answers, a.A.String())
			}
		}
	}
	if err != nil || len(answers) != 1 || answers[0] != "198.18.2.80" {
		t.Errorf("A web.lab from the client = %v, %v; want [198.18.2.80]", answers, err)
	}
}

func TestIptablesRulesStayInTheNamespace(t *testing.T) {
	l := lab.New(t)
	h := l.Host("fw")
	h.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "9", "-j", "DROP")
	if out := h.Run(t, "iptables", "-w", "5", "-S", "INPUT"); !strings.Contains(out, "--dport 9 -j DROP") {
		t.Errorf("rule missing in the namespace:\n%s", out)
	}
	if out, _ := exec.Command("iptables", "-w", "5", "-S", "INPUT").Output(); strings.Contains(string(out), "--dport 9 -j DROP") {
		t.Errorf("rule leaked into the host's own namespace:\n%s", out)
	}
}

// TestDoLeavesNoThreadInTheNamespace checks that after many Do calls every
// thread the test can land on is still in the process's own namespace: a
// reused thread would make later code send from inside a lab, or worse, make
// code meant for a lab send from the host.
func TestDoLeavesNoThreadInTheNamespace(t *testing.T) {
	l := lab.New(t)
	h := l.Host("h")
	// Not /proc/self/ns/net: that is the main thread's, and the main thread,
	// which Go never terminates, may be one Do ran on.
	self, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	inside := 0
	for i := 0; i < 50; i++ {
		if err := h.Do(func() error {
			cur, err := netns.Get()
			if err != nil {
				return err
			}
			defer cur.Close()
			if !cur.Equal(self) {
				inside++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if inside != 50 {
		t.Errorf("fn ran inside the namespace %d times out of 50", inside)
	}
	if err := h.Do(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Do(panicking fn) = %v, want an error naming the panic", err)
	}
	done := make(chan bool, 200)
	for i := 0; i < 200; i++ {
		go func() {
			cur, err := netns.Get()
			if err != nil {
				done <- false
				return
			}
			defer cur.Close()
			done <- cur.Equal(self)
		}()
	}
	for i := 0; i < 200; i++ {
		if !<-done {
			t.Fatal("a goroutine ran on a thread left inside the lab namespace")
		}
	}
}

// TestCleanupAfterPanic runs a test that builds a lab, starts a process and
// panics, in a child test process, and checks that its namespaces and
// process are gone all the same.
func TestCleanupAfterPanic(t *testing.T) {
	lab.RequireRoot(t)
	if os.Getenv("LAB_PANIC_HELPER") == "1" {
		t.Skip("only the child runs the helper")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPanicHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "LAB_PANIC_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "panic: midway") {
		t.Fatalf("the helper should have panicked; err=%v\n%s", err, out)
	}
	var ns []string
	var pid int
	for _, line := range strings.Split(string(out), "\n") {
		if _, after, ok := strings.Cut(line, "HELPER "); ok {
			f := strings.Fields(after)
			ns = f[:2]
			fmt.Sscan(f[2], &pid)
		}
	}
	if len(ns) != 2 || pid == 0 {
		t.Fatalf("the helper did not report its namespaces and process:\n%s", out)
	}
	now := namespaces(t)
	for _, n := range ns {
		if now[n] {
			t.Errorf("namespace %s survived the panic", n)
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("process %d survived the panic", pid)
	}
}

// TestPanicHelper is the child of TestCleanupAfterPanic.
func TestPanicHelper(t *testing.T) {
	if os.Getenv("LAB_PANIC_HELPER") != "1" {
		t.Skip("run by TestCleanupAfterPanic")
	}
	l := lab.New(t)
	a, b := l.Host("a"), l.Host("b")
	l.Link(a, "198.18.5.1/24", b, "198.18.5.2/24")
	cmd := b.Start(t, "sleep", "300")
	fmt.Printf("HELPER %s %s %d\n", a.Name(), b.Name(), cmd.Process.Pid)
	panic("midway")
}

// TestValidateJUnitWithoutSchema runs ValidateJUnit in a child test process
// as a fresh clone would, with NETTEST_REQUIRE_ROOT=1 and no schema: the
// test skips, naming the variable, and does not fail. A schema path that
// does not exist fails.
func TestValidateJUnitWithoutSchema(t *testing.T) {
	if os.Getenv("LAB_JUNIT_HELPER") == "1" {
		t.Skip("only the child runs the helper")
	}
	child := func(xsd string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestValidateJUnitHelper$", "-test.v")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, lab.JUnitSchemaEnv+"=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "LAB_JUNIT_HELPER=1", "NETTEST_REQUIRE_ROOT=1")
		if xsd != "" {
			cmd.Env = append(cmd.Env, lab.JUnitSchemaEnv+"="+xsd)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := child("")
	if err != nil || !strings.Contains(out, "--- SKIP: TestValidateJUnitHelper") || !strings.Contains(out, "NETTEST_JUNIT_XSD is not set") {
		t.Errorf("without %s the helper should skip naming it; err=%v\n%s", lab.JUnitSchemaEnv, err, out)
	}
	out, err = child(filepath.Join(t.TempDir(), "missing.xsd"))
	if err == nil || !strings.Contains(out, "--- FAIL: TestValidateJUnitHelper") || !strings.Contains(out, "missing.xsd") {
		t.Errorf("a schema path that does not exist should fail the test; err=%v\n%s", err, out)
	}
}

// TestValidateJUnitHelper is the child of TestValidateJUnitWithoutSchema.
func TestValidateJUnitHelper(t *testing.T) {
	if os.Getenv("LAB_JUNIT_HELPER") != "1" {
		t.Skip("run by TestValidateJUnitWithoutSchema")
	}
	path := filepath.Join(t.TempDir(), "report.xml")
	os.WriteFile(path, []byte("<testsuites/>\n"), 0o644)
	lab.ValidateJUnit(t, path)
}
