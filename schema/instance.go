package schema

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Instance is one check to run: a check block, or one key of its for_each.
type Instance struct {
	Check *Check
	// Key is the for_each key, or cty.NilVal for a block without for_each.
	Key cty.Value
	// Address is KIND.NAME or KIND.NAME["KEY"], Terraform's spelling.
	Address string
	// Deps are the instances this one refers to or names in depends_on,
	// sorted by address. They run first and must pass.
	Deps []*Instance

	Description   string
	Tags          []string
	Timeout       time.Duration
	Retries       int
	RetryInterval time.Duration
	// Vantage names the vantage the check runs from (its `from`, or the
	// defaults block's); empty means here, where nettest runs.
	Vantage string

	// args holds the kind's arguments as known before the run, with their
	// marks; values that depend on another check are unknown here.
	args checks.Args
	// expect holds the expected values as known before the run, one for
	// each of the kind's Expect list, cty.NilVal where none is written.
	// Slices, not a cty object and a map: a suite holds them for every
	// check (see checks.Args).
	expect []cty.Value

	argsFinal    bool        // args is wholly known: the run need not evaluate it again
	expectFinal  bool        // expect is wholly known: the same for the expectations
	expectMarked bool        // some expected value holds a sensitive value
	argsMarked   bool        // some argument holds a sensitive value
	unmarked     checks.Args // args without marks, when final and marked
	each         *cty.Value  // the each object; nil without for_each
	suite        *Suite
}

// Args are the kind's arguments as known before the run, a value for each
// of Kind.Args in that order, with the marks of sensitive values; those
// that depend on another check are unknown.
func (i *Instance) Args() checks.Args { return i.args }

// Arg is the argument of the given name as known before the run.
func (i *Instance) Arg(name string) cty.Value {
	for n, a := range i.Check.Kind.Args {
		if a.Name == name && n < len(i.args) {
			return i.args[n]
		}
	}
	return cty.NilVal
}

// Expected is the expected value of the expectation name as known before
// the run, and whether the check's expect block writes it.
func (i *Instance) Expected(name string) (cty.Value, bool) {
	for n, e := range i.Check.Kind.Expect {
		if e.Name == name && n < len(i.expect) && i.expect[n] != cty.NilVal {
			return i.expect[n], true
		}
	}
	return cty.NilVal, false
}

// Kind is the instance's check kind.
func (i *Instance) Kind() *checks.Kind { return i.Check.Kind }

// Range is where the instance's block is declared.
func (i *Instance) Range() hcl.Range { return i.Check.DeclRange }

// expand turns check blocks into instances, resolves the references between
// them and evaluates everything that is known before the run, so that wrong
// types, bad values and unknown references are found now.
func (s *Suite) expand() hcl.Diagnostics {
	var diags hcl.Diagnostics
	byCheck := make(map[*Check][]*Instance, len(s.Checks))
	index := make(map[string]*Check, len(s.Checks))
	// A check without for_each is one instance, whose address is the
	// check's: those instances are made in one allocation and their lists
	// in another, instead of two allocations and the address twice a check.
	single := 0
	for _, c := range s.Checks {
		if c.ForEach == nil {
			single++
		}
	}
	slab, lists := make([]Instance, single), make([]*Instance, single)
	s.Instances = make([]*Instance, 0, len(s.Checks))
	k := 0 // the next of slab and lists
	for _, c := range s.Checks {
		addr := c.Kind.Name + "." + c.Name
		index[addr] = c
		var insts []*Instance
		if c.ForEach == nil {
			slab[k] = Instance{Check: c, Address: addr, suite: s}
			lists[k] = &slab[k]
			insts = lists[k : k+1 : k+1]
			k++
		} else {
			var d hcl.Diagnostics
			insts, d = s.expandCheck(c)
			diags = append(diags, d...)
			if d.HasErrors() || insts == nil {
				c.broken = true
			}
		}
		byCheck[c] = insts
		s.Instances = append(s.Instances, insts...)
	}
	// Each instance is resolved, then evaluated, on its own, on the cores
	// there are (evaluation only reads the suite, and the secrets lock);
	// the diagnostics are then taken in order.
	instDiags := make([]hcl.Diagnostics, len(s.Instances))
	var refers atomic.Bool
	eachIndex(len(s.Instances), func(n int) {
		r, d := s.Instances[n].resolve(index, byCheck)
		if r {
			refers.Store(true)
		}
		instDiags[n] = d
	})
	// The checks' results, unknown before the run, are a variable per kind
	// holding every check: built only when some expression refers to a
	// check, and let go of after loading (the run binds each instance to
	// what its dependencies observed instead).
	s.loadCtx = s.ctx.NewChild()
	if refers.Load() {
		s.loadCtx.Variables = s.unknownResults(byCheck)
	}
	eachIndex(len(s.Instances), func(n int) {
		inst := s.Instances[n]
		if !instDiags[n].HasErrors() && !inst.Check.broken {
			instDiags[n] = append(instDiags[n], inst.evaluate()...)
		}
	})
	s.loadCtx = nil
	for _, d := range instDiags {
		diags = append(diags, d...)
	}
	s.dropFinalSyntax(byCheck)
	return diags
}

