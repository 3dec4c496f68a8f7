package main

import (
	"fmt"
	"io"

	"github.com/nettest/nettest/schema"
)

const validateHelp = `Usage: nettest validate [flags] [PATH...]

Loads the files and checks everything that can be checked without touching
the network: syntax, unknown arguments and blocks, types, ports, durations,
regular expressions, URLs, references between checks, cycles, variables and
their validation blocks. Every problem is reported with its file, line and
source snippet. Exit code 0 when valid, 2 when not.

No variable values are needed, as with terraform validate: a variable without
a value is unknown, and everything that does not depend on it is checked. A
value that is given (--var, --var-file, NETTEST_VAR_name) is checked too.
`

const planHelp = `Usage: nettest plan [flags] [PATH...]

Shows the checks that 'nettest test' would run, expanded (one line per
for_each key) and in run order: a check comes after the checks it refers to.
Values known only after a dependency has run read "(known after ADDRESS)".
Touches no network. Exit code 0, or 2 when the configuration is invalid.
`

// validateFlags are the flags of nettest validate.
type validateFlags struct {
	vars []schema.VarArg
	json bool
}

func cmdValidate(args []string, c cli) int {
	var f validateFlags
	fs := newFlagSet("validate", validateHelp, c.stderr)
	addVarFlags(fs, &f.vars)
	fs.BoolVar(&f.json, "json", false, "Print the result as one JSON document on stdout (see the README): the checks, or the\ndiagnostics with their source ranges. Nothing is written to stderr.")
	paths, err := parse(fs, args)
	if err != nil {
		return parseError(err)
	}
	opts := schema.Options{Vars: f.vars, Env: c.env, UnknownVariables: true}
	if f.json {
		return writePlanJSON(c, paths, opts, nil)
	}
	plan, code := loadPlan(paths, opts, nil, c)
	if code != exitOK {
		return code
	}
	fmt.Fprintf(c.stdout, "Valid: %s in %s.\n", counted(len(plan.Order), "check"), counted(len(plan.Suite.FileNames), "file"))
	return exitOK
}

// planFlags are the flags of nettest plan.
type planFlags struct {
	vars []schema.VarArg
	sel  selectFlags
	json bool
}

func cmdPlan(args []string, c cli) int {
	var f planFlags
	fs := newFlagSet("plan", planHelp, c.stderr)
	addVarFlags(fs, &f.vars)
	f.sel.register(fs, "Show")
	fs.BoolVar(&f.json, "json", false, "Print the plan as one JSON document on stdout (see the README): every check with its\nfile and line, kind, arguments (known, or unknown until a dependency has run),\ndependencies and vantage, or the diagnostics with their source ranges.")
	paths, err := parse(fs, args)
	if err != nil {
		return parseError(err)
	}
	if err := f.sel.parse(c.getenv); err != nil {
		fmt.Fprintf(c.stderr, "nettest: %v\n", err)
		return exitConfig
	}
	opts := schema.Options{Vars: f.vars, Env: c.env}
	if f.json {
		return writePlanJSON(c, paths, opts, &f.sel)
	}
	plan, code := loadPlan(paths, opts, &f.sel, c)
	if code != exitOK {
		return code
	}
	if !f.sel.checkSelected(plan, c.stderr) {
		return exitConfig
	}
	// Built whole, then redacted: the plan shows arguments, which may hold
	// strings evaluated from a secret.
	if _, err := io.WriteString(c.stdout, plan.Suite.Secrets().Redact(planText(plan, f.sel.shardName()))); err != nil {
		return exitFailed
	}
	return exitOK
}
