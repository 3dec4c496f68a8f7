package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/internal/dag"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Local is one named value of a locals block.
type Local struct {
	Name  string
	Expr  hcl.Expression
	Range hcl.Range
	Value cty.Value
}

// decodeLocals evaluates every local in dependency order, so locals may use
// each other in any order of declaration. Locals may not use check results:
// they are known before anything runs, which keeps for_each and plan exact.
func (s *Suite) decodeLocals(blocks []*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		if b.Type != "locals" {
			continue
		}
		attrs, d := b.Body.JustAttributes()
		diags = append(diags, d...)
		for name, a := range attrs {
			if prev, dup := s.Locals[name]; dup {
				diags = append(diags, duplicate("local value", name, a.NameRange, prev.Range))
				continue
			}
			s.Locals[name] = &Local{Name: name, Expr: a.Expr, Range: a.NameRange}
		}
	}
	if diags.HasErrors() {
		return diags
	}

	// Evaluate in dependency order (references to missing locals are
	// reported by evaluation), and name every cycle.
	locals := make([]*Local, 0, len(s.Locals))
	for _, l := range s.Locals {
		locals = append(locals, l)
	}
	sort.Slice(locals, func(i, j int) bool { return locals[i].Name < locals[j].Name })
	order, cycles := dag.New(locals, s.localDeps).Order()
	values := map[string]cty.Value{}
	for _, l := range order {
		s.ctx.Variables["local"] = cty.ObjectVal(values)
		v, d := l.Expr.Value(s.ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			v = cty.DynamicVal
		}
		l.Value = v
		values[l.Name] = v
	}
	for _, c := range cycles {
		var names []string
		for _, l := range c {
			names = append(names, "local."+l.Name)
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cycle in local values",
			Detail: "These local values refer to each other in a cycle: " + strings.Join(names, " → ") + " → local." + c[0].Name + ".", Subject: c[0].Range.Ptr()})
	}
	s.ctx.Variables["local"] = cty.ObjectVal(values)
	return diags
}

// localDeps are the locals that l refers to; a reference to a local that
// does not exist is left to evaluation, which reports it with a suggestion.
func (s *Suite) localDeps(l *Local) []*Local {
	var out []*Local
	for _, t := range l.Expr.Variables() {
		if t.RootName() != "local" || len(t) < 2 {
			continue
		}
		if attr, ok := t[1].(hcl.TraverseAttr); ok && s.Locals[attr.Name] != nil {
			out = append(out, s.Locals[attr.Name])
		}
	}
	return out
}

// evalKnown evaluates an attribute that must be known at load time and
// converts it to typ.
func evalKnown(a *hcl.Attribute, ctx *hcl.EvalContext, typ cty.Type) (cty.Value, hcl.Diagnostics) {
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Value not known before the run",
			Detail: fmt.Sprintf("The %s argument must be known before any check runs; it cannot depend on another check's result.", a.Name), Subject: a.Expr.Range().Ptr()}}
	}
	conv, err := convert.Convert(v, typ)
	if err != nil || conv.IsNull() {
		why := "it is null"
		if err != nil {
			why = err.Error()
		}
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
			Detail: fmt.Sprintf("The %s argument must be a %s: %s.", a.Name, typ.FriendlyName(), why), Subject: a.Expr.Range().Ptr()}}
	}
	return conv, nil
}
