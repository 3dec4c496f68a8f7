package vantage

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// sshLab is a client, a bastion running sshd (198.18.1.2:22) and an inner
// host running sshd (198.18.2.2:22, port 80 open) that only the bastion
// reaches. The test process dials from inside the client namespace.
type sshLab struct {
	client, bastion, inner *lab.Host
	bastionSSHD, innerSSHD *lab.SSHD
}

func newSSHLab(t *testing.T) *sshLab {
	t.Helper()
	l := lab.New(t)
	x := &sshLab{client: l.Host("client"), bastion: l.Host("bastion"), inner: l.Host("inner")}
	l.Link(x.client, "198.18.1.1/24", x.bastion, "198.18.1.2/24")
	l.Link(x.bastion, "198.18.2.1/24", x.inner, "198.18.2.2/24")
	x.bastion.Hosts(t, "198.18.2.2 inner.lab")
	x.bastion.Resolv(t, "198.18.2.1")
	x.bastionSSHD = x.bastion.StartSSHD(t, "198.18.1.2:22")
	x.innerSSHD = x.inner.StartSSHD(t, "198.18.2.2:22")
	go lab.AcceptAndClose(x.inner.Listen(t, "tcp", "198.18.2.2:80"))
	return x
}

func (x *sshLab) vantage(name string, d *lab.SSHD) *schema.Vantage {
	return &schema.Vantage{Name: name, SSH: &schema.SSHVantage{Host: d.Host, Port: d.Port, User: d.User,
		PrivateKeyFile: d.KeyFile, KnownHostsFile: d.KnownHosts}}
}

func (x *sshLab) set(vantages ...*schema.Vantage) *Set {
	m := map[string]*schema.Vantage{}
	for _, v := range vantages {
		m[v.Name] = v
	}
	return NewSet(context.Background(), m, Options{Parallelism: 8, Dial: x.client.Dial})
}

func tcpArgs(host string, port int) (*checks.Kind, checks.Args) {
	tcp, _ := checks.Lookup("tcp")
	return tcp, defaultArgs(tcp, map[string]cty.Value{"host": cty.StringVal(host), "port": cty.NumberIntVal(int64(port))})
}

func timeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(checks.WithTimeout(context.Background(), d), d)
}

// agentsIn lists the processes of nettest agents running in the
// namespace, by PID: the agents and the sh scripts that copied them.
func agentsIn(t *testing.T, h *lab.Host) []int {
	return processesIn(t, h, func(argv []string) bool {
		return len(argv) > 1 && argv[1] == "agent" || strings.Contains(strings.Join(argv, " "), "nettest-agent.")
	})
}

// agentProcesses lists only the agents themselves.
func agentProcesses(t *testing.T, h *lab.Host) []int {
	return processesIn(t, h, func(argv []string) bool { return len(argv) > 1 && argv[1] == "agent" })
}

