package schema

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/checks"
)

// unsupportedAttr is the detail HCL gives for a misspelt attribute of an
// object (var.hsots, self.stauts), without a suggestion.
var unsupportedAttr = regexp.MustCompile(`^This object does not have an attribute named "([^"]+)"\.$`)

// unknownVariable is the detail HCL gives for a root name it does not know.
var unknownVariable = regexp.MustCompile(`^There is no variable named "([^"]+)"\.`)

// explainReferences rewrites HCL's diagnostics about references so that
// they say what to do: "Did you mean" for an attribute an object does not
// have (var.hsots, self.stauts), how to index a check with for_each, and
// why a check's result cannot feed locals or for_each.
func (s *Suite) explainReferences(diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Summary == "Unknown variable" {
			if m := unknownVariable.FindStringSubmatch(d.Detail); m != nil {
				if _, isKind := checks.Lookup(m[1]); isKind {
					d.Summary = "Check result used before the run"
					d.Detail = fmt.Sprintf("Check results, such as %s.NAME.FIELD, are known only at run time, so they cannot feed locals or for_each, which are fixed before anything runs. Use them in a check's arguments, expect or assert blocks instead.", m[1])
				}
			}
			continue
		}
		if d.Summary != "Unsupported attribute" || d.Expression == nil || d.EvalContext == nil {
			continue
		}
		m := unsupportedAttr.FindStringSubmatch(d.Detail)
		if m == nil {
			continue
		}
		st, ok := d.Expression.(*hclsyntax.ScopeTraversalExpr)
		if !ok {
			continue
		}
		for k, step := range st.Traversal {
			attr, ok := step.(hcl.TraverseAttr)
			if !ok || attr.Name != m[1] || k == 0 {
				continue
			}
			if c := s.forEachCheck(st.Traversal, k); c != nil {
				addr := c.Kind.Name + "." + c.Name
				d.Detail = fmt.Sprintf("%s has for_each, so it is one check per key: write %s[\"KEY\"].%s, or refer to every instance with a for expression, such as [for r in %s : r.%s].", addr, addr, m[1], addr, m[1])
				break
			}
			obj, diags := st.Traversal[:k].TraverseAbs(d.EvalContext)
			if diags.HasErrors() || !obj.Type().IsObjectType() {
				break
			}
			if best := closest(m[1], obj.Type().AttributeTypes()); best != "" {
				d.Detail = fmt.Sprintf("This object does not have an attribute named %q. Did you mean %q?", m[1], best)
			}
			break
		}
	}
}

// closest returns the name nearest to typo (at most two edits away, or the
// same but for case), or "".
func closest[V any](typo string, names map[string]V) string {
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	best, bestDist := "", 3
	for _, n := range sorted {
		if strings.EqualFold(n, typo) {
			return n
		}
		if d := levenshtein.Distance(n, typo, nil); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// forEachCheck returns the check with for_each that traversal names with
// its first two steps (KIND.NAME) when the attribute at step k follows them
// directly, without a key; else nil.
func (s *Suite) forEachCheck(traversal hcl.Traversal, k int) *Check {
	if k != 2 || len(traversal) < 2 {
		return nil
	}
	root, ok := traversal[0].(hcl.TraverseRoot)
	name, ok2 := traversal[1].(hcl.TraverseAttr)
	if !ok || !ok2 {
		return nil
	}
	for _, c := range s.Checks {
		if c.Kind.Name == root.Name && c.Name == name.Name && c.ForEach != nil {
			return c
		}
	}
	return nil
}
