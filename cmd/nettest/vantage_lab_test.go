package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
)

// vantageLab is the topology where a verdict depends on where you stand:
//
//	client 198.18.1.1 ── 198.18.1.2 bastion 198.18.2.1 ── 198.18.2.2 target
//	                     (sshd; forwards, but FORWARD drops the client)  (nginx :80)
//	blue 198.18.4.1 ── 198.18.4.2 vault (nginx :80)
//
// nettest runs in the client, which routes 198.18.2.0/24 through the
// bastion; the bastion is reached over SSH, blue as a netns vantage, and
// nothing but blue reaches the vault.
type vantageLab struct {
	client, bastion, target, blue, vault *lab.Host
	sshd                                 *lab.SSHD
}

func newVantageLab(t *testing.T) *vantageLab {
	t.Helper()
	l := lab.New(t)
	x := &vantageLab{client: l.Host("client"), bastion: l.Host("bastion"), target: l.Host("target"), blue: l.Host("blue"), vault: l.Host("vault")}
	l.Link(x.client, "198.18.1.1/24", x.bastion, "198.18.1.2/24")
	l.Link(x.bastion, "198.18.2.1/24", x.target, "198.18.2.2/24")
	l.Link(x.blue, "198.18.4.1/24", x.vault, "198.18.4.2/24")
	x.client.Run(t, "ip", "route", "add", "198.18.2.0/24", "via", "198.18.1.2")
	x.target.Run(t, "ip", "route", "add", "198.18.1.0/24", "via", "198.18.2.1")
	x.bastion.Forwarding(t)
	x.bastion.Iptables(t, "-A", "FORWARD", "-s", "198.18.1.0/24", "-d", "198.18.2.0/24", "-j", "DROP")
	x.target.StartNginx(t, `listen 198.18.2.2:80; location / { return 200 "target\n"; }`)
	x.vault.StartNginx(t, `listen 198.18.4.2:80; location / { return 200 "vault\n"; }`)
	// Each place has its own name for the database, as split-horizon DNS
	// would give; the resolvers point at lab addresses nobody serves.
	x.client.Hosts(t, "198.18.1.9 db.internal", "198.18.2.2 target.lab")
	x.client.Resolv(t, "198.18.1.2")
	x.bastion.Hosts(t, "198.18.2.2 db.internal")
	x.bastion.Resolv(t, "198.18.2.1")
	x.blue.Hosts(t, "198.18.4.2 db.internal")
	x.blue.Resolv(t, "198.18.4.1")
	x.sshd = x.bastion.StartSSHD(t, "198.18.1.2:22")
	return x
}

// bastionVantage declares the lab's bastion as an ssh vantage, with the
// variables vars gives.
const bastionVantage = `
variable "key_file" { type = string }
variable "known_hosts" { type = string }

vantage "bastion" {
  ssh {
    host             = "198.18.1.2"
    user             = "root"
    private_key_file = var.key_file
    known_hosts_file = var.known_hosts
  }
}
`

func (x *vantageLab) vars() []string {
	return []string{"--var", "blue_netns=" + x.blue.Name(), "--var", "key_file=" + x.sshd.KeyFile, "--var", "known_hosts=" + x.sshd.KnownHosts}
}

