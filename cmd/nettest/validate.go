package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
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

func cmdValidate(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	var vars []schema.VarArg
	fs := newFlagSet("validate", validateHelp, stderr)
	addVarFlags(fs, &vars)
	paths, err := parse(fs, args)
	if err != nil {
		return parseError(err)
	}
	plan, code := loadPlan(paths, schema.Options{Vars: vars, Env: c.env, UnknownVariables: true}, nil, c)
	if code != exitOK {
		return code
	}
	fmt.Fprintf(stdout, "Valid: %d checks in %d files.\n", len(plan.Order), len(plan.Suite.FileNames))
	return exitOK
}

func cmdPlan(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	var vars []schema.VarArg
	var sel selectFlags
	fs := newFlagSet("plan", planHelp, stderr)
	addVarFlags(fs, &vars)
	sel.register(fs, "Show")
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
	if !sel.checkSelected(plan, stderr) {
		return exitConfig
	}
	var b strings.Builder
	if part := sel.shardName(); part != "" {
		fmt.Fprintf(&b, "Shard %s: %d of the %d checks of the suite.\n", part, len(plan.Order), len(plan.Suite.Instances))
	}
	fmt.Fprintf(&b, "%d checks in %d files, in run order:\n", len(plan.Order), len(plan.Suite.FileNames))
	// Grouped by where they run, here first, then the vantages in the
	// order they first appear; the numbers stay those of the run order.
	groups := map[string][]int{}
	var places []string
	for n, inst := range plan.Order {
		if _, seen := groups[inst.Vantage]; !seen {
			places = append(places, inst.Vantage)
		}
		groups[inst.Vantage] = append(groups[inst.Vantage], n)
	}
	sort.SliceStable(places, func(a, b int) bool { return places[a] == "" && places[b] != "" })
	for _, place := range places {
		if len(places) > 1 || place != "" {
			if place == "" {
				fmt.Fprintf(&b, "\nFrom here (%d checks):\n", len(groups[place]))
			} else {
				v := plan.Suite.Vantages[place]
				fmt.Fprintf(&b, "\nFrom vantage %s, %s (%d checks):\n", place, v.Where(), len(groups[place]))
				if v.Description != "" {
					fmt.Fprintf(&b, "  # %s\n", v.Description)
				}
			}
		}
		for _, n := range groups[place] {
			planInstance(&b, n, plan.Order[n])
		}
	}
	// Built whole, then redacted: the plan shows arguments, which may hold
	// strings evaluated from a secret.
	_, err = io.WriteString(stdout, plan.Suite.Secrets().Redact(b.String()))
	if err != nil {
		return exitFailed
	}
	return exitOK
}

// planInstance writes the plan's entry for the n-th check of the run.
func planInstance(b *strings.Builder, n int, inst *schema.Instance) {
	r := inst.Range()
	fmt.Fprintf(b, "\n%4d  %s  (%s:%d)\n", n+1, inst.Address, r.Filename, r.Start.Line)
	later := "run"
	if len(inst.Deps) > 0 {
		var deps []string
		for _, d := range inst.Deps {
			deps = append(deps, d.Address)
		}
		later = strings.Join(deps, ", ")
		fmt.Fprintf(b, "        after %s\n", later)
	}
	if inst.Description != "" {
		fmt.Fprintf(b, "        # %s\n", inst.Description)
	}
	if len(inst.Tags) > 0 {
		fmt.Fprintf(b, "        tags: %s\n", strings.Join(inst.Tags, ", "))
	}
	for _, a := range inst.Kind().Args {
		v := inst.Args.GetAttr(a.Name)
		if v.IsNull() {
			continue
		}
		fmt.Fprintf(b, "        %s = %s\n", a.Name, show(v, later))
	}
	names := make([]string, 0, len(inst.Expect))
	for name := range inst.Expect {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(b, "        expect.%s = %s\n", name, show(inst.Expect[name], later))
	}
	if n := len(inst.Check.Asserts); n > 0 {
		fmt.Fprintf(b, "        %d assert(s)\n", n)
	}
	fmt.Fprintf(b, "        timeout %s, %d retries\n", inst.Timeout, inst.Retries)
}

// show writes a planned value; an unknown one names what it waits for.
func show(v cty.Value, after string) string {
	if !v.IsWhollyKnown() {
		return "(known after " + after + ")"
	}
	return checks.Show(v)
}
