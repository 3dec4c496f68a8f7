// Command peers measures nettest beside its floors and its peers on the
// same local targets, whole process against whole process: N tcp, http or
// dns checks run by
//
//   - the floor: this program again (-floor), a bare Go loop doing what one
//     check does (dial; GET on a new connection; one DNS query) with the same
//     parallelism, started as a process of its own like the others;
//   - nettest test --json on a generated suite;
//   - goss validate on the same targets (-goss, for http and dns: goss's tcp
//     resource is addr with a different suite format, and only the rows the
//     issue compares are measured).
//
// Two workloads measure loading: load:N (nettest validate and nettest plan
// of N plain tcp blocks) and foreach:N (validate of one tcp block whose
// for_each goes over a list of N strings, written toset(local.ports) and
// { for p in local.ports : p => p }). Their floor is HCL's parser alone on
// the same file (-floor=parse-pieces, -floor=parse).
//
// The runners alternate for -rounds rounds and each row is the median of its
// wall time, CPU time (user + system) and peak RSS, each child's own (every
// child is started by bench/internal/launcher), beside the ratios to the
// floor and issue 11's target for the row with whether it held.
//
// Everything stays on loopback: listeners and an HTTP server in this
// process, dnsmasq (-dnsmasq) started on a free 127.0.0.1 port answering
// *.bench.test with 127.0.0.1 and forwarding nothing.
//
//	go build -o /tmp/nettest ./cmd/nettest
//	go run ./bench/peers -nettest=/tmp/nettest -goss=/path/to/goss -work=tcp:10000,http:1000,dns:1000
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"
	"github.com/nettest/nettest/bench/internal/launcher"
	"github.com/nettest/nettest/bench/internal/loopback"
)