// TestVantageMatrix runs the security-group matrix from the client: the
// same target port filtered from here, open from the bastion; the vault
// open only from blue; each place's own /etc/hosts; a name resolved here
// fetched from the bastion; iptables and routes read on the bastion.
// Nothing of the agents is left on the bastion afterwards.
func TestVantageMatrix(t *testing.T) {
	x := newVantageLab(t)
	suite, _ := filepath.Abs("testdata/lab/vantages")
	junit := filepath.Join(t.TempDir(), "matrix.xml")
	r := runIn(t, 60*time.Second, x.client.Name(), append([]string{"test", "--json", "--junit=" + junit, suite}, x.vars()...)...)
	defer logOnFailure(t, "matrix suite", r)
	if r.code != 0 {
		t.Errorf("exit code %d, want 0", r.code)
	}
	got, summary := verdicts(t, r)
	pass := want{status: "pass"}
	wants := map[string]want{}
	for _, addr := range []string{
		`tcp.target_web["here"]`, `tcp.target_web["bastion"]`, `tcp.target_web["blue"]`,
		`tcp.vault_web["here"]`, `tcp.vault_web["bastion"]`, `tcp.vault_web["blue"]`,
		`http.target`, `http.vault`, `http.target_by_name`,
		`dns.db["here"]`, `dns.db["bastion"]`, `dns.db["blue"]`, `dns.target_name`,
		`ping.target["here"]`, `ping.target["bastion"]`,
		`traceroute.target["here"]`, `traceroute.target["bastion"]`,
		`iptables.client_dropped`, `route.target_from_bastion`, `route.target_from_here`,
	} {
		wants[addr] = pass
	}
	assertVerdicts(t, got, wants)
	assertSummary(t, summary, len(wants), 0, 0, 0)
	for addr, v := range got {
		where := ""
		switch {
		case strings.Contains(addr, `["bastion"]`) || strings.HasPrefix(addr, "http.target") || addr == "iptables.client_dropped" || addr == "route.target_from_bastion":
			where = "bastion"
		case strings.Contains(addr, `["blue"]`) || addr == "http.vault":
			where = "blue"
		}
		if v.Vantage != where {
			t.Errorf("%s: vantage %q in the JSON report, want %q", addr, v.Vantage, where)
		}
	}
	xml, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	validateJUnit(t, junit, len(wants))
	if strings.Contains(string(xml), "from bastion") {
		t.Errorf("JUnit says where passing checks ran: only failures have a body")
	}
	noAgentsLeft(t, x.bastion, x.sshd.TempDir)

	// The console report, as a user reads it (and as the docs quote it).
	console := runIn(t, 60*time.Second, x.client.Name(), append([]string{"test", suite}, x.vars()...)...)
	t.Logf("the matrix from the client:\n%s", console.stdout)
	for _, line := range []string{`PASS   tcp.target_web["bastion"] from bastion  (`, `PASS   http.vault from blue  (`, `PASS   tcp.target_web["here"]  (`} {
		if !strings.Contains(console.stdout, line) {
			t.Errorf("console report lacks %q", line)
		}
	}
	noAgentsLeft(t, x.bastion, x.sshd.TempDir)
}

// TestVantageFaults: a changed host key and an unreachable bastion each
// turn that vantage's checks into errors naming it and the cause, in the
// checks' time, while the checks from elsewhere pass.
func TestVantageFaults(t *testing.T) {
	x := newVantageLab(t)
	changed := filepath.Join(t.TempDir(), "known_hosts")
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, _ := os.ReadFile(other + ".pub")
	os.WriteFile(changed, []byte("198.18.1.2 "+string(pub)), 0o600)
	suite := lab.SuiteDir(t, map[string]string{"faults.nettest.hcl": `
variable "key_file" { type = string }
variable "known_hosts" { type = string }
variable "changed" { type = string }

vantage "impostor" {
  ssh {
    host             = "198.18.1.2"
    user             = "root"
    private_key_file = var.key_file
    known_hosts_file = var.changed
  }
}

vantage "gone" {
  ssh {
    host             = "198.18.2.77"
    user             = "root"
    private_key_file = var.key_file
    known_hosts_file = var.known_hosts
  }
}

vantage "unused" {
  ssh {
    host             = "198.18.1.66"
    user             = "nobody"
    private_key_file = "/nonexistent"
    known_hosts_file = "/nonexistent"
  }
}

tcp "web" {
  for_each = { here = "filtered", impostor = "open", gone = "open" }
  from     = vantage[each.key]
  host     = "198.18.2.2"
  port     = 80
  timeout  = "1500ms"
  expect {
    state = each.value
  }
}
`})
	start := time.Now()
	r := runIn(t, 30*time.Second, x.client.Name(), "test", "--json", suite,
		"--var", "key_file="+x.sshd.KeyFile, "--var", "known_hosts="+x.sshd.KnownHosts, "--var", "changed="+changed)
	elapsed := time.Since(start)
	defer logOnFailure(t, "faults suite", r)
	got, summary := verdicts(t, r)
	assertVerdicts(t, got, map[string]want{
		`tcp.web["here"]`:     {status: "pass"},
		`tcp.web["impostor"]`: {status: "error", message: "vantage impostor: the host key of 198.18.1.2:22 has CHANGED: it offered ssh-ed25519 SHA256:"},
		// The bastion forwards the SYN to 198.18.2.77, where nobody
		// answers: no connection within the check's timeout.
		`tcp.web["gone"]`: {status: "error", message: "vantage gone: ssh root@198.18.2.77:22, still connecting after 1.5s (the check's timeout)"},
	})
	assertSummary(t, summary, 1, 0, 2, 0)
	if elapsed > 10*time.Second {
		t.Errorf("the run took %s; the checks' timeouts are 1.5s", elapsed)
	}
	noAgentsLeft(t, x.bastion, x.sshd.TempDir)
}

