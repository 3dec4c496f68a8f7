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
// Two workloads measure loading alone, which has no floor: load:N (nettest
// validate and nettest plan of N plain tcp blocks) and foreach:N (validate
// of one tcp block whose for_each goes over a list of N strings, written
// toset(local.ports) and { for p in local.ports : p => p }).
//
// The runners alternate for -rounds rounds and each row is the median of its
// wall time, CPU time (user + system, getrusage of the child) and peak RSS.
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
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"
	"github.com/nettest/nettest/bench/internal/loopback"
)

func main() {
	nettest := flag.String("nettest", "", "path to the nettest binary (required)")
	goss := flag.String("goss", "", "path to a goss binary; empty leaves goss out")
	baseline := flag.String("baseline", "", "older nettest binaries measured beside the new one in the same rounds: comma-separated PATH or LABEL=PATH")
	dnsmasq := flag.String("dnsmasq", "/usr/sbin/dnsmasq", "path to dnsmasq, the DNS server of the dns rows")
	work := flag.String("work", "tcp:10000,http:1000,dns:1000", "comma-separated KIND:N: tcp, http, dns (N checks), load (validate and plan of N tcp checks), foreach (validate of one for_each over N strings, both spellings)")
	parallelism := flag.Int("p", 50, "parallelism of every runner (goss's default is 50)")
	rounds := flag.Int("rounds", 5, "rounds of alternating runs; each figure is the median")
	floor := flag.String("floor", "", "internal: run as the floor loop of KIND over the targets file given as the argument")
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
	for _, w := range jobs {
		// A table per workload, printed when it is done: a long run shows
		// its figures as it goes.
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "work\trunner\twall\tCPU\tpeak RSS\twall ratio\tCPU ratio\tresult\t\n")
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
		var runners []runner
		hasFloor := true
		switch w.kind {
		case "load":
			// Loading alone, which has no floor: validate and plan of a
			// suite of plain tcp blocks.
			hasFloor = false
			suite := write(filepath.Join(base, "suite"), "bench.nettest.hcl", plainSuite(w.n))
			for _, bin := range binaries(*nettest, *baseline) {
				runners = append(runners,
					runner{name: bin.label + "validate", cmd: []string{bin.path, "validate", suite}, check: validResult},
					runner{name: bin.label + "plan", cmd: []string{bin.path, "plan", suite}, check: planResult})
			}
		case "foreach":
			hasFloor = false
			for _, spelling := range []string{"toset(local.ports)", "{ for p in local.ports : p => p }"} {
				suite := write(filepath.Join(base, strconv.Itoa(len(runners))), "bench.nettest.hcl", forEachSuite(w.n, spelling))
				for _, bin := range binaries(*nettest, *baseline) {
					runners = append(runners, runner{name: bin.label + "validate, for_each = " + spelling, cmd: []string{bin.path, "validate", suite}, check: validResult})
				}
			}
		default:
			runners = []runner{{name: "floor: bare Go loop", cmd: []string{self, "-floor=" + w.kind, "-p=" + strconv.Itoa(*parallelism), write(base, "targets", t.lines)}, check: floorResult}}
			suite := write(filepath.Join(base, "suite"), "bench.nettest.hcl", t.nettest)
			for _, bin := range binaries(*nettest, *baseline) {
				runners = append(runners, runner{name: bin.label + "test --json", cmd: []string{bin.path, "test", "--json", "--parallelism=" + strconv.Itoa(*parallelism), suite}, check: nettestResult})
			}
			if *goss != "" && t.goss != "" {
				runners = append(runners, runner{name: "goss validate", cmd: []string{*goss, "--gossfile", write(base, "goss.yaml", t.goss), "validate", "--format", "json", "--max-concurrent", strconv.Itoa(*parallelism)}, check: gossResult})
			}
		}
		samples := make([][]usage, len(runners))
		results := make([]string, len(runners))
		for range *rounds {
			for i, r := range runners {
				u, out := measure(r.cmd)
				samples[i] = append(samples[i], u)
				results[i] = r.check(out, w.n, u.exit)
			}
		}
		floorU := median(samples[0])
		for i, r := range runners {
			u := median(samples[i])
			wallRatio, cpuRatio := "-", "-"
			if hasFloor {
				wallRatio = fmt.Sprintf("%.2f×", u.wall.Seconds()/floorU.wall.Seconds())
				cpuRatio = fmt.Sprintf("%.2f×", u.cpu.Seconds()/floorU.cpu.Seconds())
			}
			fmt.Fprintf(tw, "%s %d\t%s\t%s\t%s\t%.1f MiB\t%s\t%s\t%s\t\n", w.kind, w.n, r.name, round(u.wall), round(u.cpu),
				float64(u.rss)/1024, wallRatio, cpuRatio, results[i])
		}
		tw.Flush()
		fmt.Printf("load average: %s\n", loadavg())
	}
	fmt.Printf("medians of %d alternating rounds, parallelism %d\n", *rounds, *parallelism)
}