// dropFinalSyntax lets go of the argument and expectation attributes of
// every check whose instances all have their arguments and expectations
// known now: the run uses the values (Instance.args, Instance.expect) and
// never evaluates those expressions again. In a suite of 100,000 plain
// checks they are 150 MiB of the 310 loading keeps. Meta (skip is
// evaluated for every run) and the asserts stay.
func (s *Suite) dropFinalSyntax(byCheck map[*Check][]*Instance) {
	for _, c := range s.Checks {
		insts := byCheck[c]
		if c.broken || len(insts) == 0 {
			continue
		}
		final := true
		for _, inst := range insts {
			if !inst.argsFinal || !inst.expectFinal {
				final = false
				break
			}
		}
		if final {
			c.Args, c.Expect = nil, nil
		}
	}
}

// allKnown reports whether every value written (not cty.NilVal) is
// wholly known.
func allKnown(values []cty.Value) bool {
	for _, v := range values {
		if v != cty.NilVal && !v.IsWhollyKnown() {
			return false
		}
	}
	return true
}

// expandCheck evaluates the for_each of a check that has one. Like
// Terraform, it takes a map, an object or a set; its keys must be known
// before the run.
func (s *Suite) expandCheck(c *Check) ([]*Instance, hcl.Diagnostics) {
	if insts, ok := s.expandToSet(c); ok {
		return insts, nil
	}
	v, diags := c.ForEach.Expr.Value(s.ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	if v.IsMarked() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid for_each argument",
			Detail: "for_each cannot use a sensitive value: its keys become part of every report.", Subject: c.ForEach.Expr.Range().Ptr()}}
	}
	bad := func(detail string) ([]*Instance, hcl.Diagnostics) {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid for_each argument", Detail: detail, Subject: c.ForEach.Expr.Range().Ptr()}}
	}
	if !v.IsWhollyKnown() && s.incomplete {
		return nil, nil // a variable or local had no value: that error is reported already
	}
	if !v.IsWhollyKnown() {
		return bad("The for_each value must be known before the run: it cannot depend on another check's result.")
	}
	if v.IsNull() {
		return bad("The for_each value is null; give a map, an object or a set.")
	}
	t := v.Type()
	var insts []*Instance
	switch {
	case t.IsMapType() || t.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			insts = append(insts, s.newInstance(c, k.AsString(), k, e))
		}
	case t.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			ks, err := convert.Convert(e, cty.String)
			if err != nil || ks.IsNull() {
				return bad(fmt.Sprintf("The elements of a for_each set become keys, so they must be strings or numbers, not %s.", e.Type().FriendlyName()))
			}
			insts = append(insts, s.newInstance(c, ks.AsString(), ks, e))
		}
	default:
		return bad(fmt.Sprintf("The for_each value must be a map, an object or a set, not a %s. For a list, write toset(...).", t.FriendlyName()))
	}
	sortByKey(insts)
	return insts, nil
}

func sortByKey(insts []*Instance) {
	sort.Slice(insts, func(a, b int) bool { return insts[a].Key.AsString() < insts[b].Key.AsString() })
}

func (s *Suite) newInstance(c *Check, key string, k, value cty.Value) *Instance {
	each := cty.ObjectVal(map[string]cty.Value{"key": k, "value": value})
	return &Instance{
		Check:   c,
		Key:     cty.StringVal(key),
		Address: fmt.Sprintf("%s.%s[%q]", c.Kind.Name, c.Name, key),
		each:    &each,
		suite:   s,
	}
}

// unknownResults is the value of every check kind's variable before the run:
// each check's result is an unknown value of its result type, so references
// are type-checked (a misspelt field is a diagnostic) without running.
func (s *Suite) unknownResults(byCheck map[*Check][]*Instance) map[string]cty.Value {
	perKind := map[string]map[string]cty.Value{}
	for _, name := range checks.Names() {
		perKind[name] = map[string]cty.Value{}
	}
	for _, c := range s.Checks {
		rt := ResultType(c.Kind)
		if c.broken && c.ForEach != nil {
			perKind[c.Kind.Name][c.Name] = cty.DynamicVal
			continue
		}
		if c.ForEach == nil {
			perKind[c.Kind.Name][c.Name] = cty.UnknownVal(rt)
			continue
		}
		keyed := map[string]cty.Value{}
		for _, inst := range byCheck[c] {
			keyed[inst.Key.AsString()] = cty.UnknownVal(rt)
		}
		perKind[c.Kind.Name][c.Name] = cty.ObjectVal(keyed)
	}
	out := map[string]cty.Value{}
	for kind, m := range perKind {
		out[kind] = cty.ObjectVal(m)
	}
	return out
}

