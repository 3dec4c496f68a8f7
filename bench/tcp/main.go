// Command tcp measures how fast nettest runs many tcp checks, against the
// floor of a bare Go loop dialing the same addresses with the same
// parallelism. Everything happens on loopback: half of the checks hit
// listeners that accept and close, half hit ports that were listened on and
// closed again (the kernel answers with a reset).
//
//	go build -o /tmp/nettest ./cmd/nettest
//	go run ./bench/tcp -nettest=/tmp/nettest -n=2000,10000 -p=256
//
// For each N it prints the wall time, checks per second and, for nettest,
// the CPU time and peak resident set size of the process: its own, as the
// launcher (bench/internal/launcher) starts it. With -capture (root: it needs CAP_NET_RAW) nettest also runs with
// --capture, once on the same suite (every check passes: the cost of
// capturing alone) and once with every expectation inverted (every check
// fails and gets a pcapng file).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nettest/nettest/bench/internal/launcher"
	"github.com/nettest/nettest/bench/internal/loopback"
)

func main() {
	launcher.Serve()
	nettest := flag.String("nettest", "", "path to the nettest binary (empty: only the bare Go loop runs)")
	sizes := flag.String("n", "2000,10000", "comma-separated numbers of checks")
	parallelism := flag.Int("p", 256, "parallelism of both the Go loop and nettest --parallelism")
	listeners := flag.Int("listeners", 500, "open ports (listeners) and as many closed ports; checks cycle over them")
	timeout := flag.Duration("timeout", 5*time.Second, "per-check timeout")
	keep := flag.Bool("keep", false, "keep the generated suites (their directory is printed)")
	withCapture := flag.Bool("capture", false, "also run nettest with --capture (needs root), passing and failing")
	flag.Parse()

	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			fatalf("-n: %q is not a number of checks (at least 2)", f)
		}
		ns = append(ns, n)
	}

	open, err := loopback.OpenPorts(*listeners)
	if err != nil {
		fatalf("%v", err)
	}
	closed, err := loopback.ClosedPorts(*listeners)
	if err != nil {
		fatalf("%v", err)
	}
	dir, err := os.MkdirTemp("", "nettest-bench-tcp-")
	if err != nil {
		fatalf("%v", err)
	}
	if *keep {
		fmt.Fprintf(os.Stderr, "suites in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	// nettest is started by the launcher, so that its peak RSS is its own
	// and not this program's, which holds the listeners and the targets.
	var l *launcher.Launcher
	if *nettest != "" {
		if l, err = launcher.Start(); err != nil {
			fatalf("%v", err)
		}
		defer l.Close()
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "N\trunner\tparallelism\twall\tchecks/s\tCPU\tpeak RSS\tresult\t\n")
	for _, n := range ns {
		targets := make([]target, n)
		for i := range targets {
			if i%2 == 0 {
				targets[i] = target{open[(i/2)%len(open)], true}
			} else {
				targets[i] = target{closed[(i/2)%len(closed)], false}
			}
		}

		goWall, bad := goLoop(targets, *parallelism, *timeout)
		fmt.Fprintf(tw, "%d\tGo dial loop\t%d\t%s\t%.0f\t-\t-\t%s\t\n", n, *parallelism, round(goWall), float64(n)/goWall.Seconds(), okText(n, bad))

		if *nettest != "" {
			suite := filepath.Join(dir, fmt.Sprintf("n%d", n))
			if err := writeSuite(suite, targets, *timeout); err != nil {
				fatalf("%v", err)
			}
			m := runNettest(l, *nettest, suite, *parallelism)
			fmt.Fprintf(tw, "%d\tnettest test --json\t%d\t%s\t%.0f\t%s\t%s\t%s\t\n", n, *parallelism, round(m.wall), float64(n)/m.wall.Seconds(), round(m.cpu), m.peak(), m.summary)
			// The run phase alone, as the summary line measures it: from the
			// first check started to the last reported, without loading.
			fmt.Fprintf(tw, "%d\t  of which running\t%d\t%s\t%.0f\t-\t-\t%.0f%% of the Go loop's rate\t\n", n, *parallelism, round(m.run), float64(n)/m.run.Seconds(), 100*goWall.Seconds()/m.run.Seconds())
			if *withCapture {
				pcaps := filepath.Join(dir, fmt.Sprintf("pcaps%d", n))
				m = runNettest(l, *nettest, suite, *parallelism, "--capture="+pcaps)
				fmt.Fprintf(tw, "%d\t  --capture, all pass\t%d\t%s\t%.0f\t%s\t%s\t%s, %d files\t\n", n, *parallelism, round(m.wall), float64(n)/m.wall.Seconds(), round(m.cpu), m.peak(), m.summary, countFiles(pcaps))
				inverted := make([]target, len(targets))
				for i, t := range targets {
					inverted[i] = target{t.port, !t.open}
				}
				failing := filepath.Join(dir, fmt.Sprintf("n%d-failing", n))
				if err := writeSuite(failing, inverted, *timeout); err != nil {
					fatalf("%v", err)
				}
				m = runNettest(l, *nettest, failing, *parallelism)
				fmt.Fprintf(tw, "%d\t  all fail\t%d\t%s\t%.0f\t%s\t%s\t%s\t\n", n, *parallelism, round(m.wall), float64(n)/m.wall.Seconds(), round(m.cpu), m.peak(), m.summary)
				pcaps = filepath.Join(dir, fmt.Sprintf("pcaps%d-failing", n))
				m = runNettest(l, *nettest, failing, *parallelism, "--capture="+pcaps)
				fmt.Fprintf(tw, "%d\t  --capture, all fail\t%d\t%s\t%.0f\t%s\t%s\t%s, %d files\t\n", n, *parallelism, round(m.wall), float64(n)/m.wall.Seconds(), round(m.cpu), m.peak(), m.summary, countFiles(pcaps))
			}
			// Loading alone, to tell the cost of the suite from the cost
			// of running it.
			m = runNettest(l, *nettest, suite, 0)
			fmt.Fprintf(tw, "%d\tnettest validate\t-\t%s\t%.0f\t%s\t%s\t%s\t\n", n, round(m.wall), float64(n)/m.wall.Seconds(), round(m.cpu), m.peak(), m.summary)
		}
	}
	tw.Flush()
}

// target is one check: a loopback port and whether it should be open.
type target struct {
	port int
	open bool
}

// goLoop dials every target with p workers and returns the wall time and
// how many targets did not come out as expected.
func goLoop(targets []target, p int, timeout time.Duration) (time.Duration, int64) {
	var bad atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < p; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d net.Dialer
			for {
				i := int(next.Add(1)) - 1
				if i >= len(targets) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				c, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(targets[i].port))
				cancel()
				if err == nil {
					c.Close()
				}
				if (err == nil) != targets[i].open {
					if bad.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "first unexpected: port %d (want open=%t): %v\n", targets[i].port, targets[i].open, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), bad.Load()
}

// writeSuite writes one file of plain tcp blocks, one per target.
func writeSuite(dir string, targets []target, timeout time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "defaults {\n  timeout = %q\n}\n\n", timeout.String())
	for i, t := range targets {
		fmt.Fprintf(&b, "tcp \"c%d\" {\n  host = \"127.0.0.1\"\n  port = %d\n  expect {\n    open = %t\n  }\n}\n\n", i, t.port, t.open)
	}
	return os.WriteFile(filepath.Join(dir, "bench.nettest.hcl"), b.Bytes(), 0o644)
}