var dnsPort int

type binary struct{ label, path string }

// binaries are the nettest binaries to measure: the new one, and the
// baselines given.
func binaries(nettest, baselines string) []binary {
	out := []binary{{"nettest ", nettest}}
	for _, b := range strings.Split(baselines, ",") {
		if b == "" {
			continue
		}
		label, path, named := strings.Cut(b, "=")
		if !named {
			label, path = "baseline", b
		}
		out = append(out, binary{"nettest (" + label + ") ", path})
	}
	return out
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

type runner struct {
	name  string
	cmd   []string
	check func(out []byte, n, exit int) string
}

type usage struct {
	wall, cpu time.Duration
	rss       int64 // KiB
	exit      int
}

func measure(argv []string) (usage, []byte) {
	cmd := exec.Command(argv[0], argv[1:]...)
	// No proxy may send a GET anywhere but to loopback.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.TempDir(), "NO_PROXY=*", "no_proxy=*"}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.Discard
	start := time.Now()
	_ = cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fatalf("running %s failed", argv[0])
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return usage{wall: wall, cpu: cpu, rss: ru.Maxrss, exit: cmd.ProcessState.ExitCode()}, stdout.Bytes()
}

func median(us []usage) usage {
	pick := func(f func(usage) int64) int64 {
		v := make([]int64, len(us))
		for i, u := range us {
			v[i] = f(u)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return usage{
		wall: time.Duration(pick(func(u usage) int64 { return int64(u.wall) })),
		cpu:  time.Duration(pick(func(u usage) int64 { return int64(u.cpu) })),
		rss:  pick(func(u usage) int64 { return u.rss }),
	}
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

// runFloor is the bare loop: p workers doing what one check does to each
// target of the file, printing how many came out as expected.
func runFloor(kind, file string, p int) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Println(err)
		return 2
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var do func(string) bool
	switch kind {
	case "tcp":
		do = func(line string) bool {
			addr, open, _ := strings.Cut(line, " ")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			}
			return (err == nil) == (open == "true")
		}
	case "http":
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
		do = func(url string) bool {
			resp, err := client.Get(url)
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode == 200
		}
	case "dns":
		do = func(line string) bool {
			name, server, _ := strings.Cut(line, " ")
			c := &dns.Client{Timeout: 5 * time.Second}
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(name), dns.TypeA)
			r, _, err := c.Exchange(m, server)
			if err != nil || len(r.Answer) != 1 {
				return false
			}
			a, ok := r.Answer[0].(*dns.A)
			return ok && a.A.String() == "127.0.0.1"
		}
	default:
		fmt.Printf("unknown kind %q\n", kind)
		return 2
	}
	var next, good atomic.Int64
	var wg sync.WaitGroup
	for range p {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(lines) {
					return
				}
				if do(lines[i]) {
					good.Add(1)
				}
			}
		})
	}
	wg.Wait()
	fmt.Printf("%d of %d as expected\n", good.Load(), len(lines))
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

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

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
