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
	"github.com/nettest/nettest/schema"
)

// Plan is the run order of a suite: every instance after the instances it
// depends on, otherwise in the order of the files.
type Plan struct {
	Suite *schema.Suite
	// Order lists the instances to run, dependencies first.
	Order []*schema.Instance
	// dependents maps an instance to the instances that wait for it.
	dependents map[*schema.Instance][]*schema.Instance
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

	p := &Plan{Suite: s, dependents: map[*schema.Instance][]*schema.Instance{}}
	pending := make(map[*schema.Instance]int, len(selected))
	for _, i := range selected {
		pending[i] = len(i.Deps)
		for _, d := range i.Deps {
			p.dependents[d] = append(p.dependents[d], i)
		}
	}
	// Kahn's algorithm, taking ready instances in file order so the plan
	// reads like the files.
	var ready []*schema.Instance
	for _, i := range selected {
		if pending[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		p.Order = append(p.Order, i)
		for _, d := range p.dependents[i] {
			pending[d]--
			if pending[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	if len(p.Order) < len(selected) {
		return nil, cycleDiagnostic(selected, pending)
	}
	return p, nil
}

// cycleDiagnostic finds one cycle among the instances left unordered and
// names it, first to last and back to the first.
func cycleDiagnostic(selected []*schema.Instance, pending map[*schema.Instance]int) hcl.Diagnostics {
	var start *schema.Instance
	for _, i := range selected {
		if pending[i] > 0 {
			start = i
			break
		}
	}
	// Walk dependencies that are themselves stuck until one repeats.
	seen := map[*schema.Instance]int{}
	var path []*schema.Instance
	cur := start
	for {
		if at, ok := seen[cur]; ok {
			path = path[at:]
			break
		}
		seen[cur] = len(path)
		path = append(path, cur)
		for _, d := range cur.Deps {
			if pending[d] > 0 {
				cur = d
				break
			}
		}
	}
	names := make([]string, 0, len(path)+1)
	for _, i := range path {
		names = append(names, i.Address)
	}
	names = append(names, path[0].Address)
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Dependency cycle between checks",
		Detail:   fmt.Sprintf("These checks depend on each other, so none of them can run first: %s. Remove a reference or a depends_on entry to break the cycle.", strings.Join(names, " → ")),
		Subject:  path[0].Range().Ptr(),
	}}
}
