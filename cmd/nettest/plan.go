package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// planText is the human view of a plan: the checks in run order, grouped
// by where they run, here first, then the vantages in the order they first
// appear; the numbers stay those of the run order.
func planText(plan *runner.Plan, shard string) string {
	var b strings.Builder
	b.Grow(len(plan.Order) * 160) // about what a plain check's entry takes
	if shard != "" {
		fmt.Fprintf(&b, "Shard %s: %d of the %s of the suite.\n", shard, len(plan.Order), counted(len(plan.Suite.Instances), "check"))
	}
	fmt.Fprintf(&b, "%s in %s, in run order:\n", counted(len(plan.Order), "check"), counted(len(plan.Suite.FileNames), "file"))
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
				fmt.Fprintf(&b, "\nFrom here (%s):\n", counted(len(groups[place]), "check"))
			} else {
				v := plan.Suite.Vantages[place]
				fmt.Fprintf(&b, "\nFrom vantage %s, %s (%s):\n", place, v.Where(), counted(len(groups[place]), "check"))
				if v.Description != "" {
					fmt.Fprintf(&b, "  # %s\n", v.Description)
				}
			}
		}
		planInstances(&b, plan.Order, groups[place])
	}
	return b.String()
}

// planInstances writes the entries of the checks at the positions ns of
// order, in that order. A large plan is written on the cores there are,
// in runs of entries: each worker writes a run into a buffer of its own,
// then waits for the run before it to be appended and appends its own, so
// the text is the one a single loop writes and no more than a run per
// worker is held beside it. Writing 100,000 entries takes ~190 ms of CPU,
// the longest part of plan that ran on one core.
func planInstances(b *strings.Builder, order []*schema.Instance, ns []int) {
	const run = 256 // entries; about 40 KB of text
	runs := (len(ns) + run - 1) / run
	write := func(own *bytes.Buffer, r int) {
		own.Reset()
		for _, n := range ns[r*run : min((r+1)*run, len(ns))] {
			planInstance(own, n, order[n])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), runs/4)
	if workers <= 1 {
		var own bytes.Buffer
		for r := range runs {
			write(&own, r)
			b.Write(own.Bytes())
		}
		return
	}
	// turn[r] is closed once the runs before r are in b.
	turn := make([]chan struct{}, runs+1)
	for r := range turn {
		turn[r] = make(chan struct{})
	}
	close(turn[0])
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var own bytes.Buffer
			for {
				r := int(next.Add(1)) - 1
				if r >= runs {
					return
				}
				write(&own, r)
				<-turn[r]
				b.Write(own.Bytes())
				close(turn[r+1])
			}
		})
	}
	wg.Wait()
}

// planInstance writes the plan's entry for the n-th check of the run.
func planInstance(b *bytes.Buffer, n int, inst *schema.Instance) {
	r := inst.Range()
	skipped := ""
	if skip, _ := inst.Bind(nil).Skip(); skip {
		// Known before the run: the test run will report it skipped.
		skipped = "  skipped: skip is true"
	}
	// Written piece by piece rather than through fmt: a plan of 100,000
	// checks is 600,000 lines.
	b.WriteString("\n")
	num := strconv.Itoa(n + 1)
	for range 4 - len(num) {
		b.WriteByte(' ') // %4d
	}
	b.WriteString(num)
	lines(b, "  ", inst.Address, "  (", r.Filename, ":", strconv.Itoa(r.Start.Line), ")", skipped, "\n")
	later := "run"
	if len(inst.Deps) > 0 {
		later = strings.Join(depAddresses(inst), ", ")
		lines(b, "        after ", later, "\n")
	}
	if inst.Description != "" {
		lines(b, "        # ", inst.Description, "\n")
	}
	if len(inst.Tags) > 0 {
		lines(b, "        tags: ", strings.Join(inst.Tags, ", "), "\n")
	}
	args := inst.Args()
	for n, a := range inst.Kind().Args {
		if n >= len(args) || args[n].IsNull() {
			continue
		}
		lines(b, "        ", a.Name, " = ", show(args[n], later), "\n")
	}
	for _, name := range expectNames(inst.Kind()) {
		if v, ok := inst.Expected(name); ok {
			lines(b, "        expect.", name, " = ", show(v, later), "\n")
		}
	}
	if n := len(inst.Check.Asserts); n > 0 {
		lines(b, "        ", strconv.Itoa(n), " assert(s)\n")
	}
	lines(b, "        timeout ", inst.Timeout.String(), ", ", strconv.Itoa(inst.Retries), " retries\n")
}

// lines writes the strings one after the other.
func lines(b *bytes.Buffer, parts ...string) {
	for _, p := range parts {
		b.WriteString(p)
	}
}

// show writes a planned value; an unknown one names what it waits for.
func show(v cty.Value, after string) string {
	if !v.IsWhollyKnown() {
		return "(known after " + after + ")"
	}
	return checks.Show(v)
}

func depAddresses(inst *schema.Instance) []string {
	deps := make([]string, len(inst.Deps))
	for k, d := range inst.Deps {
		deps[k] = d.Address
	}
	return deps
}

// expectNames are the names of a kind's expectations, sorted: the order
// plan shows a check's expectations in. Worked out once per kind.
func expectNames(k *checks.Kind) []string {
	if names, ok := expectNamesByKind.Load(k); ok {
		return names.([]string)
	}
	names := make([]string, len(k.Expect))
	for n, e := range k.Expect {
		names[n] = e.Name
	}
	sort.Strings(names)
	expectNamesByKind.Store(k, names)
	return names
}

