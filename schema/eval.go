package schema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// evaluate checks, before the run, everything the instance's expressions say:
// meta-arguments, the kind's arguments and expectations, and asserts against
// an unknown self. Values that depend on other checks stay unknown.
func (i *Instance) evaluate() hcl.Diagnostics {
	s := i.suite
	// Only for_each has something of its own to add (each); a context per
	// instance would be two allocations a check for nothing.
	ctx := s.loadCtx
	if i.each != nil {
		ctx = i.child(s.loadCtx)
	}
	c := i.Check
	var diags hcl.Diagnostics

	i.Timeout, i.Retries, i.RetryInterval = s.Defaults.Timeout, s.Defaults.Retries, s.Defaults.RetryInterval
	diags = append(diags, s.metaDuration(c.Meta["timeout"], ctx, &i.Timeout)...)
	diags = append(diags, s.metaDuration(c.Meta["retry_interval"], ctx, &i.RetryInterval)...)
	diags = append(diags, s.metaInt(c.Meta["retries"], ctx, &i.Retries)...)
	i.Vantage = s.Defaults.Vantage
	if a := c.Meta["from"]; a != nil {
		name, _, d := s.evalFrom(a, ctx)
		diags = append(diags, d...)
		i.Vantage = name
	}
	if a := c.Meta["description"]; a != nil {
		v, d := evalKnown(&hcl.Attribute{Name: a.Name, Expr: shownExpr{a.Expr}, Range: a.Range, NameRange: a.NameRange}, ctx, cty.String)
		diags = append(diags, d...)
		if !d.HasErrors() {
			i.Description = v.AsString()
		}
	}
	if a := c.Meta["tags"]; a != nil {
		v, d := evalKnown(a, ctx, cty.List(cty.String))
		diags = append(diags, d...)
		if !d.HasErrors() {
			i.Tags = checks.Strings(v)
		}
	}
	_, d := i.skip(ctx)
	diags = append(diags, d...)

	var known bool
	i.args, known, i.argsMarked, d = i.evalArgs(ctx)
	diags = append(diags, d...)
	// Arguments that depend on no other check are final now: the run uses
	// them as they are instead of evaluating them again for every check,
	// which matters in suites of thousands. (Every function is pure, so a
	// second evaluation could not give another value.)
	i.argsFinal = !d.HasErrors() && known
	probeArgs := i.args
	if i.argsFinal && i.argsMarked {
		i.unmarked = unmarkArgs(i.args)
		probeArgs = i.unmarked
	}
	if v := c.Kind.Validate; v != nil && i.argsFinal {
		if err := v(c.Kind.Object(probeArgs)); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + c.Kind.Name + " check",
				Detail: capitalise(err.Error()) + ".", Subject: c.DeclRange.Ptr()})
		}
	}
	switch {
	case len(c.Expect) == 0:
		i.expect = c.expect // folded at decode, or no expect block
	default:
		i.expect = make([]cty.Value, len(c.Kind.Expect))
		copy(i.expect, c.expect)
		for n, e := range c.Kind.Expect {
			if a, ok := c.Expect[e.Name]; ok {
				v, d := evalTyped(a, ctx, e.Type, e.Validate, "expectation")
				diags = append(diags, d...)
				s.secrets.AddMarked(v)
				i.expect[n] = v
			}
		}
	}
	// Expectations known now are final: judging uses them as they are.
	// Those folded at decode are literals, known without looking (a walk
	// of a list of answers makes an iterator and an index for each).
	i.expectFinal = len(c.Expect) == 0 || allKnown(i.expect)
	i.expectMarked = slices.ContainsFunc(i.expect, func(v cty.Value) bool { return v != cty.NilVal && checks.ContainsMarked(v) })
	if len(c.Asserts) == 0 {
		if written(i.expect) > 0 && allNull(i.expect) {
			diags = append(diags, expectsNothing(c, c.DeclRange))
		}
		return diags
	}
	self := i.child(ctx)
	self.Variables["self"] = cty.UnknownVal(ResultType(c.Kind))
	for _, a := range c.Asserts {
		v, d := a.Condition.Value(self)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if _, err := convert.Convert(v, cty.Bool); err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid assert condition",
					Detail: fmt.Sprintf("The condition must be a bool expression, such as self.duration_ms < 500; this one is a %s.", v.Type().FriendlyName()), Subject: a.Condition.Range().Ptr()})
			}
		}
	}
	return diags
}

// child returns a context below parent holding `each` for this instance.
func (i *Instance) child(parent *hcl.EvalContext) *hcl.EvalContext {
	ctx := parent.NewChild()
	ctx.Variables = map[string]cty.Value{}
	if i.each != nil {
		ctx.Variables["each"] = *i.each
	}
	return ctx
}