// references lists every traversal in the instance's expressions.
func (i *Instance) references() []hcl.Traversal {
	c := i.Check
	var out []hcl.Traversal
	add := func(a *hcl.Attribute) {
		if _, constant := constValue(a); a != nil && !constant {
			out = append(out, a.Expr.Variables()...)
		}
	}
	for _, a := range c.Args {
		add(a)
	}
	for _, a := range c.Expect {
		add(a)
	}
	for _, a := range c.Meta {
		add(a)
	}
	for _, a := range c.Asserts {
		out = append(out, a.Condition.Variables()...)
		if a.ErrorMessage != nil {
			out = append(out, a.ErrorMessage.Variables()...)
		}
	}
	return out
}

// resolve finds the instances this one depends on: those its expressions
// refer to and those depends_on names. It reports whether anything in the
// instance refers to a check kind at all.
func (i *Instance) resolve(index map[string]*Check, byCheck map[*Check][]*Instance) (refers bool, diags hcl.Diagnostics) {
	var deps map[*Instance]bool // made at the first: most checks have none
	add := func(t hcl.Traversal, explicit bool) {
		kind := t.RootName()
		if _, isKind := checks.Lookup(kind); !isKind {
			if explicit {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid depends_on reference",
					Detail: "depends_on lists checks, written KIND.NAME or KIND.NAME[\"KEY\"].", Subject: t.SourceRange().Ptr()})
			}
			return
		}
		refers = true
		if len(t) < 2 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid reference",
				Detail: fmt.Sprintf("A reference to a %s check needs its name: %s.NAME.", kind, kind), Subject: t.SourceRange().Ptr()})
			return
		}
		attr, ok := t[1].(hcl.TraverseAttr)
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid reference",
				Detail: fmt.Sprintf("Write %s.NAME to refer to a %s check.", kind, kind), Subject: t.SourceRange().Ptr()})
			return
		}
		target, ok := index[kind+"."+attr.Name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared check",
				Detail: fmt.Sprintf("No %s check named %q is declared.%s", kind, attr.Name, suggestCheck(index, kind, attr.Name)), Subject: t.SourceRange().Ptr()})
			return
		}
		insts := byCheck[target]
		if target.ForEach != nil && len(t) > 2 {
			if idx, ok := t[2].(hcl.TraverseIndex); ok {
				key, err := convert.Convert(idx.Key, cty.String)
				if err != nil || key.IsNull() || !key.IsKnown() {
					return // evaluation reports the bad index
				}
				insts = nil
				for _, inst := range byCheck[target] {
					if inst.Key.AsString() == key.AsString() {
						insts = []*Instance{inst}
					}
				}
				if insts == nil {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to missing instance",
						Detail: fmt.Sprintf("%s.%s has no instance with the key %q; its for_each has %s.", kind, attr.Name, key.AsString(), keyList(byCheck[target])), Subject: t.SourceRange().Ptr()})
					return
				}
			}
		}
		if deps == nil {
			deps = map[*Instance]bool{}
		}
		for _, inst := range insts {
			deps[inst] = true
		}
	}
	for _, t := range i.references() {
		add(t, false)
	}
	if a := i.Check.DependsOn; a != nil {
		exprs, d := hcl.ExprList(a.Expr)
		diags = append(diags, d...)
		for _, e := range exprs {
			t, d := hcl.AbsTraversalForExpr(e)
			if d.HasErrors() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid depends_on reference",
					Detail: "depends_on lists checks, written KIND.NAME or KIND.NAME[\"KEY\"], without quotes.", Subject: e.Range().Ptr()})
				continue
			}
			add(t, true)
		}
	}
	for d := range deps {
		i.Deps = append(i.Deps, d)
	}
	sort.Slice(i.Deps, func(a, b int) bool { return i.Deps[a].Address < i.Deps[b].Address })
	return refers, diags
}

func suggestCheck(index map[string]*Check, kind, name string) string {
	best, bestDist := "", 3
	for _, c := range index {
		if c.Kind.Name != kind {
			continue
		}
		if d := levenshtein.Distance(c.Name, name, nil); d < bestDist {
			best, bestDist = c.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %s.%s?", kind, best)
}

func keyList(insts []*Instance) string {
	var keys []string
	for _, inst := range insts {
		keys = append(keys, fmt.Sprintf("%q", inst.Key.AsString()))
		if len(keys) == 10 {
			keys = append(keys, "…")
			break
		}
	}
	return strings.Join(keys, ", ")
}

// dedupe drops repeated diagnostics: an error in a block with for_each is
// found once per instance but reported once.
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	out := diags[:0]
	for _, d := range diags {
		key := d.Summary + "\x00" + d.Detail
		if d.Subject != nil {
			key += "\x00" + d.Subject.String()
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, d)
	}
	return out
}
