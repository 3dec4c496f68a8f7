package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/report"
)

// These tests run the binary inside namespace labs, the way a user runs it
// on a client, a server or a gateway after a deploy, and assert every
// verdict it reports.

// diff is one line of a failing check's diff, in the human form the
// console prints: field, expected, actual.
type diff struct{ Field, Expected, Actual string }

// textDiffs are r's diffs as diff values.
func textDiffs(r report.Result) []diff {
	var out []diff
	for _, d := range r.TextDiffs() {
		out = append(out, diff{d.Field, d.Expected, d.Actual})
	}
	return out
}

// want is the expected verdict on one check: its status, the exact diff
// lines when it fails, and a part of its message when it errors or skips.
type want struct {
	status  string
	diffs   []diff
	message string
}

// runIn runs the binary with args inside the namespace ns ("" for this
// one); see runArgv.
func runIn(t *testing.T, deadline time.Duration, ns string, args ...string) result {
	t.Helper()
	argv := append([]string{binary}, args...)
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	return runArgv(t, deadline, argv...)
}

// runArgv runs a command and kills it when deadline passes, so that a
// check that hangs fails the test instead of hanging it.
func runArgv(t *testing.T, deadline time.Duration, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), deadline, out.String(), errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// verdicts parses the JSON lines of a run: the verdict of each check by
// address, and the summary line.
func verdicts(t *testing.T, r result) (map[string]report.Result, *report.Summary) {
	t.Helper()
	rep, err := report.DecodeJSONL(strings.NewReader(r.stdout), "stdout")
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	got := map[string]report.Result{}
	for _, v := range rep.Results {
		if _, dup := got[v.Address]; dup {
			t.Errorf("%s reported twice", v.Address)
		}
		got[v.Address] = v
	}
	if rep.Summary == nil {
		t.Errorf("no summary line in:\n%s", r.stdout)
		rep.Summary = &report.Summary{}
	}
	return got, rep.Summary
}

// assertVerdicts compares every reported verdict with wants: the same
// addresses, statuses and diffs, and the messages containing the wanted text.
func assertVerdicts(t *testing.T, got map[string]report.Result, wants map[string]want) {
	t.Helper()
	for addr, w := range wants {
		v, ok := got[addr]
		if !ok {
			t.Errorf("%s: not reported", addr)
			continue
		}
		if v.Status != w.status {
			t.Errorf("%s: status %q, want %q (message %q, diffs %+v)", addr, v.Status, w.status, v.Message, v.Diffs)
			continue
		}
		if !slices.Equal(textDiffs(v), w.diffs) {
			t.Errorf("%s: diffs\n  %+v\nwant\n  %+v", addr, textDiffs(v), w.diffs)
		}
		if !strings.Contains(v.Message, w.message) {
			t.Errorf("%s: message %q lacks %q", addr, v.Message, w.message)
		}
	}
	for addr, v := range got {
		if _, ok := wants[addr]; !ok {
			t.Errorf("%s: reported (%s) but not expected", addr, v.Status)
		}
	}
}

// logOnFailure shows what a run printed when the test has failed.
func logOnFailure(t *testing.T, what string, r result) {
	t.Helper()
	if t.Failed() {
		t.Logf("%s exited %d:\n%s%s", what, r.code, r.stdout, r.stderr)
	}
}

// assertSummary compares the summary line's counts.
func assertSummary(t *testing.T, summary *report.Summary, passed, failed, errored, skipped int) {
	t.Helper()
	if summary.Passed != passed || summary.Failed != failed || summary.Errored != errored || summary.Skipped != skipped {
		t.Errorf("summary %+v, want %d passed, %d failed, %d errored, %d skipped", *summary, passed, failed, errored, skipped)
	}
}