// Bound is an instance together with what its dependencies observed: the
// one view a run needs of it, to decide whether it is skipped, to work out
// the arguments of its probe and to judge what the probe saw.
type Bound struct {
	i   *Instance
	ctx *hcl.EvalContext
}

// Bind binds the instance to the results of its dependencies; results maps
// each dependency to what it observed (a dependency without a result reads
// unknown, as before the run, which is how plan and validate bind nil).
func (i *Instance) Bind(results map[*Instance]cty.Value) Bound {
	return Bound{i: i, ctx: i.runContext(results)}
}

// Instance is the bound instance.
func (b Bound) Instance() *Instance { return b.i }

// Skip evaluates the skip meta-argument; a check without one is not
// skipped. A skip that depends on a result not known yet reads false.
func (b Bound) Skip() (bool, hcl.Diagnostics) { return b.i.skip(b.ctx) }

// ProbeArgs evaluates the kind's arguments as the kind's probe receives
// them: each converted to its type, validated when known, absent ones set
// to their default, without marks. sensitive says whether one of them held
// a sensitive value. Final arguments were worked out once, at load.
func (b Bound) ProbeArgs() (args checks.Args, sensitive bool, diags hcl.Diagnostics) {
	if b.i.argsFinal && b.i.argsMarked {
		return b.i.unmarked, true, nil
	}
	if b.i.argsFinal {
		return b.i.args, false, nil
	}
	args, _, sensitive, diags = b.i.evalArgs(b.ctx)
	if sensitive {
		args = unmarkArgs(args)
	}
	return args, sensitive, diags
}

// unmarkArgs is args without marks, in a new slice.
func unmarkArgs(args checks.Args) checks.Args {
	out := make(checks.Args, len(args))
	for n, v := range args {
		out[n], _ = v.UnmarkDeep()
	}
	return out
}

// runContext is the evaluation context of the instance once its
// dependencies have run. Only the dependencies are in it, so building it
// costs what the instance refers to, not the size of the suite.
func (i *Instance) runContext(results map[*Instance]cty.Value) *hcl.EvalContext {
	if len(i.Deps) == 0 && i.each == nil {
		return i.suite.ctx // nothing of its own to add: most checks of a large suite
	}
	perCheck := map[*Check]map[string]cty.Value{}
	single := map[*Check]cty.Value{}
	for _, dep := range i.Deps {
		v, ok := results[dep]
		if !ok || v == cty.NilVal {
			v = cty.UnknownVal(ResultType(dep.Check.Kind))
		}
		if dep.Key == cty.NilVal {
			single[dep.Check] = v
			continue
		}
		if perCheck[dep.Check] == nil {
			perCheck[dep.Check] = map[string]cty.Value{}
		}
		perCheck[dep.Check][dep.Key.AsString()] = v
	}
	kinds := map[string]map[string]cty.Value{}
	put := func(c *Check, v cty.Value) {
		if kinds[c.Kind.Name] == nil {
			kinds[c.Kind.Name] = map[string]cty.Value{}
		}
		kinds[c.Kind.Name][c.Name] = v
	}
	for c, v := range single {
		put(c, v)
	}
	for c, m := range perCheck {
		put(c, cty.ObjectVal(m))
	}
	ctx := i.child(i.suite.ctx)
	for kind, m := range kinds {
		ctx.Variables[kind] = cty.ObjectVal(m)
	}
	return ctx
}

func (i *Instance) skip(ctx *hcl.EvalContext) (bool, hcl.Diagnostics) {
	a := i.Check.Meta["skip"]
	if a == nil {
		return false, nil
	}
	v, diags := evalTyped(a, ctx, cty.Bool, nil, "argument")
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() {
		return false, diags
	}
	v, _ = v.Unmark()
	return v.True(), diags
}

// evalArgs evaluates the kind's arguments, a value for each, and says
// whether they are wholly known and whether they hold marks.
func (i *Instance) evalArgs(ctx *hcl.EvalContext) (args checks.Args, known, marked bool, diags hcl.Diagnostics) {
	c := i.Check
	if len(c.Args) == 0 && c.args != nil {
		return c.args, true, false, nil // every argument was folded at decode
	}
	known = true
	args = make(checks.Args, len(c.Kind.Args))
	for n, arg := range c.Kind.Args {
		if c.args != nil && c.args[n] != cty.NilVal {
			args[n] = c.args[n]
			continue
		}
		a, ok := c.Args[arg.Name]
		if !ok {
			if arg.Default != cty.NilVal {
				args[n] = arg.Default
			} else {
				args[n] = cty.NullVal(arg.Type)
			}
			continue
		}
		v, d := evalTyped(a, ctx, arg.Type, arg.Validate, "argument")
		diags = append(diags, d...)
		if v.IsNull() && arg.Default != cty.NilVal {
			v = arg.Default
		}
		if v.IsNull() && arg.Required {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing value for required argument",
				Detail: fmt.Sprintf("The argument %q is required; it cannot be null.", arg.Name), Subject: a.Expr.Range().Ptr()})
		}
		args[n] = v
		if v.Type().IsPrimitiveType() {
			known = known && v.IsKnown()
			marked = marked || v.IsMarked()
		} else {
			known = known && v.IsWhollyKnown()
			marked = marked || v.ContainsMarked()
		}
	}
	// What is sent (a header, a URL, a DNS name) is as secret as the
	// variable it was built from: the protocol or the server may give it
	// back whole, or encoded, where marks cannot follow.
	if marked {
		for _, v := range args {
			i.suite.secrets.AddMarked(v)
		}
	}
	return args, known, marked, diags
}