var expectNamesByKind sync.Map // *checks.Kind → []string

// PlanDocument is the JSON view of `nettest plan --json` and `nettest
// validate --json`, documented in the README. Like the JSON-lines report
// it only grows: fields are added, never renamed or removed.
type PlanDocument struct {
	// FormatVersion is "1"; it changes only if a field must change meaning.
	FormatVersion string `json:"format_version"`
	// Valid is false when the configuration has errors; Checks is then
	// empty and Diagnostics says why.
	Valid bool `json:"valid"`
	// Files are the files of the suite, as given on the command line.
	Files []string `json:"files"`
	// Checks are the checks to run, one per for_each key, in run order.
	Checks []PlannedCheck `json:"checks"`
	// Diagnostics are the errors and warnings of loading and planning.
	Diagnostics []report.Diagnostic `json:"diagnostics"`
}

// PlannedCheck is one check instance of a plan.
type PlannedCheck struct {
	Address string `json:"address"`
	Kind    string `json:"kind"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	// Vantage is the vantage it runs from; absent for here.
	Vantage     string   `json:"vantage,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// DependsOn are the checks it waits for, sorted; [] when none.
	DependsOn []string `json:"depends_on"`
	// Arguments are the kind's arguments that are set (by the block or a
	// default), and Expect the expectations written, by name.
	Arguments map[string]PlannedValue `json:"arguments"`
	Expect    map[string]PlannedValue `json:"expect"`
	Asserts   int                     `json:"asserts"`
	Timeout   string                  `json:"timeout"`
	Retries   int                     `json:"retries"`
}

// PlannedValue is a value as the plan knows it: Value when it is known
// before the run; Unknown when it waits for a dependency's result;
// Sensitive (without Value) when it comes from a sensitive variable.
type PlannedValue struct {
	Value     json.RawMessage `json:"value,omitempty"`
	Unknown   bool            `json:"unknown,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

func plannedValue(v cty.Value) PlannedValue {
	switch {
	case v.ContainsMarked():
		return PlannedValue{Sensitive: true}
	case !v.IsWhollyKnown():
		return PlannedValue{Unknown: true}
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return PlannedValue{Value: json.RawMessage(fmt.Sprintf("%q", checks.Show(v)))}
	}
	return PlannedValue{Value: b}
}

// planDocument builds the JSON view of a plan, or of the diagnostics that
// kept one from being made (plan nil).
func planDocument(plan *runner.Plan, suite *schema.Suite, diags []report.Diagnostic) PlanDocument {
	doc := PlanDocument{FormatVersion: "1", Valid: plan != nil, Files: []string{}, Checks: []PlannedCheck{}, Diagnostics: diags}
	if doc.Diagnostics == nil {
		doc.Diagnostics = []report.Diagnostic{}
	}
	if suite != nil {
		doc.Files = append(doc.Files, suite.FileNames...)
	}
	if plan == nil {
		return doc
	}
	for _, inst := range plan.Order {
		r := inst.Range()
		pc := PlannedCheck{Address: inst.Address, Kind: inst.Kind().Name, File: r.Filename, Line: r.Start.Line,
			Vantage: inst.Vantage, Description: inst.Description, Tags: inst.Tags, DependsOn: depAddresses(inst),
			Arguments: map[string]PlannedValue{}, Expect: map[string]PlannedValue{},
			Asserts: len(inst.Check.Asserts), Timeout: inst.Timeout.String(), Retries: inst.Retries}
		sort.Strings(pc.DependsOn)
		args := inst.Args()
		for n, a := range inst.Kind().Args {
			if n < len(args) && !args[n].IsNull() {
				pc.Arguments[a.Name] = plannedValue(args[n])
			}
		}
		for _, e := range inst.Kind().Expect {
			if v, ok := inst.Expected(e.Name); ok {
				pc.Expect[e.Name] = plannedValue(v)
			}
		}
		doc.Checks = append(doc.Checks, pc)
	}
	return doc
}

// writePlanJSON loads and plans, and writes the JSON view on c.stdout:
// the plan, or the diagnostics. Nothing goes to stderr; the exit code is
// that of the human view.
func writePlanJSON(c cli, paths []string, opts schema.Options, sel *selectFlags) int {
	quiet := c
	quiet.stderr = io.Discard
	plan, suite, diags, code := loadPlanDiags(paths, opts, sel, quiet)
	var secrets *schema.Secrets
	if suite != nil {
		secrets = suite.Secrets()
	}
	doc := planDocument(plan, suite, report.Diagnostics(diags, secrets.Redact))
	var why strings.Builder
	if plan != nil && sel != nil && !sel.checkSelected(plan, &why) {
		// As in the human view, a selection that matches nothing is a
		// usage error.
		code, doc.Valid, doc.Checks = exitConfig, false, []PlannedCheck{}
		doc.Diagnostics = append(doc.Diagnostics, report.Diagnostic{Severity: "error", Summary: strings.TrimSpace(strings.TrimPrefix(why.String(), "nettest: "))})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		fmt.Fprintf(c.stderr, "nettest: %v\n", err)
		return exitFailed
	}
	if _, err := io.WriteString(c.stdout, secrets.Redact(string(b))+"\n"); err != nil {
		return exitFailed
	}
	return code
}

// counted is n and the noun, in the plural unless n is 1: "1 file",
// "3 checks".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
