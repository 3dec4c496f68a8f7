package schema

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// A check block in the plain form whose every argument and expectation is
// a literal that converts and validates is decoded by the plain parse
// itself (checkBlock): it gives the Check that decodeCheck gives for the
// block's tree, with every literal folded, and the block with an empty
// body that predecode leaves in the file's tree, without building the
// rest of the tree first. The tree of such a block (its attributes,
// expressions and nested block) is most of the allocations of loading a
// large generated suite, and all of it garbage once decoded. A block with
// anything else (a meta-argument, an assert, a null, a literal that does
// not convert, a missing argument, no expectation) is parsed as before and
// decoded by decodeCheck, so that its diagnostics are the same.

// plainCheck is what checkBlock reads of a check block's body.
type plainCheck struct {
	kind   *checks.Kind
	args   checks.Args
	expect []cty.Value
	seen   int // expectations written
}

// checkBlock tries to read a check block of kind k from after its type: one
// label, a body of literal arguments and one expect block of literal
// expectations. It returns false, with the parser where it was, for
// anything else.
func (p *plainParser) checkBlock(k *checks.Kind, parent *hclsyntax.Body, typ string, typeRange hcl.Range) bool {
	i, line, lineStart := p.i, p.line, p.lineStart
	c, b, ok := p.readCheck(k, typ, typeRange)
	if !ok {
		p.i, p.line, p.lineStart = i, line, lineStart
		return false
	}
	parent.Blocks = append(parent.Blocks, b)
	p.decoded = append(p.decoded, plainDecoded{block: b, check: c})
	return true
}

// plainDecoded is a check block the plain parse decoded.
type plainDecoded struct {
	block *hclsyntax.Block
	check *Check
}

func (p *plainParser) readCheck(k *checks.Kind, typ string, typeRange hcl.Range) (*Check, *hclsyntax.Block, bool) {
	n := new(plainBlock)
	b := &n.block
	b.Type, b.TypeRange = typ, typeRange
	// The one label, quoted or a name, and the opening brace.
	var name string
	var labelRange hcl.Range
	switch {
	case p.i < len(p.src) && p.src[p.i] == '"':
		text, open, _, close, ok := p.quoted()
		if !ok {
			return nil, nil, false
		}
		name, labelRange = text, hcl.RangeBetween(open, close)
	default:
		text, r, ok := p.ident()
		if !ok {
			return nil, nil, false
		}
		name, labelRange = text, r
	}
	if !validName(name) {
		return nil, nil, false
	}
	n.label(name, labelRange)
	p.spaces()
	if p.i == len(p.src) || p.src[p.i] != '{' {
		return nil, nil, false
	}
	b.OpenBraceRange = p.rng(p.i, p.i+1)
	p.i++
	pc := plainCheck{kind: k, args: make(checks.Args, len(k.Args))}
	expectBlock := false
	if !p.endOfLine() {
		return nil, nil, false
	}
	for {
		p.spaces()
		if p.i == len(p.src) {
			return nil, nil, false
		}
		if c := p.src[p.i]; c == '\n' {
			p.newline()
			continue
		} else if c == '}' {
			break
		}
		attr, _, ok := p.ident()
		if !ok {
			return nil, nil, false
		}
		p.spaces()
		if p.i == len(p.src) {
			return nil, nil, false
		}
		if p.src[p.i] == '{' && attr == "expect" && !expectBlock {
			expectBlock = true
			if !p.readExpect(&pc) {
				return nil, nil, false
			}
			continue
		}
		n, ok := argIndex(k, attr)
		if !ok || p.src[p.i] != '=' || pc.args[n] != cty.NilVal {
			return nil, nil, false
		}
		p.i++
		p.spaces()
		v, ok := p.literal(k.Args[n].Type, k.Args[n].Validate)
		if !ok || !p.endOfLine() {
			return nil, nil, false
		}
		pc.args[n] = v
	}
	b.CloseBraceRange = p.rng(p.i, p.i+1)
	p.i++
	p.spaces()
	if p.i < len(p.src) && !p.endOfLine() {
		return nil, nil, false
	}
	if pc.seen == 0 {
		return nil, nil, false // expects nothing: decodeCheck says so
	}
	for n, arg := range k.Args {
		switch {
		case pc.args[n] != cty.NilVal:
		case arg.Required:
			return nil, nil, false // HCL reports the missing argument
		case arg.Default != cty.NilVal:
			pc.args[n] = arg.Default
		default:
			pc.args[n] = cty.NullVal(arg.Type)
		}
	}
	n.body = hclsyntax.Body{SrcRange: hcl.RangeBetween(b.OpenBraceRange, b.CloseBraceRange),
		EndRange: hcl.Range{Filename: p.filename, Start: b.CloseBraceRange.End, End: b.CloseBraceRange.End}}
	b.Body = &n.body
	c := &Check{Kind: k, Name: name, DeclRange: b.DefRange(), args: pc.args, expect: pc.expect}
	return c, b, true
}