func processesIn(t *testing.T, h *lab.Host, match func(argv []string) bool) []int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", h.Name()).Output()
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		cmdline, _ := os.ReadFile("/proc/" + f + "/cmdline")
		if match(strings.Split(string(cmdline), "\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestSSHVantage(t *testing.T) {
	x := newSSHLab(t)
	bastion := x.vantage("bastion", x.bastionSSHD)
	inner := x.vantage("inner", x.innerSSHD)
	inner.SSH.Jump = "bastion"
	s := x.set(bastion, inner)

	// Long enough for the logins and the copies of the agent on a busy
	// machine (the runner does not charge those to a check).
	ctx, cancel := timeout(20 * time.Second)
	defer cancel()
	tcp, args := tcpArgs("198.18.2.2", 80)
	v, err := s.Prober("bastion").Probe(ctx, tcp, args)
	if err != nil {
		t.Fatal(err)
	}
	if st := v.GetAttr("state").AsString(); st != "open" {
		t.Errorf("tcp 198.18.2.2:80 from the bastion: %q, want open", st)
	}
	dns, _ := checks.Lookup("dns")
	v, err = s.Prober("bastion").Probe(ctx, dns, defaultArgs(dns, map[string]cty.Value{"name": cty.StringVal("inner.lab")}))
	if err != nil {
		t.Fatal(err)
	}
	if got := checks.Strings(v.GetAttr("answers")); len(got) != 1 || got[0] != "198.18.2.2" {
		t.Errorf("dns from the bastion: %q, want its /etc/hosts' [198.18.2.2]", got)
	}
	// Through the bastion as a jump host, on the inner host itself.
	tcp, args = tcpArgs("127.0.0.1", 22)
	v, err = s.Prober("inner").Probe(ctx, tcp, args)
	if err != nil {
		t.Fatal(err)
	}
	if st := v.GetAttr("state").AsString(); st != "closed" {
		t.Errorf("tcp 127.0.0.1:22 on the inner host (sshd listens on 198.18.2.2 only): %q, want closed", st)
	}
	// With agent_path, the nettest already there runs and nothing is copied.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	installed := x.vantage("installed", x.bastionSSHD)
	installed.SSH.AgentPath = self
	s2 := x.set(installed)
	tcp, args = tcpArgs("198.18.2.2", 80)
	if v, err := s2.Prober("installed").Probe(ctx, tcp, args); err != nil || v.GetAttr("state").AsString() != "open" {
		t.Errorf("with agent_path: %v %v", v, err)
	}
	if c := s2.remotes["installed"].conn.l.copiedTo; c != "" {
		t.Errorf("with agent_path, nettest was copied to %s", c)
	}
	s2.Close()

	copied := []string{s.remotes["bastion"].conn.l.copiedTo, s.remotes["inner"].conn.l.copiedTo}
	if len(agentProcesses(t, x.bastion)) != 1 || len(agentProcesses(t, x.inner)) != 1 {
		t.Errorf("want one agent on each host, got %v and %v", agentProcesses(t, x.bastion), agentProcesses(t, x.inner))
	}
	s.Close()
	noLeftovers(t, x.bastion, copied...)
	noLeftovers(t, x.inner)
}

// noLeftovers requires that no agent runs in h any more and that the
// copies are gone.
func noLeftovers(t *testing.T, h *lab.Host, copies ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for len(agentsIn(t, h)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pids := agentsIn(t, h); len(pids) > 0 {
		t.Errorf("agents still running in %s after the run: %v", h.Name(), pids)
	}
	for _, dir := range copies {
		if dir == "" {
			t.Errorf("no copy was made")
			continue
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the copy %s is still there after the run", dir)
		}
	}
}

func TestSSHHostKeyChecked(t *testing.T) {
	x := newSSHLab(t)
	// Another host's key under the bastion's name: a changed key.
	changed := filepath.Join(t.TempDir(), "known_hosts")
	line := "198.18.1.2 " + strings.SplitN(x.innerSSHD.HostKeyLine, " ", 2)[1]
	os.WriteFile(changed, []byte(line+"\n"), 0o600)
	unknown := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(unknown, []byte(strings.Replace(x.innerSSHD.HostKeyLine, "198.18.2.2", "198.18.1.99", 1)+"\n"), 0o600)

	wrong := x.vantage("wrong", x.bastionSSHD)
	wrong.SSH.KnownHostsFile = changed
	stranger := x.vantage("stranger", x.bastionSSHD)
	stranger.SSH.KnownHostsFile = unknown
	s := x.set(wrong, stranger)
	defer s.Close()
	fingerprint := hostFingerprint(t, x.bastionSSHD)

	ctx, cancel := timeout(5 * time.Second)
	defer cancel()
	tcp, args := tcpArgs("198.18.2.2", 80)
	_, err := s.Prober("wrong").Probe(ctx, tcp, args)
	t.Logf("changed host key: %v", err)
	for _, want := range []string{"vantage wrong: ", "198.18.1.2:22 has CHANGED", fingerprint} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("changed host key: want %q in %v", want, err)
		}
	}
	_, err = s.Prober("stranger").Probe(ctx, tcp, args)
	t.Logf("unknown host key: %v", err)
	for _, want := range []string{"vantage stranger: ", "198.18.1.2:22 is unknown", fingerprint} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("unknown host key: want %q in %v", want, err)
		}
	}
	noLeftovers(t, x.bastion)
}