func main() {
	launcher.Serve()
	nettest := flag.String("nettest", "", "path to the nettest binary (required)")
	goss := flag.String("goss", "", "path to a goss binary; empty leaves goss out")
	baseline := flag.String("baseline", "", "older nettest binaries measured beside the new one in the same rounds: comma-separated PATH or LABEL=PATH")
	dnsmasq := flag.String("dnsmasq", "/usr/sbin/dnsmasq", "path to dnsmasq, the DNS server of the dns rows")
	work := flag.String("work", "tcp:10000,http:1000,dns:1000", "comma-separated KIND:N: tcp, http, dns (N checks), load (validate and plan of N tcp checks), foreach (validate of one for_each over N strings, both spellings)")
	parallelism := flag.Int("p", 50, "parallelism of every runner (goss's default is 50)")
	rounds := flag.Int("rounds", 5, "rounds of alternating runs; each figure is the median")
	floor := flag.String("floor", "", "internal: run as the floor of KIND (tcp, http, dns: a loop over the targets file given as the argument; parse, parse-pieces: parse the file given)")
	keep := flag.Bool("keep", false, "keep the generated suites (their directory is printed)")
	flag.Parse()
	if *floor != "" {
		os.Exit(runFloor(*floor, flag.Arg(0), *parallelism))
	}
	if *nettest == "" {
		fatalf("-nettest is required")
	}
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	dir, err := os.MkdirTemp("", "nettest-bench-peers-")
	if err != nil {
		fatalf("%v", err)
	}
	if *keep {
		fmt.Fprintf(os.Stderr, "suites in %s\n", dir)
	} else {
		atExit(func() { os.RemoveAll(dir) })
	}
	defer cleanup()
	// Ctrl-C or SIGTERM still stops dnsmasq and removes the suites.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cleanup()
		os.Exit(130)
	}()
	// Every runner is started by the launcher, so that its peak RSS is its
	// own and not this program's (see bench/internal/launcher).
	l, err := launcher.Start()
	if err != nil {
		fatalf("%v", err)
	}
	atExit(func() { l.Close() })

	var jobs []workload
	for _, w := range strings.Split(*work, ",") {
		kind, count, _ := strings.Cut(strings.TrimSpace(w), ":")
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			fatalf("-work: %q is not KIND:N with N of at least 1", w)
		}
		jobs = append(jobs, workload{kind: kind, n: n})
	}

	var stopDNS func()
	var launcherRSS int64
	for _, w := range jobs {
		// A table per workload, printed when it is done: a long run shows
		// its figures as it goes.
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "work\trunner\twall\tCPU\tpeak RSS\twall ÷ floor\tCPU ÷ floor\tKiB/check\tresult\ttarget\theld?\t\n")
		base := filepath.Join(dir, fmt.Sprintf("%s%d", w.kind, w.n))
		var t targets
		switch w.kind {
		case "tcp":
			t = tcpTargets(w.n)
		case "http":
			t = httpTargets(w.n)
		case "dns":
			if stopDNS == nil {
				var port int
				port, stopDNS = startDNSMasq(*dnsmasq, dir)
				atExit(stopDNS)
				dnsPort = port
			}
			t = dnsTargets(w.n, dnsPort)
		case "load", "foreach":
		default:
			fatalf("-work: unknown kind %q (tcp, http, dns, load, foreach)", w.kind)
		}
		// The first runner is the floor the ratios are taken to.
		var runners []runner
		floorOf := func(kind, name, file string) runner {
			return runner{name: name, role: roleFloor, cmd: []string{self, "-floor=" + kind, "-p=" + strconv.Itoa(*parallelism), file}, check: floorResult}
		}
		switch w.kind {
		case "load":
			// Loading beside HCL's own parser: the floor is the parse of
			// the same file in pieces on every core, as nettest does it;
			// the parse of the whole file at once is shown beside it.
			suite := write(filepath.Join(base, "suite"), "bench.nettest.hcl", plainSuite(w.n))
			file := filepath.Join(suite, "bench.nettest.hcl")
			runners = append(runners,
				floorOf("parse-pieces", fmt.Sprintf("floor: hclsyntax.ParseConfig, %d KiB pieces on %d cores", pieceSize>>10, runtime.NumCPU()), file),
				floorOf("parse", "hclsyntax.ParseConfig, the whole file", file))
			for _, bin := range binaries(*nettest, *baseline) {
				runners = append(runners,
					bin.runner("validate", []string{"validate", suite}, validResult),
					bin.runner("plan", []string{"plan", suite}, planResult))
			}
		case "foreach":
			// The file is one locals block and one tcp block: it cannot
			// be cut, so the floor is its parse at once.
			for i, spelling := range []string{"toset(local.ports)", "{ for p in local.ports : p => p }"} {
				suite := write(filepath.Join(base, strconv.Itoa(i)), "bench.nettest.hcl", forEachSuite(w.n, spelling))
				if i == 0 {
					runners = append(runners, floorOf("parse", "floor: hclsyntax.ParseConfig (either spelling)", filepath.Join(suite, "bench.nettest.hcl")))
				}
				for _, bin := range binaries(*nettest, *baseline) {
					runners = append(runners, bin.runner("validate, for_each = "+spelling, []string{"validate", suite}, validResult))
				}
			}
		default:
			targetsFile := write(base, "targets", t.lines)
			runners = append(runners, floorOf(w.kind, "floor: bare Go loop", targetsFile))
			if w.kind == "dns" {
				// The floor sends the query a check sends (EDNS0); the
				// plain query is shown beside it, not judged against.
				runners = append(runners, floorOf("dns-plain", "bare Go loop, query without EDNS0", targetsFile))
			}
			suite := write(filepath.Join(base, "suite"), "bench.nettest.hcl", t.nettest)
			for _, bin := range binaries(*nettest, *baseline) {
				runners = append(runners, bin.runner("test --json", []string{"test", "--json", "--parallelism=" + strconv.Itoa(*parallelism), suite}, nettestResult))
			}
			if *goss != "" && t.goss != "" {
				runners = append(runners, runner{name: "goss validate", role: roleGoss, cmd: []string{*goss, "--gossfile", write(base, "goss.yaml", t.goss), "validate", "--format", "json", "--max-concurrent", strconv.Itoa(*parallelism)}, check: gossResult})
			}
		}
		samples := make([][]launcher.Usage, len(runners))
		// Every round's result is shown when they differ: a check that
		// failed once is not hidden by a median.
		results := make([][]string, len(runners))
		for range *rounds {
			for i, r := range runners {
				u, out := measure(l, r.cmd)
				samples[i] = append(samples[i], u)
				if res := r.check(out, w.n, u.Exit); !slices.Contains(results[i], res) {
					results[i] = append(results[i], res)
				}
				launcherRSS = max(launcherRSS, u.LauncherRSS)
			}
		}
		rows := make([]row, len(runners))
		for i, r := range runners {
			rows[i] = row{runner: r, usage: median(samples[i])}
		}
		for i, r := range rows {
			ratio := func(f func(launcher.Usage) time.Duration) string {
				return fmt.Sprintf("%.2f×", f(r.usage).Seconds()/f(rows[0].usage).Seconds())
			}
			wallRatio := ratio(func(u launcher.Usage) time.Duration { return u.Wall })
			cpuRatio := ratio(func(u launcher.Usage) time.Duration { return u.CPU })
			perCheck := "-"
			if kib, ok := kibPerCheck(w, r, rows[0]); ok {
				perCheck = fmt.Sprintf("%.1f", kib)
			}
			rss := fmt.Sprintf("%.1f MiB", float64(r.usage.PeakRSS)/1024)
			if r.usage.Bounded() {
				rss = "≤ " + rss // the launcher's own peak: the child's is at most that
			}
			target, held := verdict(w, r, rows)
			fmt.Fprintf(tw, "%s %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", w.kind, w.n, r.name, round(r.usage.Wall), round(r.usage.CPU),
				rss, wallRatio, cpuRatio, perCheck, strings.Join(results[i], "; "), target, held)
		}
		tw.Flush()
		printPaired(runners, samples)
		fmt.Printf("load average: %s\n", loadavg())
	}
	fmt.Printf("medians of %d alternating rounds, parallelism %d; peak RSS is each child's own (bench/internal/launcher; exact above %.1f MiB, the launcher's own peak)\n",
		*rounds, *parallelism, float64(launcherRSS)/1024)
}

