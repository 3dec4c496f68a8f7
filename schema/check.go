package schema

import (
	"fmt"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// Check is one check block as written, before for_each expansion.
type Check struct {
	Kind *checks.Kind
	Name string
	// DeclRange is the block's header, `tcp "web"`, where diagnostics and
	// failure reports point.
	DeclRange hcl.Range

	ForEach   *hcl.Attribute
	DependsOn *hcl.Attribute
	// Meta holds the other meta-arguments present: description, tags,
	// timeout, retries, retry_interval, skip, from (nil when none is).
	Meta map[string]*hcl.Attribute
	// Args holds the kind-specific arguments present.
	Args map[string]*hcl.Attribute
	// Expect holds the attributes of the expect block, if any.
	//
	// Args and Expect are nil after loading when every instance's
	// arguments and expectations were known at load: the instances hold
	// the values (see dropFinalSyntax).
	Expect  map[string]*hcl.Attribute
	Asserts []Assert

	// args holds a value for each of the kind's arguments that is known
	// from the block alone, an absent one's default included; expect does
	// the same for the expect block's attributes, with cty.NilVal for one
	// not written. An argument or expectation written as a literal is
	// converted and validated when the block is decoded, and its
	// attribute is let go of then (see foldConstants); the others stay in
	// Args and Expect, cty.NilVal here, for evaluation. Instances share
	// these slices when nothing is left to evaluate.
	args   checks.Args
	expect []cty.Value

	broken bool // decoding failed: reported, and not evaluated further
}

// Assert is an assert block: a condition over self and the message shown
// when it does not hold.
type Assert struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	// Text is the condition as written, shown in the diff.
	Text string
}

// metaArguments are the arguments every check kind accepts.
var metaArguments = []string{"for_each", "depends_on", "description", "tags", "timeout", "retries", "retry_interval", "skip", "from"}

var assertSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "condition", Required: true}, {Name: "error_message"},
}}

// derived holds what the loader works out from a kind, once per kind rather
// than once per block: a suite of 100,000 checks would otherwise build the
// same schemas and types 100,000 times (a kilobyte a check).
type derived struct {
	body, expect *hcl.BodySchema
	bodyShape    *shape
	expectShape  *shape
	result       cty.Type
}

var derivedByKind sync.Map // *checks.Kind → *derived

func derive(k *checks.Kind) *derived {
	if d, ok := derivedByKind.Load(k); ok {
		return d.(*derived)
	}
	d := &derived{body: buildCheckSchema(k), expect: buildExpectSchema(k), result: buildResultType(k)}
	d.bodyShape, d.expectShape = newShape(d.body), newShape(d.expect)
	actual, _ := derivedByKind.LoadOrStore(k, d)
	return actual.(*derived)
}

// checkSchema is the body schema of a kind's blocks: the meta-arguments, the
// kind's own arguments, and the expect and assert blocks.
func checkSchema(k *checks.Kind) *hcl.BodySchema { return derive(k).body }

func expectSchema(k *checks.Kind) *hcl.BodySchema { return derive(k).expect }

func buildCheckSchema(k *checks.Kind) *hcl.BodySchema {
	sc := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "expect"}, {Type: "assert"}}}
	for _, name := range metaArguments {
		sc.Attributes = append(sc.Attributes, hcl.AttributeSchema{Name: name})
	}
	for _, a := range k.Args {
		sc.Attributes = append(sc.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
	}
	return sc
}

func buildExpectSchema(k *checks.Kind) *hcl.BodySchema {
	sc := &hcl.BodySchema{}
	for _, e := range k.Expect {
		sc.Attributes = append(sc.Attributes, hcl.AttributeSchema{Name: e.Name})
	}
	return sc
}