// evalTyped evaluates an attribute, converts it to typ and, when it is
// known, runs the validator. On error it returns an unknown value of typ so
// evaluation can go on and find further problems.
func evalTyped(a *hcl.Attribute, ctx *hcl.EvalContext, typ cty.Type, validate func(cty.Value) error, what string) (cty.Value, hcl.Diagnostics) {
	v, constant := constValue(a)
	var diags hcl.Diagnostics
	if !constant {
		v, diags = a.Expr.Value(ctx)
	}
	if diags.HasErrors() {
		return cty.UnknownVal(typ), diags
	}
	conv, err := convert.Convert(v, typ)
	if err != nil {
		return cty.UnknownVal(typ), hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
			Detail:      fmt.Sprintf("Inappropriate value for %s %q: %s.", what, a.Name, err),
			Subject:     a.Expr.Range().Ptr(),
			Expression:  a.Expr,
			EvalContext: ctx,
		}}
	}
	if validate != nil && conv.IsWhollyKnown() && !conv.IsNull() {
		plain, _ := conv.Unmark()
		if !plain.Type().IsPrimitiveType() {
			plain, _ = conv.UnmarkDeep()
		}
		if err := validate(plain); err != nil {
			detail := err.Error()
			if conv.ContainsMarked() {
				detail = "the value, which is sensitive, is not valid"
			}
			return cty.UnknownVal(typ), hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Invalid value for %s %q", what, a.Name),
				Detail: capitalise(detail) + ".", Subject: a.Expr.Range().Ptr()}}
		}
	}
	return conv, nil
}

// constValue is the value of an attribute written as a literal (a number,
// true, false, null, or a quoted string without templates), which is what
// its expression's Value gives, without the evaluation: hclsyntax renders
// even a one-part template through a buffer, refinements and marks, a few
// allocations for every argument of a large suite. The value cannot depend
// on anything, so a constant has no references either.
func constValue(a *hcl.Attribute) (cty.Value, bool) {
	if a == nil {
		return cty.NilVal, false
	}
	switch e := a.Expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		return e.Val, true
	case *hclsyntax.TemplateExpr:
		if len(e.Parts) != 1 {
			return cty.NilVal, false
		}
		lit, ok := e.Parts[0].(*hclsyntax.LiteralValueExpr)
		if !ok || lit.Val.Type() != cty.String || !lit.Val.IsKnown() || lit.Val.IsNull() || lit.Val.IsMarked() {
			return cty.NilVal, false
		}
		return lit.Val, true
	}
	return cty.NilVal, false
}

// DiffValues are the expected and observed values behind one diff, for the
// machine reports that carry values rather than their HCL text. Expected is
// cty.NilVal when it is sensitive; Observed is the result's field of the
// diff's name (null when the result has none).
type DiffValues struct {
	Expected, Observed cty.Value
}

// Verdict is what judging one observation came to. Each unmet expectation
// or false assert is one diff, with its values at the same index of Values;
// Messages are the error_message of the asserts that failed. A diagnostic
// means the verdict itself could not be reached (an expression failed),
// which makes the check an error rather than a failure.
type Verdict struct {
	Diffs    []checks.Diff
	Values   []DiffValues
	Messages []string
	Diags    hcl.Diagnostics
}

// Judge compares what the probe observed with the instance's expectations
// (through the kind's own Judge, as kinds' tests do) and asserts.
func (b Bound) Judge(result checks.Result) Verdict {
	diffs, values, messages, diags := b.i.judge(b.ctx, result)
	return Verdict{Diffs: diffs, Values: values, Messages: messages, Diags: diags}
}

