package schema

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

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
