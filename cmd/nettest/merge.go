package main

import (
	"fmt"
	"os"

	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
)

const mergeHelp = `Usage: nettest merge [flags] REPORT.jsonl...

Combines the JSON-lines reports of a suite's shards (nettest test
--shard=K/N --json-file=REPORT.jsonl, one per CI job) into the reports one
unsharded run would have written: the human report on stdout and, when
asked, the JUnit file, one JSON-lines file and the HTML page. Under GitHub
Actions it also writes the step summary (annotations only with --github:
the shards' jobs annotated already).

Exit codes: 0 every check passed, 1 a check failed or errored (or a shard's
report is missing or unfinished), 2 a report cannot be read (its file and
line are named), two reports hold the same check, or a shard's
configuration was invalid.

Example, in a CI job after the shards:
  nettest merge --junit=nettest.xml --json-file=nettest.jsonl shard-*.jsonl
`

func cmdMerge(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	var junit, jsonFile, html string
	var github, noColor bool
	fs := newFlagSet("merge", mergeHelp, stderr)
	fs.StringVar(&junit, "junit", "", "Write the merged JUnit XML report to `FILE`.")
	fs.StringVar(&jsonFile, "json-file", "", "Write the merged JSON-lines report to `FILE`.")
	fs.StringVar(&html, "html", "", "Write the merged HTML report to `FILE`.")
	fs.BoolVar(&github, "github", false, "Also write GitHub Actions annotations for the failed checks.")
	fs.BoolVar(&noColor, "no-color", false, "Never colour the output.")
	files, err := parse(fs, args)
	if err != nil {
		return parseError(err)
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "nettest merge: name the JSON-lines reports to merge\n\n"+mergeHelp)
		return exitConfig
	}
	for _, out := range []struct{ flag, path string }{{"junit", junit}, {"json-file", jsonFile}, {"html", html}} {
		if out.path == "" {
			continue
		}
		if err := checkOutputFile(out.path); err != nil {
			fmt.Fprintf(stderr, "nettest merge: --%s: %v\n", out.flag, err)
			return exitConfig
		}
	}
	var reports []*report.Report
	for _, name := range files {
		rep, err := report.ReadJSONL(name)
		if err != nil {
			fmt.Fprintf(stderr, "nettest merge: %v\n", err)
			return exitConfig
		}
		reports = append(reports, rep)
	}
	merged, err := report.Merge(reports)
	if err != nil {
		fmt.Fprintf(stderr, "nettest merge: %v\n", err)
		return exitConfig
	}
	for _, w := range merged.Warnings {
		fmt.Fprintf(stderr, "nettest merge: %s\n", w)
	}

	info := report.RunInfo{Started: merged.Summary.Started, Host: merged.Summary.Host}
	tty := false
	if f, ok := stdout.(*os.File); ok {
		tty = report.IsTerminal(f)
	}
	reporters := []runner.Reporter{report.NewConsole(stdout, report.ConsoleOptions{Color: tty && !noColor && c.getenv("NO_COLOR") == ""})}
	if junit != "" {
		reporters = append(reporters, report.NewJUnitWith(junit, info))
	}
	var out *os.File
	if jsonFile != "" {
		if out, err = os.Create(jsonFile); err != nil {
			fmt.Fprintf(stderr, "nettest merge: --json-file: %v\n", err)
			return exitConfig
		}
		reporters = append(reporters, report.NewJSONWith(out, report.JSONOptions{RunInfo: info}))
	}
	if html != "" {
		if err := report.CheckHTMLPath(html); err != nil {
			fmt.Fprintf(stderr, "nettest merge: --html: %v\n", err)
			return exitConfig
		}
	}
	reporters = append(reporters, githubReport(github, false, false, c))

	outcomes := merged.Outcomes()
	sum := merged.RunSummary()
	configErrors := len(outcomes) - len(merged.Results)
	sum.Errored += configErrors
	err = report.Replay(report.Multi(reporters...), merged.Summary.Total+configErrors, outcomes, sum)
	if html != "" && err == nil {
		// From the records themselves, which hold what each check
		// observed (the outcomes replayed above do not): the page of
		// the shards is the page of an unsharded run.
		err = report.WriteHTMLFile(html, merged.Summary, merged.Results)
	}
	if out != nil {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "nettest merge: writing the report: %v\n", err)
		return exitFailed
	}
	switch {
	case configErrors > 0:
		fmt.Fprintln(stderr, "nettest merge: a shard's configuration is invalid: its checks did not run")
		return exitConfig
	case sum.Failed > 0 || sum.Errored > 0 || len(merged.Warnings) > 0 || sum.Interrupted:
		return exitFailed
	}
	return exitOK
}
