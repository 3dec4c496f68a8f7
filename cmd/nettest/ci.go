package main

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// defaultProgressEvery is how often a run without a terminal says how far
// it is: often enough that a CI log shows life (and that a CI watching for
// silent jobs does not kill it), rarely enough not to bury the results.
const defaultProgressEvery = 10 * time.Second

// githubReport is the GitHub Actions report when the run is on GitHub
// Actions (GITHUB_ACTIONS=true) or --github asks for it; nil otherwise.
// Annotations go to stdout, where the runner reads workflow commands, or to
// stderr when stdout carries the JSON lines; with annotations false only
// the step summary is written (merge, whose shards annotated already).
func githubReport(forced, annotations, jsonOnStdout bool, c cli) runner.Reporter {
	stdout, stderr := c.stdout, c.stderr
	if !forced && c.getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	opts := report.GitHubOptions{Workspace: c.getenv("GITHUB_WORKSPACE"), StepSummary: c.getenv("GITHUB_STEP_SUMMARY")}
	if annotations || forced {
		opts.Annotations = stdout
		if jsonOnStdout {
			opts.Annotations = stderr
		}
	}
	return report.NewGitHub(opts)
}

// configReports writes the reports a run asked for when its configuration
// is invalid and nothing ran: the JUnit file and the JSON lines hold the
// errors, and on GitHub each is an annotation, so that the pipeline shows
// why instead of finding no report.
func configReports(f *testFlags, suite *schema.Suite, diags hcl.Diagnostics, c cli) {
	stdout, stderr := c.stdout, c.stderr
	diagnostics := report.Diagnostics(diags, suite.Secrets().Redact)
	fail := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(stderr, "nettest: writing %s: %v\n", what, err)
		}
	}
	if f.json {
		fail("the JSON report", report.WriteConfigJSON(stdout, diagnostics))
	}
	if f.jsonFile != "" {
		if file, err := os.Create(f.jsonFile); err != nil {
			fail(f.jsonFile, err)
		} else {
			fail(f.jsonFile, report.WriteConfigJSON(file, diagnostics))
			fail(f.jsonFile, file.Close())
		}
	}
	if f.junit != "" {
		fail(f.junit, report.WriteConfigJUnit(f.junit, diagnostics))
	}
	if f.html != "" {
		fail(f.html, report.WriteConfigHTML(f.html, diagnostics))
	}
	if gh := githubReport(f.github, true, f.json, c); gh != nil {
		outs := report.ConfigOutcomes(diagnostics)
		fail("the GitHub report", report.Replay(gh, len(outs), outs, runner.Summary{Errored: len(outs)}))
	}
}
