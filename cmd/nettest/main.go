// Command nettest runs declarative network tests written in HCL.
//
// The command itself is thin: it parses flags into plain structs, calls the
// schema package to load, the runner to plan and run, and the report package
// to write what happened. Exit codes are the contract CI relies on.
package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	_ "github.com/nettest/nettest/checks/all"
)

// Exit codes of every command.
const (
	exitOK          = 0
	exitFailed      = 1   // a check failed or errored; fmt --check found a file to change
	exitConfig      = 2   // bad configuration or usage: nothing ran
	exitInterrupted = 130 // Ctrl-C or SIGTERM; reports were still written
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version or the VCS revision is shown.
var version = ""

const usage = `Usage: nettest <command> [flags] [PATH...]

nettest checks that the network looks the way you declared it: which hosts
answer, which ports are open and which must stay closed, what a URL returns,
what DNS answers, which firewall rules are installed. Checks live in
*.nettest.hcl files; PATH is a directory holding such files (default: the
current directory) or a file.

Commands:
  demo       Run the built-in quickstart suite against servers nettest starts
             on 127.0.0.1: see what a run looks like, on any machine
  test       Load, plan and run the checks; report each one (exit 0 all passed,
             1 something failed or errored, 2 bad configuration, 130 interrupted)
  validate   Check the files without touching the network (exit 0 valid, 2 invalid)
  plan       Show the checks in the order they would run
  merge      Combine the JSON-lines reports of shards into one report
  graph      Print the dependency graph of the checks in Graphviz DOT
  fmt        Rewrite files in the canonical format (--check: only report)
  kinds      List the check kinds with their arguments, expectations and results
  agent      The far side of a vantage point (nettest starts it itself)
  version    Print the version

Run 'nettest <command> --help' for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.Environ()}))
}

// cli is what a command runs with: its standard streams and its
// environment. Commands read them from here and never from the process
// (os.Getenv, os.Stdout), so that what a command sees is what it was given:
// demo hands the test command its variables in env, and a command can run
// in-process with streams of its own.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// env holds KEY=value entries, as os.Environ; a later entry of a key
	// wins.
	env []string
	// sources, when set, is where the suite's paths are read from instead
	// of the file system (schema.Options.Sources): demo's embedded suite.
	sources fs.FS
}

// getenv returns the value of the environment variable key, or "".
func (c cli) getenv(key string) string {
	for i := len(c.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(c.env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// withEnv returns c with the KEY=value entries added, overriding the
// entries of the same keys.
func (c cli) withEnv(entries ...string) cli {
	c.env = append(slices.Clip(c.env), entries...)
	return c
}

// run executes one command line and returns the exit code.
func run(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitConfig
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "test":
		return cmdTest(rest, c)
	case "validate":
		return cmdValidate(rest, c)
	case "plan":
		return cmdPlan(rest, c)
	case "merge":
		return cmdMerge(rest, c)
	case "graph":
		return cmdGraph(rest, c)
	case "fmt":
		return cmdFmt(rest, c)
	case "demo":
		return cmdDemo(rest, c)
	case "kinds":
		return cmdKinds(rest, c)
	case "agent":
		return cmdAgent(rest, c)
	case "version", "--version", "-version", "-v":
		fmt.Fprintf(stdout, "nettest %s\n", buildVersion())
		return exitOK
	case "help", "--help", "-help", "-h":
		if len(rest) > 0 {
			return run([]string{rest[0], "--help"}, c)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "nettest: unknown command %q\n\n%s", cmd, usage)
	return exitConfig
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && (v == "" || v == "(devel)") {
			v = "devel-" + s.Value[:min(12, len(s.Value))]
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v + " " + info.GoVersion
}