func (i *Instance) judge(ctx *hcl.EvalContext, result checks.Result) (diffs []checks.Diff, values []DiffValues, messages []string, diags hcl.Diagnostics) {
	c := i.Check
	// As known before the run, when that is all of it (see eval). The
	// rare rest, expectations that refer to other checks and asserts,
	// is in functions of their own, which keeps the frame of the path
	// nearly every check takes small.
	want := i.expect
	if !i.expectFinal {
		want, diags = i.expectations(ctx)
	}
	if want != nil {
		judge := c.Kind.JudgeValues
		if i.expectFinal && !i.expectMarked {
			judge = c.Kind.JudgeUnmarked
		}
		if unmet := judge(want, result); len(unmet) > 0 {
			diffs, values = unmetDiffs(unmet, want, result)
		}
	}
	if len(c.Asserts) > 0 {
		return i.asserts(ctx, result, diffs, values, diags)
	}
	if !i.expectFinal && !diags.HasErrors() && written(want) > 0 && allNull(want) {
		// Every expectation was null once known: nothing was checked. (A
		// final one was told at load.)
		diags = append(diags, expectsNothing(c, c.DeclRange))
	}
	return diffs, values, nil, diags
}

// expectations are the instance's expected values, evaluated now when
// some were not known before the run. c.Expect is nil once the
// expectations were all known at load (see dropFinalSyntax), and i.expect
// is then all of them.
func (i *Instance) expectations(ctx *hcl.EvalContext) (want []cty.Value, diags hcl.Diagnostics) {
	c := i.Check
	want = i.expect
	if allKnown(want) && (want != nil || len(c.Expect) == 0) {
		return want, nil
	}
	want = make([]cty.Value, len(c.Kind.Expect))
	for n, e := range c.Kind.Expect {
		var w cty.Value
		if i.expect != nil {
			w = i.expect[n]
		}
		a, ok := c.Expect[e.Name]
		if !ok {
			want[n] = w // folded at decode, or not written
			continue
		}
		if w == cty.NilVal || !w.IsWhollyKnown() { // it depends on another check's result
			var d hcl.Diagnostics
			w, d = evalTyped(a, ctx, e.Type, e.Validate, "expectation")
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			i.suite.secrets.AddMarked(w)
		}
		want[n] = w
	}
	return want, diags
}

// unmetDiffs are the diffs of the unmet expectations and their values.
func unmetDiffs(unmet []checks.Unmet, want []cty.Value, result checks.Result) (diffs []checks.Diff, values []DiffValues) {
	for _, u := range unmet {
		diff := u.Diff
		dv := DiffValues{Expected: u.Want, Observed: checks.Field(result.Value(), diff.Field)}
		if want[u.Index].ContainsMarked() {
			diff.Expected = "(sensitive value)"
			dv.Expected = cty.NilVal
		}
		diffs = append(diffs, diff)
		values = append(values, dv)
	}
	return diffs, values
}

// asserts adds the verdicts of the check's assert blocks on result to
// those of its expectations.
func (i *Instance) asserts(ctx *hcl.EvalContext, result checks.Result, diffs []checks.Diff, values []DiffValues, diags hcl.Diagnostics) ([]checks.Diff, []DiffValues, []string, hcl.Diagnostics) {
	var messages []string
	self := i.child(ctx)
	self.Variables["self"] = result.Value()
	for _, a := range i.Check.Asserts {
		v, d := a.Condition.Value(self)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		v, _ = v.UnmarkDeep()
		ok, err := convert.Convert(v, cty.Bool)
		if err != nil || ok.IsNull() || !ok.IsKnown() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid assert condition",
				Detail: "The condition did not give true or false.", Subject: a.Condition.Range().Ptr()})
			continue
		}
		if ok.True() {
			continue
		}
		msg := "assert failed: " + a.Text
		if a.ErrorMessage != nil {
			if m, d := showString(a.ErrorMessage, self); !d.HasErrors() && m.Type() == cty.String && m.IsKnown() && !m.IsNull() {
				msg = m.AsString()
			}
		}
		messages = append(messages, msg)
		diffs = append(diffs, checks.Diff{Field: "assert", Expected: a.Text, Actual: "false: " + msg})
		values = append(values, DiffValues{Expected: cty.True, Observed: cty.False})
	}
	return diffs, values, messages, diags
}

// Redact replaces every secret of the suite in text (see Secrets).
func (s *Suite) Redact(text string) string {
	return s.Secrets().Redact(text)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// allNull reports whether every value written (not cty.NilVal) is known
// and null.
func allNull(values []cty.Value) bool {
	for _, v := range values {
		if v != cty.NilVal && (!v.IsKnown() || !v.IsNull()) {
			return false
		}
	}
	return true
}

// written counts the values that are not cty.NilVal.
func written(values []cty.Value) int {
	n := 0
	for _, v := range values {
		if v != cty.NilVal {
			n++
		}
	}
	return n
}