// TestLabDeploy is the whole product at work after a deploy: a client and
// a web server on one link. The server runs nginx on 8080 behind an
// iptables REDIRECT from 80, firewalls three database ports three ways and
// runs the DNS server (dnsmasq) the client resolves with. The deploy suite
// runs on the client, the firewall suite on the server, as a user would run
// them, and every verdict of both is asserted.
func TestLabDeploy(t *testing.T) {
	l := lab.New(t)
	client, server := l.Host("client"), l.Host("server")
	clientIf, serverIf := l.Link(client, "198.18.1.1/24", server, "198.18.1.2/24")
	const srv = "198.18.1.2"
	serverMAC := strings.TrimSpace(server.Run(t, "cat", "/sys/class/net/"+serverIf+"/address"))

	server.StartNginx(t, `
		listen 198.18.1.2:8080;
		absolute_redirect off;
		location = /healthz { return 200 "ok\n"; }
		location = /old { return 301 /new; }
		location = /new { return 200 "new\n"; }`)
	server.Iptables(t, "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "80", "-j", "REDIRECT", "--to-ports", "8080")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "5432", "-j", "DROP")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "6379", "-j", "REJECT", "--reject-with", "icmp-host-prohibited")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "3306", "-j", "REJECT")
	server.StartDnsmasq(t, "--listen-address="+srv, "--local=/lab.test/",
		"--host-record=api.lab.test,"+srv, "--mx-host=mail.lab.test,mx.lab.test,10")
	client.Resolv(t, srv)
	client.Hosts(t)

	junit := filepath.Join(t.TempDir(), "deploy.xml")
	suite, _ := filepath.Abs("testdata/lab/deploy")
	r := runIn(t, 30*time.Second, client.Name(), "test", "--json", "--junit="+junit, suite,
		"--var", "server="+srv, "--var", "dns_server="+srv,
		"--var", "client_if="+clientIf, "--var", "server_mac="+serverMAC)
	defer logOnFailure(t, "deploy suite", r)
	if r.code != 1 {
		t.Errorf("exit code %d, want 1 (checks failed)", r.code)
	}
	got, summary := verdicts(t, r)
	pass := want{status: "pass"}
	assertVerdicts(t, got, map[string]want{
		"ping.server":       pass,
		"tcp.app":           pass,
		"tcp.web":           pass,
		"tcp.postgres":      pass,
		"tcp.redis":         pass,
		"tcp.mysql":         pass,
		"http.health":       pass,
		"http.old":          pass,
		"http.old_followed": pass,
		"dns.api":           pass,
		"dns.api_direct":    pass,
		"dns.mail":          pass,
		"dns.retired":       pass,
		"http.api_by_dns":   pass,
		"route.server":      pass,
		"neighbor.server":   pass,
		"traceroute.server": pass,
		"tcp.postgres_wrong": {status: "fail", diffs: []diff{
			{"open", "true", "false (filtered: no answer within the timeout)"},
		}},
		"http.old_wrong": {status: "fail", diffs: []diff{
			{"status", "200", `301 (redirect to "/new")`},
		}},
		"dns.api_wrong": {status: "fail", diffs: []diff{
			{"answers", `["198.18.1.99"]`, `["198.18.1.2"]`},
		}},
		"http.api_wrong_health": {status: "skip", message: "dependency dns.api_wrong did not pass (fail)"},
		"tcp.nope":              {status: "error", message: `cannot resolve host "nope.lab.test"`},
	})
	assertSummary(t, summary, 17, 3, 1, 1)
	deployJUnit := junit

	junit = filepath.Join(t.TempDir(), "firewall.xml")
	suite, _ = filepath.Abs("testdata/lab/gateway")
	r = runIn(t, 30*time.Second, server.Name(), "test", "--json", "--junit="+junit, suite)
	defer logOnFailure(t, "firewall suite", r)
	if r.code != 1 {
		t.Errorf("exit code %d, want 1 (checks failed)", r.code)
	}
	got, summary = verdicts(t, r)
	assertVerdicts(t, got, map[string]want{
		"iptables.redirect_rule":  pass,
		"iptables.forward":        pass,
		"iptables.redis_rejected": pass,
		"iptables.mysql_rejected": pass,
		"iptables.ssh_dropped": {status: "fail", diffs: []diff{
			{"present", "true", `false (the chain holds ["-p tcp -m tcp --dport 5432 -j DROP", ` +
				`"-p tcp -m tcp --dport 6379 -j REJECT --reject-with icmp-host-prohibited", ` +
				`"-p tcp -m tcp --dport 3306 -j REJECT --reject-with icmp-port-unreachable"])`},
		}},
	})
	assertSummary(t, summary, 4, 1, 0, 0)
	// Last: without NETTEST_JUNIT_XSD the schema validation skips.
	countJUnit(t, deployJUnit, 22)
	countJUnit(t, junit, 5)
	lab.ValidateJUnit(t, deployJUnit)
	lab.ValidateJUnit(t, junit)
}

// TestLabFirstResponder runs examples/first-responder in a lab built to
// match it: the storefront host (client) reaches the checkout API (nginx on
// server) through a NAT gateway (router), which is also its DNS server. A
// second run names a NAT gateway that is not on the path: only the
// traceroute check fails, and its diff shows the path it found.
func TestLabFirstResponder(t *testing.T) {
	l := lab.New(t)
	prlimit := lab.RequireBinary(t, "prlimit", "util-linux")
	client, router, server := l.Host("client"), l.Host("router"), l.Host("server")
	l.Link(client, "198.18.10.1/24", router, "198.18.10.254/24")
	toServer, _ := l.Link(router, "198.18.20.254/24", server, "198.18.20.10/24")
	const gw, api = "198.18.10.254", "198.18.20.10"
	client.Run(t, "ip", "route", "add", "default", "via", gw)
	router.Forwarding(t)
	// The server has no route back to the client's network: replies find
	// their way only because the router masquerades, as a NAT gateway does.
	router.Iptables(t, "-t", "nat", "-A", "POSTROUTING", "-o", toServer, "-j", "MASQUERADE")
	// Traceroute asks the router for a Time Exceeded per probe, twice in a
	// row here: without the kernel's rate limit (in the lab's own
	// namespace) a hop never shows as silent.
	if err := router.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/icmp_ratelimit", []byte("0"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	router.StartDnsmasq(t, "--listen-address="+gw, "--local=/lab.test/", "--host-record=checkout.lab.test,"+api)
	client.Resolv(t, gw)
	client.Hosts(t)
	nginxDir := server.StartNginx(t, `
		listen 198.18.20.10:8080;
		location = /healthz { return 200 "ok\n"; }`)
	// Tuned as the example expects of a production nginx, where the
	// machine allows it: raising a hard limit takes CAP_SYS_RESOURCE,
	// which containers often drop even for root.
	pid := nginxPID(t, nginxDir)
	if _, stderr, code := client.Exec(prlimit, "--pid", strconv.Itoa(pid), "--nofile=65536:65536"); code != 0 {
		t.Logf("nginx keeps its open files limit: prlimit: %s", strings.TrimSpace(stderr))
	}
	nofile := softNofile(t, pid)

	// The host limits are the machine's (or the client namespace's): the
	// verdicts follow from the values the kernel holds.
	atLeast := func(path string, min uint64) want {
		var b []byte
		if err := client.Do(func() (err error) { b, err = os.ReadFile(path); return err }); err != nil {
			t.Fatal(err)
		}
		value := strings.TrimSpace(string(b))
		if n, err := strconv.ParseUint(value, 10, 64); err == nil && n >= min {
			return want{status: "pass"}
		}
		t.Logf("%s is %s on this machine, below the example's minimum %d: expecting a failure", path, value, min)
		return want{status: "fail", diffs: []diff{{"value", fmt.Sprintf("at least %d", min), value}}}
	}
	pass := want{status: "pass"}
	wants := map[string]want{
		"dns.checkout":           pass,
		"route.checkout":         pass,
		"neighbor.gateway":       pass,
		"traceroute.checkout":    pass,
		"ping.checkout":          pass,
		"tcp.checkout":           pass,
		"http.health":            pass,
		"http.health_by_name":    pass,
		"sysctl.file_max":        atLeast("/proc/sys/fs/file-max", 262144),
		"sysctl.somaxconn":       atLeast("/proc/sys/net/core/somaxconn", 4096),
		"sysctl.ephemeral_ports": pass,
		"ulimit.nginx":           pass,
	}
	if nofile < 65535 {
		wants["ulimit.nginx"] = want{status: "fail", diffs: []diff{{"nofile", "at least 65535", fmt.Sprintf("%d (of %q (PID %d))", nofile, "nginx", pid)}}}
	}
	// The ulimit check reads the oldest process named nginx, which is ours
	// unless another test started one earlier and still runs it.
	if oldest := oldestNginx(t); oldest != pid {
		t.Logf("ulimit.nginx reads nginx PID %d, started before the lab's (%d) by another test: its verdict is not asserted", oldest, pid)
		delete(wants, "ulimit.nginx")
	}

	suite, _ := filepath.Abs("../../examples/first-responder")
	vars := []string{"--var", "checkout_name=checkout.lab.test", "--var", "checkout_host=" + api, "--var", "gateway=" + gw}
	run := func(natGateway string) {
		t.Helper()
		r := runIn(t, 30*time.Second, client.Name(), append([]string{"test", "--json", suite, "--var", "nat_gateway=" + natGateway}, vars...)...)
		defer logOnFailure(t, "nat_gateway="+natGateway, r)
		got, _ := verdicts(t, r)
		failed := false
		for addr, v := range got {
			failed = failed || v.Status == "fail" || v.Status == "error"
			if _, asserted := wants[addr]; !asserted {
				delete(got, addr)
			}
		}
		if wantCode := map[bool]int{true: 1, false: 0}[failed]; r.code != wantCode {
			t.Errorf("exit code %d, want %d", r.code, wantCode)
		}
		assertVerdicts(t, got, wants)
	}

	run(gw)
	wants["traceroute.checkout"] = want{status: "fail", diffs: []diff{
		{"hops", `via ["198.18.10.99"]`, `["198.18.10.254", "198.18.20.10"] (no "198.18.10.99")`},
	}}
	run("198.18.10.99")
}

// nginxPID finds the nginx started with the configuration directory dir.
func nginxPID(t *testing.T, dir string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 2 && filepath.Base(args[0]) == "nginx" && args[1] == "-p" && args[2] == dir {
			return pid
		}
	}
	t.Fatalf("no nginx process runs with -p %s", dir)
	return 0
}

// softNofile reads the soft limit on open files of pid.
func softNofile(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "Max open files")); len(f) >= 2 && len(f) < len(strings.Fields(line)) {
			n, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no Max open files in /proc/%d/limits", pid)
	return 0
}

// oldestNginx returns the PID of the process named nginx that started
// first (the lowest PID among equals), the one `ulimit { process = "nginx" }`
// reads.
func oldestNginx(t *testing.T) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	best, bestStart := 0, uint64(0)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != "nginx" {
			continue
		}
		// starttime is field 22; fields after the name start at field 3.
		fields := strings.Fields(s[end+1:])
		if len(fields) < 20 {
			continue
		}
		start, _ := strconv.ParseUint(fields[19], 10, 64)
		if best == 0 || start < bestStart || (start == bestStart && pid < best) {
			best, bestStart = pid, start
		}
	}
	return best
}