// measured is what one nettest process cost and reported.
type measured struct {
	wall, cpu time.Duration // of the process; CPU is user plus system
	rss       int64         // peak resident set, KiB
	bounded   bool          // rss is the launcher's own peak: the process's is at most that
	summary   string
	run       time.Duration // the run phase, from the summary line
}

// runNettest runs nettest test on the suite with extra flags (nettest
// validate when p is 0) and measures the process.
func runNettest(l *launcher.Launcher, bin, suite string, p int, extra ...string) measured {
	argv := append(append([]string{bin, "test", "--json", "--parallelism=" + strconv.Itoa(p)}, extra...), suite)
	if p == 0 {
		argv = []string{bin, "validate", suite}
	}
	var stdout, stderr bytes.Buffer
	u, err := l.Run(argv, nil, &stdout, &stderr)
	if err != nil {
		fatalf("running %s: %v", bin, err)
	}
	m := measured{wall: u.Wall, cpu: u.CPU, rss: u.PeakRSS, bounded: u.Bounded(), summary: fmt.Sprintf("exit %d", u.Exit)}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Type                             string
			Passed, Failed, Errored, Skipped int
			DurationMS                       float64 `json:"duration_ms"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Type == "summary" {
			m.summary = fmt.Sprintf("%d passed, %d failed, %d errored", line.Passed, line.Failed, line.Errored)
			m.run = time.Duration(line.DurationMS * float64(time.Millisecond))
		}
	}
	if code := u.Exit; code != 0 && !(code == 1 && strings.Contains(m.summary, "failed")) {
		msg := stderr.String()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		fmt.Fprintf(os.Stderr, "nettest exited %d: %s\n", code, msg)
	}
	return m
}

// peak is the peak RSS as the table shows it, "≤ X MiB" when it is only a
// bound.
func (m measured) peak() string {
	s := fmt.Sprintf("%.1f MiB", float64(m.rss)/1024)
	if m.bounded {
		s = "≤ " + s
	}
	return s
}

// countFiles is the number of files in dir (0 when it does not exist).
func countFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	return len(entries)
}

func okText(n int, bad int64) string {
	if bad == 0 {
		return fmt.Sprintf("%d as expected", n)
	}
	return fmt.Sprintf("%d unexpected", bad)
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/tcp: "+format+"\n", args...)
	os.Exit(2)
}