// readExpect reads an expect block from its opening brace: literal
// expectations, one to a line, and the closing brace with its newline.
func (p *plainParser) readExpect(pc *plainCheck) bool {
	k := pc.kind
	p.i++ // the brace
	if !p.endOfLine() {
		return false
	}
	pc.expect = make([]cty.Value, len(k.Expect))
	for {
		p.spaces()
		if p.i == len(p.src) {
			return false
		}
		if c := p.src[p.i]; c == '\n' {
			p.newline()
			continue
		} else if c == '}' {
			break
		}
		name, _, ok := p.ident()
		if !ok {
			return false
		}
		n, ok := expectIndex(k, name)
		p.spaces()
		if !ok || p.i == len(p.src) || p.src[p.i] != '=' || pc.expect[n] != cty.NilVal {
			return false
		}
		p.i++
		p.spaces()
		v, ok := p.literal(k.Expect[n].Type, k.Expect[n].Validate)
		if !ok || !p.endOfLine() {
			return false
		}
		pc.expect[n] = v
		pc.seen++
	}
	p.i++ // the brace
	return p.endOfLine()
}

// literal reads a value as value does and converts and validates it as
// evaluation would: what foldConstant gives for the expression value
// builds. A null, an empty string, an object, a value that does not convert
// or validate, give false.
func (p *plainParser) literal(typ cty.Type, validate func(cty.Value) error) (cty.Value, bool) {
	v, ok := p.literalValue()
	if !ok {
		return cty.NilVal, false
	}
	conv, err := convert.Convert(v, typ)
	if err != nil || conv.IsNull() || !conv.IsWhollyKnown() {
		return cty.NilVal, false
	}
	if validate != nil && validate(conv) != nil {
		return cty.NilVal, false
	}
	return conv, true
}

// literalValue is the value of a quoted string, a whole number, true, false
// or a list of them (not of lists), as hclsyntax's expressions for them
// evaluate.
func (p *plainParser) literalValue() (cty.Value, bool) {
	if p.i == len(p.src) {
		return cty.NilVal, false
	}
	switch c := p.src[p.i]; {
	case c == '"':
		text, _, _, _, ok := p.quoted()
		if !ok || text == "" {
			return cty.NilVal, false
		}
		return cty.StringVal(text), true
	case c >= '0' && c <= '9':
		from := p.i
		for p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
			p.i++
		}
		if p.i < len(p.src) && (isIdentByte(p.src[p.i]) || p.src[p.i] == '.' || p.src[p.i] >= 0x80) {
			return cty.NilVal, false
		}
		v, err := cty.ParseNumberVal(string(p.src[from:p.i]))
		return v, err == nil
	case c == '[':
		p.i++
		var elems []cty.Value
		for {
			p.gap()
			if p.i < len(p.src) && p.src[p.i] == ']' {
				break
			}
			if p.i < len(p.src) && p.src[p.i] == '[' {
				return cty.NilVal, false // a list in a list: left to the tree
			}
			v, ok := p.literalValue()
			if !ok {
				return cty.NilVal, false
			}
			elems = append(elems, v)
			p.gap()
			if p.i == len(p.src) {
				return cty.NilVal, false
			}
			if p.src[p.i] == ']' {
				break
			}
			if p.src[p.i] != ',' {
				return cty.NilVal, false
			}
			p.i++
		}
		p.i++
		return cty.TupleVal(elems), true
	case isIdentStart(c):
		name, _, ok := p.ident()
		switch {
		case !ok:
		case name == "true":
			return cty.True, true
		case name == "false":
			return cty.False, true
		}
	}
	return cty.NilVal, false
}

func argIndex(k *checks.Kind, name string) (int, bool) {
	for n, a := range k.Args {
		if a.Name == name {
			return n, true
		}
	}
	return 0, false
}

func expectIndex(k *checks.Kind, name string) (int, bool) {
	for n, e := range k.Expect {
		if e.Name == name {
			return n, true
		}
	}
	return 0, false
}