var dnsPort int

// binary is a nettest binary to measure: the new one (label empty) or a
// baseline.
type binary struct{ label, path string }

// binaries are the nettest binaries to measure: the new one, and the
// baselines given.
func binaries(nettest, baselines string) []binary {
	out := []binary{{"", nettest}}
	for _, b := range strings.Split(baselines, ",") {
		if b == "" {
			continue
		}
		label, path, named := strings.Cut(b, "=")
		if !named {
			label, path = "baseline", b
		}
		out = append(out, binary{label, path})
	}
	return out
}

// runner is the binary running task, nettest with args.
func (b binary) runner(task string, args []string, check func(out []byte, n, exit int) string) runner {
	name := "nettest " + task
	if b.label != "" {
		name = "nettest (" + b.label + ") " + task
	}
	return runner{name: name, role: roleNettest, cmd: append([]string{b.path}, args...), check: check, task: task, baseline: b.label}
}

// printPaired compares each baseline with the new binary doing the same
// task, round by round: the two ran one after the other in every round, so
// the mean of their differences cancels what the host's speed did between
// rounds, which moves medians of the same binary by several percent.
func printPaired(runners []runner, samples [][]launcher.Usage) {
	for i, b := range runners {
		if b.baseline == "" {
			continue
		}
		for j, n := range runners {
			if n.role == roleNettest && n.baseline == "" && n.task == b.task {
				wall, cpu := paired(samples[j], samples[i], func(u launcher.Usage) time.Duration { return u.Wall }),
					paired(samples[j], samples[i], func(u launcher.Usage) time.Duration { return u.CPU })
				fmt.Printf("  nettest − %s, %s: wall %s, CPU %s (mean of %d paired differences ± its standard error)\n",
					b.baseline, b.task, wall, cpu, len(samples[i]))
			}
		}
	}
}

// meanSE is a mean and its standard error.
type meanSE struct{ mean, se time.Duration }

func (m meanSE) String() string {
	return fmt.Sprintf("%+.1f ± %.1f ms", float64(m.mean)/1e6, float64(m.se)/1e6)
}

// paired is the mean of f(a[k]) - f(b[k]) over the rounds k, with its
// standard error.
func paired(a, b []launcher.Usage, f func(launcher.Usage) time.Duration) meanSE {
	n := min(len(a), len(b))
	if n == 0 {
		return meanSE{}
	}
	d := make([]float64, n)
	var sum float64
	for k := range n {
		d[k] = float64(f(a[k]) - f(b[k]))
		sum += d[k]
	}
	mean := sum / float64(n)
	if n == 1 {
		return meanSE{mean: time.Duration(mean)}
	}
	var ss float64
	for _, x := range d {
		ss += (x - mean) * (x - mean)
	}
	return meanSE{time.Duration(mean), time.Duration(math.Sqrt(ss / float64(n-1) / float64(n)))}
}

type workload struct {
	kind string
	n    int
}

// targets is one workload written for each runner.
type targets struct {
	lines   []string // for the floor: one target a line
	nettest string
	goss    string
}

// role is what a runner is to the targets: the floor the ratios are taken
// to, nettest (held to the targets) or goss (the peer nettest must beat).
type role int

