package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nettest/nettest/capture"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
	"github.com/nettest/nettest/vantage"
)

const testHelp = `Usage: nettest test [flags] [PATH...]

Loads every *.nettest.hcl file in PATH (default: the current directory),
plans the run and runs the checks in parallel. Each check is reported as it
finishes; failures follow with a field-by-field diff of expected and actual,
and the last line counts them.

Exit codes: 0 every check passed (skips allowed), 1 a check failed or errored,
2 configuration or usage error (nothing ran), 130 interrupted by Ctrl-C or
SIGTERM (the reports are still written; unfinished checks are errors, checks
not started are skipped).

Examples:
  nettest test                                  # the suite in this directory
  nettest test --junit=report.xml ./network     # also write JUnit XML for CI
  nettest test --html=report.html ./network     # and a page to look at
  nettest test --var web_host=10.0.0.5 --run 'tcp\.'  # only the tcp checks
  nettest test --json | jq 'select(.status=="fail")'
  nettest test --tag=security --terraform-outputs=outputs.json ./network
  nettest test --shard=2/3 --json-file=shard-2.jsonl   # one of three CI jobs; then:
  nettest merge --junit=report.xml shard-*.jsonl
  sudo nettest test --capture=pcaps --junit=report.xml  # a pcapng per failing check
`

type testFlags struct {
	parallelism int
	timeout     time.Duration
	vars        []schema.VarArg
	sel         selectFlags
	junit       string
	html        string
	json        bool
	jsonFile    string
	noColor     bool
	verbose     bool
	github      bool
	progress    time.Duration
	capture     string
}

