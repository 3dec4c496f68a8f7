package schema

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
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

// Defaults are the suite-wide values of meta-arguments a check may override.
type Defaults struct {
	Timeout       time.Duration
	Retries       int
	RetryInterval time.Duration
	// Vantage is where checks run that set no `from` of their own: a
	// vantage's name, or empty for here.
	Vantage string
}

// Built-in defaults, used when neither the check, the --timeout flag nor a
// defaults block says otherwise.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultRetryInterval = time.Second
)

var defaultsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "timeout"}, {Name: "retries"}, {Name: "retry_interval"}, {Name: "from"},
}}

func (s *Suite) decodeDefaults(blocks []*hcl.Block, opts Options) hcl.Diagnostics {
	s.Defaults = Defaults{Timeout: DefaultTimeout, RetryInterval: DefaultRetryInterval}
	var diags hcl.Diagnostics
	for i, b := range blocks {
		if i > 0 {
			diags = append(diags, duplicate("defaults block", "defaults", b.DefRange, blocks[0].DefRange))
			continue
		}
		content, d := b.Body.Content(defaultsSchema)
		diags = append(diags, d...)
		diags = append(diags, s.metaDuration(content.Attributes["timeout"], s.ctx, &s.Defaults.Timeout)...)
		diags = append(diags, s.metaDuration(content.Attributes["retry_interval"], s.ctx, &s.Defaults.RetryInterval)...)
		diags = append(diags, s.metaInt(content.Attributes["retries"], s.ctx, &s.Defaults.Retries)...)
		if a := content.Attributes["from"]; a != nil {
			name, _, d := s.evalFrom(a, s.ctx)
			diags = append(diags, d...)
			s.Defaults.Vantage = name
		}
	}
	if opts.Timeout > 0 {
		s.Defaults.Timeout = opts.Timeout
	}
	return diags
}

// metaDuration evaluates a duration meta-argument. It must be known before
// the run: a timeout cannot wait for another check's result.
func (s *Suite) metaDuration(a *hcl.Attribute, ctx *hcl.EvalContext, target *time.Duration) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	v, diags := evalKnown(a, ctx, cty.String)
	if diags.HasErrors() {
		return diags
	}
	if err := checks.ValidDuration(v); err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid duration for " + a.Name, Detail: err.Error() + ".", Subject: a.Expr.Range().Ptr()}}
	}
	d, _ := time.ParseDuration(v.AsString())
	if a.Name == "timeout" && d == 0 {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid duration for timeout", Detail: "A timeout must be longer than zero: nothing may wait forever.", Subject: a.Expr.Range().Ptr()}}
	}
	*target = d
	return nil
}

func (s *Suite) metaInt(a *hcl.Attribute, ctx *hcl.EvalContext, target *int) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	v, diags := evalKnown(a, ctx, cty.Number)
	if diags.HasErrors() {
		return diags
	}
	if err := checks.IntRange(0, 100)(v); err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid value for " + a.Name, Detail: "The value " + err.Error() + ".", Subject: a.Expr.Range().Ptr()}}
	}
	n, _ := v.AsBigFloat().Int64()
	*target = int(n)
	return nil
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