const (
	roleFloor role = iota
	roleNettest
	roleGoss
)

type runner struct {
	name  string
	role  role
	cmd   []string
	check func(out []byte, n, exit int) string
	// task is what a nettest runner does ("test --json"), and baseline
	// the label of the baseline binary doing it, empty for the new one.
	task, baseline string
}

// row is a runner and its medians.
type row struct {
	runner
	usage launcher.Usage
}

// measure runs argv through the launcher with an environment without
// proxies: no GET may go anywhere but to loopback.
func measure(l *launcher.Launcher, argv []string) (launcher.Usage, []byte) {
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + os.TempDir(), "NO_PROXY=*", "no_proxy=*"}
	var stdout bytes.Buffer
	u, err := l.Run(argv, env, &stdout, nil)
	if err != nil {
		fatalf("running %s: %v", argv[0], err)
	}
	return u, stdout.Bytes()
}

// median is the median of each figure on its own. A peak RSS is marked
// bounded when any sample was.
func median(us []launcher.Usage) launcher.Usage {
	pick := func(f func(launcher.Usage) int64) int64 {
		v := make([]int64, len(us))
		for i, u := range us {
			v[i] = f(u)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m := launcher.Usage{
		Wall:        time.Duration(pick(func(u launcher.Usage) int64 { return int64(u.Wall) })),
		CPU:         time.Duration(pick(func(u launcher.Usage) int64 { return int64(u.CPU) })),
		PeakRSS:     pick(func(u launcher.Usage) int64 { return u.PeakRSS }),
		LauncherRSS: pick(func(u launcher.Usage) int64 { return u.LauncherRSS }),
	}
	for _, u := range us {
		if u.Bounded() {
			m.LauncherRSS = max(m.LauncherRSS, m.PeakRSS)
		}
	}
	return m
}

func floorResult(out []byte, n, exit int) string {
	if exit != 0 {
		return fmt.Sprintf("exit %d: %s", exit, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out))
}

func nettestResult(out []byte, n, exit int) string {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Type                    string
			Passed, Failed, Errored int
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Type == "summary" {
			return fmt.Sprintf("%d of %d passed", line.Passed, n)
		}
	}
	return fmt.Sprintf("exit %d, no summary", exit)
}

func gossResult(out []byte, n, exit int) string {
	var rep struct {
		Summary struct {
			TestCount   int `json:"test-count"`
			FailedCount int `json:"failed-count"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Sprintf("exit %d, unreadable report", exit)
	}
	return fmt.Sprintf("%d of %d tests passed", rep.Summary.TestCount-rep.Summary.FailedCount, rep.Summary.TestCount)
}

// write writes a file below dir and returns the path to hand a runner: the
// directory for a nettest suite, the file otherwise.
func write(dir, name string, content any) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatalf("%v", err)
	}
	var b []byte
	switch c := content.(type) {
	case []string:
		b = []byte(strings.Join(c, "\n") + "\n")
	case string:
		b = []byte(c)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fatalf("%v", err)
	}
	if strings.HasSuffix(name, ".nettest.hcl") {
		return dir
	}
	return path
}

func validResult(out []byte, n, exit int) string {
	return fmt.Sprintf("exit %d: %s", exit, strings.TrimSpace(string(out)))
}

func planResult(out []byte, n, exit int) string {
	return fmt.Sprintf("exit %d, %d lines", exit, bytes.Count(out, []byte("\n")))
}

// plainSuite is n plain tcp blocks, as bench/tcp writes them, for loading
// alone (nothing listens: validate and plan never probe).
func plainSuite(n int) string {
	var b strings.Builder
	b.WriteString("defaults {\n  timeout = \"5s\"\n}\n\n")
	for i := range n {
		fmt.Fprintf(&b, "tcp \"c%d\" {\n  host = \"127.0.0.1\"\n  port = %d\n  expect {\n    open = %t\n  }\n}\n\n", i, 1+i%60000, i%2 == 0)
	}
	return b.String()
}

// forEachSuite is one tcp block with for_each over a local list of n
// distinct strings, spelt as given.
func forEachSuite(n int, spelling string) string {
	var b strings.Builder
	b.WriteString("locals {\n  ports = [\n")
	for i := range n {
		fmt.Fprintf(&b, "    \"%d\",\n", i+1)
	}
	fmt.Fprintf(&b, "  ]\n}\n\ntcp \"p\" {\n  for_each = %s\n  host     = \"127.0.0.1\"\n  port     = each.value\n  expect {\n    open = false\n  }\n}\n", spelling)
	return b.String()
}

// tcpTargets alternates between listeners that accept and close and ports
// that were listened on and closed (a SYN gets a reset), 500 of each.
func tcpTargets(n int) targets {
	open, err := loopback.OpenPorts(500)
	if err != nil {
		fatalf("%v", err)
	}
	closed, err := loopback.ClosedPorts(500)
	if err != nil {
		fatalf("%v", err)
	}
	var t targets
	var b strings.Builder
	b.WriteString("defaults {\n  timeout = \"5s\"\n}\n\n")
	for i := range n {
		port, isOpen := open[(i/2)%len(open)], true
		if i%2 == 1 {
			port, isOpen = closed[(i/2)%len(closed)], false
		}
		t.lines = append(t.lines, fmt.Sprintf("127.0.0.1:%d %t", port, isOpen))
		fmt.Fprintf(&b, "tcp \"c%d\" {\n  host = \"127.0.0.1\"\n  port = %d\n  expect {\n    open = %t\n  }\n}\n\n", i, port, isOpen)
	}
	t.nettest = b.String()
	return t
}

// httpTargets are N URLs of one local server answering 200 "ok".
func httpTargets(n int) targets {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fatalf("listening: %v", err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }))
	var t targets
	var nb, gb strings.Builder
	gb.WriteString("http:\n")
	for i := range n {
		url := fmt.Sprintf("http://%s/c%d", ln.Addr(), i)
		t.lines = append(t.lines, url)
		fmt.Fprintf(&nb, "http \"c%d\" {\n  url = %q\n  expect {\n    status = 200\n  }\n}\n\n", i, url)
		fmt.Fprintf(&gb, "  %s:\n    status: 200\n    timeout: 5000\n", url)
	}
	t.nettest, t.goss = nb.String(), gb.String()
	return t
}

// dnsTargets are N names below bench.test, each answered with 127.0.0.1.
func dnsTargets(n, port int) targets {
	var t targets
	var nb, gb strings.Builder
	gb.WriteString("dns:\n")
	server := fmt.Sprintf("127.0.0.1:%d", port)
	for i := range n {
		name := fmt.Sprintf("c%d.bench.test", i)
		t.lines = append(t.lines, name+" "+server)
		fmt.Fprintf(&nb, "dns \"c%d\" {\n  name   = %q\n  server = %q\n  expect {\n    answers = [\"127.0.0.1\"]\n  }\n}\n\n", i, name, server)
		fmt.Fprintf(&gb, "  A:%s:\n    resolvable: true\n    addrs: [\"127.0.0.1\"]\n    server: %s\n    timeout: 5000\n", name, server)
	}
	t.nettest, t.goss = nb.String(), gb.String()
	return t
}

// startDNSMasq runs dnsmasq on a free loopback port, authoritative for
// nothing and forwarding nothing (no resolv.conf, no servers): it answers
// *.bench.test with 127.0.0.1 and refuses the rest.
func startDNSMasq(path, dir string) (int, func()) {
	port := freePort()
	cmd := exec.Command(path, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
		"--listen-address=127.0.0.1", "--bind-interfaces", "--port="+strconv.Itoa(port), "--address=/bench.test/127.0.0.1",
		"--pid-file="+filepath.Join(dir, "dnsmasq.pid"), "--cache-size=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fatalf("starting dnsmasq: %v", err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	// Wait until it answers.
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("up.bench.test.", dns.TypeA)
	for i := 0; ; i++ {
		if _, _, err := c.Exchange(m, fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return port, stop
		}
		if i == 50 {
			stop()
			fatalf("dnsmasq did not answer on 127.0.0.1:%d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort is a loopback port free for both TCP and UDP, as dnsmasq listens
// on both.
func freePort() int {
	for range 100 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			fatalf("%v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	fatalf("no loopback port free for both TCP and UDP")
	return 0
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// round keeps three figures of a time, and a tenth of a millisecond below
// 100 ms, where start-up is judged against 10 ms.
func round(d time.Duration) time.Duration {
	if d < 100*time.Millisecond {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/peers: "+format+"\n", args...)
	cleanup()
	os.Exit(2)
}

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// atExit registers what cleanup undoes, last registered first.
func atExit(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

// cleanup stops what the benchmark started (dnsmasq) and removes its files,
// once, however it ends.
func cleanup() {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
}
