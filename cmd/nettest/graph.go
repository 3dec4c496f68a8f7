package main

import (
	"fmt"

	"github.com/nettest/nettest/schema"
)

const graphHelp = `Usage: nettest graph [flags] [PATH...]

Prints the dependency graph of the checks in Graphviz DOT, as 'terraform
graph' does: a node per check (one per for_each key), an arrow from each
check to the checks that wait for it. Checks whose skip is true before the
run are dashed. Touches no network. Exit code 0, or 2 when the configuration
is invalid.

Examples:
  nettest graph ./network | dot -Tsvg > graph.svg
  nettest graph --run 'http\.' ./network     # the http checks and what they wait for
`

func cmdGraph(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	var vars []schema.VarArg
	var sel selectFlags
	fs := newFlagSet("graph", graphHelp, stderr)
	addVarFlags(fs, &vars)
	sel.register(fs, "Draw")
	paths, err := parse(fs, args)
	if err != nil {
		return parseError(err)
	}
	if err := sel.parse(c.getenv); err != nil {
		fmt.Fprintf(stderr, "nettest: %v\n", err)
		return exitConfig
	}
	plan, code := loadPlan(paths, schema.Options{Vars: vars, Env: c.env}, &sel, c)
	if code != exitOK {
		return code
	}
	if err := plan.WriteDOT(stdout); err != nil {
		return exitFailed
	}
	return exitOK
}