// TestVantageAgentKilled kills the agent on the bastion while its checks
// run: they error naming the vantage, the checks from here pass, and the
// bastion is left with no agent and no copy.
func TestVantageAgentKilled(t *testing.T) {
	x := newVantageLab(t)
	suite := lab.SuiteDir(t, map[string]string{"killed.nettest.hcl": bastionVantage + `
# Filtered from the bastion too (nothing at .77): each waits its timeout.
tcp "slow" {
  for_each = toset(["1", "2", "3"])
  from     = vantage.bastion
  host     = "198.18.2.77"
  port     = 80
  timeout  = "8s"
  expect {
    state = "filtered"
  }
}

tcp "here" {
  host = "198.18.2.2"
  port = 80
  timeout = "1s"
  expect {
    state = "filtered"
  }
}
`})
	run := startUntilAgent(t, x, "test", "--json", suite,
		"--var", "key_file="+x.sshd.KeyFile, "--var", "known_hosts="+x.sshd.KnownHosts)
	agents := run.agents
	if len(agents) != 1 {
		t.Fatalf("want one agent on the bastion, found %v", agents)
	}
	copied := filepath.Dir(agents[0].argv[0])
	if !strings.HasPrefix(copied, x.sshd.TempDir) {
		t.Errorf("the agent runs from %s, not from a copy in the session's TMPDIR %s", copied, x.sshd.TempDir)
	}
	time.Sleep(time.Second) // its probes are in flight, waiting out 8s
	exec.Command("kill", "-KILL", agents[0].pid).Run()
	select {
	case <-run.done:
	case <-time.After(20 * time.Second):
		t.Fatal("nettest still runs 20s after its agent was killed")
	}
	got, summary := verdicts(t, result{stdout: run.out.String()})
	killed := want{status: "error", message: "vantage bastion: the agent stopped"}
	assertVerdicts(t, got, map[string]want{
		`tcp.slow["1"]`: killed, `tcp.slow["2"]`: killed, `tcp.slow["3"]`: killed,
		"tcp.here": {status: "pass"},
	})
	assertSummary(t, summary, 1, 0, 3, 0)
	t.Logf("the killed agent's checks: %s", got[`tcp.slow["1"]`].Message)
	noAgentsLeft(t, x.bastion, x.sshd.TempDir)
	if _, err := os.Stat(copied); !os.IsNotExist(err) {
		t.Errorf("the agent's copy %s is still on the bastion", copied)
	}
}

// agentRun is a nettest started in the client's namespace, by
// startUntilAgent, that has an agent running on the bastion.
type agentRun struct {
	cmd    *exec.Cmd
	out    *strings.Builder // its stdout
	done   <-chan error     // its exit
	agents []proc           // the agents on the bastion once one appeared; none after 10s
}

// startUntilAgent starts nettest with args in the client's namespace and
// waits, at most 10s, for an agent to run on the bastion. The process is
// killed when the test ends.
func startUntilAgent(t *testing.T, x *vantageLab, args ...string) agentRun {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", x.client.Name(), binary}, args...)...)
	out := &strings.Builder{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	var agents []proc
	for deadline := time.Now().Add(10 * time.Second); len(agents) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		agents = agentProcs(t, x.bastion, true)
	}
	return agentRun{cmd: cmd, out: out, done: done, agents: agents}
}