// hostFingerprint is the SHA256 fingerprint of the server's host key, as
// ssh-keygen -l prints it.
func hostFingerprint(t *testing.T, d *lab.SSHD) string {
	out, err := exec.Command("ssh-keygen", "-l", "-f", filepath.Join(d.Dir, "host_ed25519.pub")).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[1]
}

func TestSSHUnreachable(t *testing.T) {
	x := newSSHLab(t)
	gone := x.vantage("gone", x.bastionSSHD)
	gone.SSH.Host = "198.18.9.9" // no route from the client
	s := x.set(gone, x.vantage("bastion", x.bastionSSHD))
	defer s.Close()
	// No route: the kernel refuses the connection at once, so the error
	// names the cause long before the check's timeout. The timeout is
	// generous because a loaded machine may start the dial late, and the
	// deadline must not be what ends it (the error would then say so).
	const checkTimeout = 10 * time.Second
	ctx, cancel := timeout(checkTimeout)
	defer cancel()
	tcp, args := tcpArgs("198.18.2.2", 80)
	start := time.Now()
	_, err := s.Prober("gone").Probe(ctx, tcp, args)
	t.Logf("unreachable after %s: %v", time.Since(start), err)
	if err == nil || !strings.Contains(err.Error(), "vantage gone: cannot connect to 198.18.9.9:22") || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("got %v", err)
	}
	if d := time.Since(start); d > checkTimeout {
		t.Errorf("took %s, the check's whole %s timeout, although nothing routes there", d, checkTimeout)
	}
	// The other vantage is not affected. (Its context covers the login
	// and the copy of the agent, which the runner does not charge to a
	// check: see TestSSHVantage.)
	slow, cancelSlow := timeout(20 * time.Second)
	defer cancelSlow()
	if v, err := s.Prober("bastion").Probe(slow, tcp, args); err != nil || v.GetAttr("state").AsString() != "open" {
		t.Errorf("from the bastion: %v %v", v, err)
	}
}

func TestSSHAgentKilledMidRun(t *testing.T) {
	x := newSSHLab(t)
	s := x.set(x.vantage("bastion", x.bastionSSHD))
	defer s.Close()
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := timeout(20 * time.Second)
		defer cancel()
		_, err := s.Prober("bastion").Probe(ctx, sleepKind, sleepArgs("20s"))
		errc <- err
	}()
	var agents []int
	for deadline := time.Now().Add(10 * time.Second); len(agents) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		agents = agentProcesses(t, x.bastion)
	}
	if len(agents) != 1 {
		t.Fatalf("want the agent running on the bastion, found %v", agents)
	}
	<-s.remotes["bastion"].ready
	waitFor(t, func() bool { return len(agentsIn(t, x.bastion)) == 2 }) // sh and the agent
	copied := s.remotes["bastion"].conn.l.copiedTo
	syscall.Kill(agents[0], syscall.SIGKILL)
	select {
	case err := <-errc:
		t.Logf("agent killed: %v", err)
		if err == nil || !strings.Contains(err.Error(), "vantage bastion: the agent stopped") {
			t.Errorf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the probe still waits 5s after its agent was killed")
	}
	ctx, cancel := timeout(time.Second)
	defer cancel()
	tcp, args := tcpArgs("198.18.2.2", 80)
	if _, err := s.Prober("bastion").Probe(ctx, tcp, args); err == nil || !strings.Contains(err.Error(), "vantage bastion: the agent stopped") {
		t.Errorf("a probe after the agent died: %v", err)
	}
	s.Close()
	noLeftovers(t, x.bastion, copied)
}