func cmdTest(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	var f testFlags
	fs := newFlagSet("test", testHelp, stderr)
	fs.IntVar(&f.parallelism, "parallelism", runner.DefaultParallelism, "Run at most `N` checks at once. Checks mostly wait on the network (a filtered port\nwaits its whole timeout), not on the CPU, so the default is high: 512 keeps below the\ncommon limit of 1024 open files and runs 1,000 filtered ports in two timeouts. Raise it\nfor larger suites of filtered ports; lower it to go easy on a fragile target.")
	fs.DurationVar(&f.timeout, "timeout", 0, "Default `DURATION` of a check that sets no timeout (default 5s, or the defaults block's).")
	addVarFlags(fs, &f.vars)
	f.sel.register(fs, "Run")
	fs.StringVar(&f.junit, "junit", "", "Write a JUnit XML report to `FILE` (also when interrupted).")
	fs.StringVar(&f.html, "html", "", "Write a self-contained HTML report to `FILE` (also when interrupted): the failures, the reachability\nmatrix, the traceroute paths, the dependency graph and the timing, for a person to look at.")
	fs.BoolVar(&f.json, "json", false, "Print JSON lines on stdout instead of the human report: one per check, then a summary.")
	fs.StringVar(&f.jsonFile, "json-file", "", "Also write the JSON-lines report to `FILE`, beside the human report (or --json). It holds\nevery field the other reports need; 'nettest merge' combines such files from shards.")
	fs.BoolVar(&f.noColor, "no-color", false, "Never colour the output (colour is used only on a terminal anyway; NO_COLOR works too).")
	fs.BoolVar(&f.verbose, "verbose", false, "Also show what every passing check observed.")
	fs.BoolVar(&f.github, "github", false, "Write GitHub Actions annotations (an error on the line of each failed check) and, with\nGITHUB_STEP_SUMMARY set, a Markdown summary. On by itself under GITHUB_ACTIONS=true.")
	fs.DurationVar(&f.progress, "progress", defaultProgressEvery, "Without a terminal (in CI), print a line such as '412/2000 done, 3 failed, 0 errored'\non standard error every `DURATION` while checks run; 0 turns it off. None with --json.")
	fs.StringVar(&f.capture, "capture", "", "Capture the packets of every check's own flows and write DIR/ADDRESS.pcapng for each\ncheck that failed or errored (none for a passing check). Needs CAP_NET_RAW (root).")
	paths, err := parse(fs, args)
	if err != nil {
		return parseError(err)
	}
	if f.parallelism < 1 {
		fmt.Fprintln(stderr, "nettest: --parallelism must be at least 1")
		return exitConfig
	}
	timeoutSet := false
	fs.Visit(func(fl *flag.Flag) { timeoutSet = timeoutSet || fl.Name == "timeout" })
	if f.timeout < 0 || (timeoutSet && f.timeout == 0) {
		// As in a file: a check needs time to answer, and 0 would not
		// mean "no timeout" (every check has one).
		fmt.Fprintf(stderr, "nettest: --timeout must be more than 0, such as 500ms or 3s; got %s\n", f.timeout)
		return exitConfig
	}
	if f.progress < 0 {
		// A negative period is a typo, not a way to say "never": that is 0.
		fmt.Fprintf(stderr, "nettest: --progress must be 0 (no progress lines) or more, such as 30s; got %s\n", f.progress)
		return exitConfig
	}
	if err := f.sel.parse(c.getenv); err != nil {
		fmt.Fprintf(stderr, "nettest: %v\n", err)
		return exitConfig
	}
	// Every report file is checked before anything runs (add a new file
	// flag here): a destination that cannot be written is exit 2 now,
	// not exit 1 after the whole run.
	for _, out := range []struct{ flag, path string }{{"junit", f.junit}, {"json-file", f.jsonFile}, {"html", f.html}} {
		if out.path == "" {
			continue
		}
		if err := checkOutputFile(out.path); err != nil {
			fmt.Fprintf(stderr, "nettest: --%s: %v\n", out.flag, err)
			return exitConfig
		}
	}

	if f.capture != "" {
		if err := capture.Available(); err != nil {
			fmt.Fprintf(stderr, "nettest: --capture: %v\n", err)
			return exitConfig
		}
	}
	var htmlReport runner.Reporter
	if f.html != "" {
		var err error
		if htmlReport, err = report.NewHTML(f.html); err != nil {
			fmt.Fprintf(stderr, "nettest: --html: %v\n", err)
			return exitConfig
		}
	}

	plan, suite, diags, code := loadPlanToRun(paths, schema.Options{Vars: f.vars, Env: c.env, Timeout: f.timeout, Sources: c.sources}, &f.sel, c)
	if code != exitOK {
		configReports(&f, suite, diags, c)
		return code
	}
	if len(plan.Suite.Instances) == 0 {
		// A run that checked nothing must not read as a green one;
		// checkSelected below says the same of --run and --tag.
		fmt.Fprintln(stderr, "nettest: the suite has no checks, so nothing would be tested")
		return exitConfig
	}
	if f.verbose && len(suite.UnusedOutputs) > 0 {
		fmt.Fprintf(stderr, "nettest: Terraform outputs no variable is named after, ignored: %s\n", strings.Join(suite.UnusedOutputs, ", "))
	}
	if !f.sel.checkSelected(plan, stderr) {
		return exitConfig
	}
	if f.sel.part != nil {
		touchBazelShardFile(c.getenv)
	}
	jsonOpts := report.JSONOptions{Shard: f.sel.shardName()}
	var recorder runner.Recorder
	if f.capture != "" {
		rec, err := capture.NewRecorder(f.capture)
		if err != nil {
			fmt.Fprintf(stderr, "nettest: --capture: %v\n", err)
			return exitConfig
		}
		defer rec.Close()
		recorder = rec
	}

	var reporters []runner.Reporter
	if f.json {
		reporters = append(reporters, report.NewJSONWith(stdout, jsonOpts))
	} else {
		tty := false
		if file, ok := stdout.(*os.File); ok {
			tty = report.IsTerminal(file)
		}
		color := tty && !f.noColor && c.getenv("NO_COLOR") == ""
		progress := tty && c.getenv("CI") == ""
		reporters = append(reporters, report.NewConsole(stdout, report.ConsoleOptions{Color: color, Progress: progress, Verbose: f.verbose}))
		if !tty && f.progress > 0 {
			reporters = append(reporters, report.NewProgress(stderr, f.progress))
		}
	}
	if f.junit != "" {
		reporters = append(reporters, report.NewJUnit(f.junit))
	}
	var jsonFile *os.File
	if f.jsonFile != "" {
		// Written as the checks finish, not at the end, so that a run
		// killed outright still leaves the results it had.
		var err error
		if jsonFile, err = os.Create(f.jsonFile); err != nil {
			fmt.Fprintf(stderr, "nettest: --json-file: %v\n", err)
			return exitConfig
		}
		reporters = append(reporters, report.NewJSONWith(jsonFile, jsonOpts))
	}
	reporters = append(reporters, githubReport(f.github, true, f.json, c))
	if htmlReport != nil {
		reporters = append(reporters, htmlReport)
	}

	// The first Ctrl-C cancels the run and the reports are written; stop()
	// then restores the default, so a second one ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	// Vantages connect when their first check runs, and Close ends their
	// agents (and removes what was copied to the far side) before exiting.
	vantages := vantage.NewSet(ctx, plan.Suite.Vantages, vantage.Options{Parallelism: f.parallelism, Version: buildVersion()})
	readyHeap(len(plan.Order))
	sum := plan.Run(ctx, runner.Options{Parallelism: f.parallelism, Reporter: report.Multi(reporters...), Vantages: vantages.Prober, Recorder: recorder})
	vantages.Close()
	stop()
	if jsonFile != nil {
		if err := jsonFile.Close(); err != nil && sum.ReportError == nil {
			sum.ReportError = fmt.Errorf("writing %s: %w", f.jsonFile, err)
		}
	}

	if sum.ReportError != nil {
		fmt.Fprintf(stderr, "nettest: writing the report: %v\n", sum.ReportError)
	}
	switch {
	case sum.Interrupted:
		return exitInterrupted
	case sum.Failed > 0 || sum.Errored > 0 || sum.ReportError != nil:
		return exitFailed
	}
	return exitOK
}