func decodeCheck(k *checks.Kind, b *hcl.Block, src []byte) (*Check, hcl.Diagnostics) {
	c := &Check{Kind: k, Name: b.Labels[0], DeclRange: b.DefRange}
	var diags hcl.Diagnostics
	if !validName(c.Name) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid check name",
			Detail:  "A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes; it becomes part of the address " + k.Name + ".NAME.",
			Subject: b.LabelRanges[0].Ptr()})
	}
	content, d := derive(k).bodyShape.content(b.Body)
	diags = append(diags, d...)
	// The content's map becomes Args once the meta-arguments are taken
	// out of it, and Meta is made only when there is one: most checks of a
	// large suite set none, and a map is a few hundred bytes a check.
	c.Args = content.Attributes
	if c.Args == nil {
		c.Args = map[string]*hcl.Attribute{}
	}
	for name, a := range c.Args {
		switch name {
		case "for_each":
			c.ForEach = a
		case "depends_on":
			c.DependsOn = a
		default:
			if _, isArg := k.Arg(name); isArg {
				continue
			}
			if c.Meta == nil {
				c.Meta = map[string]*hcl.Attribute{}
			}
			c.Meta[name] = a
		}
		delete(c.Args, name)
	}
	expectBroken := false // an expect block with errors of its own
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "expect":
			if c.Expect != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate expect block",
					Detail: "A check has at most one expect block; put every expectation in it.", Subject: blk.DefRange.Ptr()})
				continue
			}
			ec, d := derive(k).expectShape.content(blk.Body)
			diags = append(diags, d...)
			expectBroken = d.HasErrors()
			c.Expect = ec.Attributes
			if c.Expect == nil {
				c.Expect = map[string]*hcl.Attribute{}
			}
		case "assert":
			ac, d := blk.Body.Content(assertSchema)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			cond := ac.Attributes["condition"].Expr
			a := Assert{Condition: cond, Text: string(cond.Range().SliceBytes(src))}
			if m, ok := ac.Attributes["error_message"]; ok {
				a.ErrorMessage = m.Expr
			}
			c.Asserts = append(c.Asserts, a)
		}
	}
	// A check that expects nothing is reported beside its other errors,
	// and does not stop them from being found: the check is still
	// evaluated, so one pass reports everything wrong with it.
	c.broken = diags.HasErrors()
	if len(c.Expect) == 0 && len(c.Asserts) == 0 && !expectBroken {
		diags = append(diags, expectsNothing(c, b.DefRange))
	}
	if !c.broken {
		c.foldConstants()
	}
	return c, diags
}

// foldConstants works out, on the core that decoded the block, the
// arguments and expectations written as literals: converted to their type
// and validated, they are what evaluation would make of them whatever the
// context, and their syntax (a few hundred bytes an attribute) need not
// live until the suite is evaluated. A literal that does not convert or
// validate, and a null, stay attributes, so that evaluation reports them
// as before, in the same order.
func (c *Check) foldConstants() {
	c.args = make(checks.Args, len(c.Kind.Args))
	for n, arg := range c.Kind.Args {
		a, ok := c.Args[arg.Name]
		switch {
		case !ok && arg.Default != cty.NilVal:
			c.args[n] = arg.Default
		case !ok:
			c.args[n] = cty.NullVal(arg.Type)
		default:
			if v, ok := foldConstant(a, arg.Type, arg.Validate); ok {
				c.args[n] = v
				delete(c.Args, arg.Name)
			}
		}
	}
	if len(c.Args) == 0 {
		c.Args = nil
	}
	if c.Expect == nil {
		return
	}
	c.expect = make([]cty.Value, len(c.Kind.Expect))
	for n, e := range c.Kind.Expect {
		if a, ok := c.Expect[e.Name]; ok {
			if v, ok := foldConstant(a, e.Type, e.Validate); ok {
				c.expect[n] = v
				delete(c.Expect, e.Name)
			}
		}
	}
	if len(c.Expect) == 0 {
		c.Expect = nil // c.expect says there is an expect block
	}
}

// foldConstant is evalTyped of an attribute written as a literal, when
// that gives a value without a diagnostic and the value is not null.
func foldConstant(a *hcl.Attribute, typ cty.Type, validate func(cty.Value) error) (cty.Value, bool) {
	v, constant := constValue(a)
	if !constant || v.IsNull() {
		return cty.NilVal, false
	}
	v, diags := evalTyped(a, nil, typ, validate, "")
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

// validName is hclsyntax.ValidIdentifier(name), which runs HCL's lexer, for
// the plain ASCII names nearly every check has without it.
func validName(name string) bool {
	if name == "" || !isIdentStart(name[0]) {
		return hclsyntax.ValidIdentifier(name)
	}
	for i := 1; i < len(name); i++ {
		if !isIdentByte(name[i]) {
			return hclsyntax.ValidIdentifier(name)
		}
	}
	return true
}

// expectsNothing is the diagnostic of a check that could never fail: no
// expect block, an empty one, or one whose every value is null.
func expectsNothing(c *Check, at hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Check expects nothing",
		Detail: fmt.Sprintf("The check %s.%s has no expectation (no expect block, an empty one, or only null values) and no assert block, so it could never fail. Add expect { … } with what the network must look like.",
			c.Kind.Name, c.Name),
		Subject: at.Ptr()}
}

// ResultType is the type of a kind's result as expressions see it: the
// kind's fields and duration_ms, which the runner measures for every kind.
func ResultType(k *checks.Kind) cty.Type { return derive(k).result }

func buildResultType(k *checks.Kind) cty.Type {
	attrs := map[string]cty.Type{"duration_ms": cty.Number}
	for name, t := range k.Result.AttributeTypes() {
		attrs[name] = t
	}
	return cty.Object(attrs)
}
