// Package runner plans and runs a loaded suite: it orders the check
// instances by their dependencies (a DAG), runs them in parallel under a
// bound with timeouts and retries, and streams each outcome to reporters.
// It knows no check kind by name: it calls a kind's probe through the
// checks.Kind it finds on each instance.
package runner

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/internal/dag"
	"github.com/nettest/nettest/schema"
)

// Plan is the run order of a suite: every instance after the instances it
// depends on, otherwise in the order of the files.
type Plan struct {
	Suite *schema.Suite
	// Order lists the instances to run, dependencies first.
	Order []*schema.Instance
	// graph holds the planned instances and their dependencies, for Run
	// to walk.
	graph *dag.Graph[*schema.Instance]
}

// Selection says which instances of a suite are to run; nil selects all.
// --run, --tag and --shard are each one (see Match, Tagged and Shard), and
// All combines them.
type Selection func(*schema.Instance) bool

// All selects the instances every non-nil one of sels selects.
func All(sels ...Selection) Selection {
	var use []Selection
	for _, s := range sels {
		if s != nil {
			use = append(use, s)
		}
	}
	if len(use) == 0 {
		return nil
	}
	return func(i *schema.Instance) bool {
		for _, s := range use {
			if !s(i) {
				return false
			}
		}
		return true
	}
}

// Match selects the instances whose address matches re (--run); a nil re
// selects all.
func Match(re *regexp.Regexp) Selection {
	if re == nil {
		return nil
	}
	return func(i *schema.Instance) bool { return re.MatchString(i.Address) }
}

// Tagged selects the instances that carry at least one of tags (--tag); no
// tags selects all.
func Tagged(tags []string) Selection {
	if len(tags) == 0 {
		return nil
	}
	return func(i *schema.Instance) bool {
		for _, t := range i.Tags {
			if slices.Contains(tags, t) {
				return true
			}
		}
		return false
	}
}

// NewPlan orders the suite's instances. With a selection, only the
// instances it selects run, together with the instances they depend on (a
// check cannot run without the results it refers to). A dependency cycle
// is a diagnostic naming the checks in it.
func NewPlan(s *schema.Suite, sel Selection) (*Plan, hcl.Diagnostics) {
	selected := s.Instances
	if sel != nil {
		keep := map[*schema.Instance]bool{}
		var mark func(*schema.Instance)
		mark = func(i *schema.Instance) {
			if keep[i] {
				return
			}
			keep[i] = true
			for _, d := range i.Deps {
				mark(d)
			}
		}
		for _, i := range s.Instances {
			if sel(i) {
				mark(i)
			}
		}
		selected = nil
		for _, i := range s.Instances {
			if keep[i] {
				selected = append(selected, i)
			}
		}
	}

	p := &Plan{Suite: s, graph: dag.New(selected, func(i *schema.Instance) []*schema.Instance { return i.Deps })}
	order, cycles := p.graph.Order()
	if len(cycles) > 0 {
		return nil, cycleDiagnostics(cycles)
	}
	p.Order = order
	return p, nil
}

// cycleDiagnostics names every cycle, first to last and back to the first.
func cycleDiagnostics(cycles [][]*schema.Instance) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, c := range cycles {
		names := make([]string, 0, len(c)+1)
		for _, i := range c {
			names = append(names, i.Address)
		}
		names = append(names, c[0].Address)
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Dependency cycle between checks",
			Detail:   fmt.Sprintf("These checks depend on each other, so none of them can run first: %s. Remove a reference or a depends_on entry to break the cycle.", strings.Join(names, " → ")),
			Subject:  c[0].Range().Ptr(),
		})
	}
	return diags
}