type proc struct {
	pid  string
	argv []string
}

// agentProcs lists the processes of nettest agents in the namespace: with
// only true, the agents themselves; otherwise also the sh that copied one.
func agentProcs(t *testing.T, h *lab.Host, only bool) []proc {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", h.Name()).Output()
	if err != nil {
		t.Fatal(err)
	}
	var procs []proc
	for _, pid := range strings.Fields(string(out)) {
		b, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		agent := len(argv) > 1 && argv[1] == "agent"
		if agent || (!only && strings.Contains(string(b), "nettest-agent.")) {
			procs = append(procs, proc{pid, argv})
		}
	}
	return procs
}

// noAgentsLeft requires that no agent, nor the script around one, runs on
// the host, and that nothing is left in its sessions' temp directory.
func noAgentsLeft(t *testing.T, h *lab.Host, tmp string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for len(agentProcs(t, h, false)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if procs := agentProcs(t, h, false); len(procs) > 0 {
		t.Errorf("left running on %s: %v", h.Name(), procs)
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left behind on %s: %s", h.Name(), filepath.Join(tmp, e.Name()))
	}
}

// TestVantageInterrupted: Ctrl-C while checks run at the bastion ends the
// run at once (exit 130, the reports written) and leaves nothing running
// or copied on the bastion. validate and plan, before, never connect.
func TestVantageInterrupted(t *testing.T) {
	x := newVantageLab(t)
	suite := lab.SuiteDir(t, map[string]string{"slow.nettest.hcl": bastionVantage + `
vantage "nowhere" {
  ssh {
    host             = "198.18.2.77"
    user             = "root"
    private_key_file = "/nonexistent"
  }
}

tcp "slow" {
  for_each = toset(["1", "2"])
  from     = vantage.bastion
  host     = "198.18.2.77"
  port     = 80
  timeout  = "20s"
  expect {
    state = "filtered"
  }
}
`})
	vars := []string{"--var", "key_file=" + x.sshd.KeyFile, "--var", "known_hosts=" + x.sshd.KnownHosts}
	for _, cmd := range []string{"validate", "plan"} {
		start := time.Now()
		r := runIn(t, 10*time.Second, x.client.Name(), append([]string{cmd, suite}, vars...)...)
		if r.code != 0 || time.Since(start) > 3*time.Second {
			t.Errorf("%s: exit %d after %s\n%s%s", cmd, r.code, time.Since(start), r.stdout, r.stderr)
		}
	}
	if procs := agentProcs(t, x.bastion, false); len(procs) > 0 {
		t.Errorf("validate or plan started agents on the bastion: %v", procs)
	}

	junit := filepath.Join(t.TempDir(), "interrupted.xml")
	run := startUntilAgent(t, x, append([]string{"test", "--json", "--junit=" + junit, suite}, vars...)...)
	cmd := run.cmd
	if len(run.agents) == 0 {
		t.Fatal("no agent appeared on the bastion")
	}
	time.Sleep(500 * time.Millisecond) // the probes are in flight
	start := time.Now()
	cmd.Process.Signal(os.Interrupt) // ip netns exec execs nettest: this is its PID
	select {
	case <-run.done:
	case <-time.After(10 * time.Second):
		t.Fatal("nettest still runs 10s after Ctrl-C")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to stop after Ctrl-C", d)
	}
	got, summary := verdicts(t, result{stdout: run.out.String()})
	for _, k := range []string{`tcp.slow["1"]`, `tcp.slow["2"]`} {
		if got[k].Status != "error" || got[k].Vantage != "bastion" {
			t.Errorf("%s: %+v", k, got[k])
		}
	}
	if !summary.Interrupted {
		t.Errorf("summary not marked interrupted: %+v", summary)
	}
	if _, err := os.Stat(junit); err != nil {
		t.Errorf("no JUnit report after Ctrl-C: %v", err)
	}
	noAgentsLeft(t, x.bastion, x.sshd.TempDir)
}
