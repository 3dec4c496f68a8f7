package schema

import (
	"bytes"

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
// anything else. A block it decodes is not added to parent: it is kept in
// p.decoded, with how many of parent's blocks come before it.
func (p *plainParser) checkBlock(k *checks.Kind, parent *hclsyntax.Body, typ string, typeRange hcl.Range) bool {
	i, line, lineStart := p.i, p.line, p.lineStart
	d, ok := p.readCheck(k, typ, typeRange)
	if !ok {
		p.i, p.line, p.lineStart = i, line, lineStart
		return false
	}
	d.at = len(parent.Blocks)
	p.decoded = append(p.decoded, d)
	return true
}

// plainDecoded is a check block the plain parse decoded: its Check and
// what the navigation keeps of it. at is the number of the piece's other
// top-level blocks that come before it.
type plainDecoded struct {
	check *Check
	nav   navBlock
	at    int
}

// decodedRun is the body of a run of consecutive check blocks the plain
// parse decoded: their Checks, in file order. One hcl.Block of no type
// stands for the run in the file's content (decode takes the checks off
// it), and nothing else is made of those blocks: no syntax tree, no
// hclsyntax.Block, no hcl.Block each, so a suite of 10,000 generated
// checks keeps ~9 MB less while it loads than with all three (and
// allocates that much less). As an hcl.Body it is empty.
type decodedRun struct {
	checks []*Check
	empty  hclsyntax.Body
}

func (r *decodedRun) Content(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	return r.empty.Content(s)
}

func (r *decodedRun) PartialContent(s *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	return r.empty.PartialContent(s)
}

func (r *decodedRun) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	return r.empty.JustAttributes()
}

func (r *decodedRun) MissingItemRange() hcl.Range {
	return r.empty.MissingItemRange()
}

// runBlock is the hcl.Block that stands for a run of decoded checks.
func runBlock(decoded []plainDecoded) *hcl.Block {
	run := &decodedRun{checks: make([]*Check, len(decoded))}
	for k, d := range decoded {
		run.checks[k] = d.check
	}
	first, last := decoded[0].check.DeclRange, decoded[len(decoded)-1].nav
	run.empty = hclsyntax.Body{SrcRange: hcl.Range{Filename: first.Filename, Start: first.Start, End: last.def.End}}
	return &hcl.Block{Body: run, DefRange: first}
}

func (p *plainParser) readCheck(k *checks.Kind, typ string, typeRange hcl.Range) (plainDecoded, bool) {
	var fail plainDecoded
	// The one label, quoted or a name, and the opening brace.
	var name string
	var labelRange hcl.Range
	switch {
	case p.i < len(p.src) && p.src[p.i] == '"':
		text, open, _, close, ok := p.quoted()
		if !ok {
			return fail, false
		}
		name, labelRange = text, hcl.RangeBetween(open, close)
	default:
		text, r, ok := p.ident()
		if !ok {
			return fail, false
		}
		name, labelRange = text, r
	}
	if !validName(name) {
		return fail, false
	}
	p.spaces()
	if p.i == len(p.src) || p.src[p.i] != '{' {
		return fail, false
	}
	p.i++
	pc := plainCheck{kind: k, args: make(checks.Args, len(k.Args))}
	expectBlock := false
	if !p.endOfLine() {
		return fail, false
	}
	for {
		p.spaces()
		if p.i == len(p.src) {
			return fail, false
		}
		if c := p.src[p.i]; c == '\n' {
			p.newline()
			continue
		} else if c == '}' {
			break
		}
		attr, ok := p.identBytes()
		if !ok {
			return fail, false
		}
		p.spaces()
		if p.i == len(p.src) {
			return fail, false
		}
		if p.src[p.i] == '{' && string(attr) == "expect" && !expectBlock {
			expectBlock = true
			if !p.readExpect(&pc) {
				return fail, false
			}
			continue
		}
		n, ok := argIndex(k, attr)
		if !ok || p.src[p.i] != '=' || pc.args[n] != cty.NilVal {
			return fail, false
		}
		p.i++
		p.spaces()
		v, ok := p.literal(foldSlot{k, n}, k.Args[n].Type, k.Args[n].Validate)
		if !ok || !p.endOfLine() {
			return fail, false
		}
		pc.args[n] = v
	}
	closeBrace := p.rng(p.i, p.i+1)
	p.i++
	p.spaces()
	if p.i < len(p.src) && !p.endOfLine() {
		return fail, false
	}
	if pc.seen == 0 {
		return fail, false // expects nothing: decodeCheck says so
	}
	for n, arg := range k.Args {
		switch {
		case pc.args[n] != cty.NilVal:
		case arg.Required:
			return fail, false // HCL reports the missing argument
		case arg.Default != cty.NilVal:
			pc.args[n] = arg.Default
		default:
			pc.args[n] = cty.NullVal(arg.Type)
		}
	}
	// What navOf keeps of the block: its range runs from its type to its
	// closing brace, its definition to its label, as hclsyntax has them.
	def := hcl.RangeBetween(typeRange, labelRange)
	c := &Check{Kind: k, Name: name, DeclRange: def, args: pc.args, expect: pc.expect}
	nav := navBlock{start: typeRange.Start.Byte, end: closeBrace.End.Byte, def: def, typ: typ, labels: []string{name}}
	return plainDecoded{check: c, nav: nav}, true
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
		name, ok := p.identBytes()
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
		v, ok := p.literal(foldSlot{k, len(k.Args) + n}, k.Expect[n].Type, k.Expect[n].Validate)
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
//
// A literal that is the rest of its line is remembered by its text for the
// argument or expectation slot it is in, converted and validated: the same
// line there again (answers = ["127.0.0.1"] or the same host in every check
// of a generated suite) is that value, without reading, converting or
// validating it again, and the checks share it (a value is immutable).
func (p *plainParser) literal(slot foldSlot, typ cty.Type, validate func(cty.Value) error) (cty.Value, bool) {
	line := p.src[p.i:]
	if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	if v, ok := p.folded[slot][string(line)]; ok {
		p.i += len(line)
		return v, true
	}
	from := p.i
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
	if rest := line[min(p.i-from, len(line)):]; p.i-from <= len(line) && len(bytes.Trim(rest, " \t")) == 0 {
		if p.folded == nil {
			p.folded = map[foldSlot]map[string]cty.Value{}
		}
		m := p.folded[slot]
		if m == nil {
			m = make(map[string]cty.Value, foldedPerSlot)
			p.folded[slot] = m
		}
		if len(m) < foldedPerSlot {
			m[string(line)] = conv
		}
	}
	return conv, true
}

// foldedPerSlot is as many lines as literal remembers for a slot: a slot
// whose every check has its own value (the name of each) would otherwise
// grow a map of them all for nothing.
const foldedPerSlot = 8

// foldSlot is an argument (n, in the order of the kind's Args) or an
// expectation (len(Args) + its index in Expect) of a kind.
type foldSlot struct {
	kind *checks.Kind
	n    int
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
		name, ok := p.identBytes()
		switch {
		case !ok:
		case string(name) == "true":
			return cty.True, true
		case string(name) == "false":
			return cty.False, true
		}
	}
	return cty.NilVal, false
}

func argIndex(k *checks.Kind, name []byte) (int, bool) {
	for n, a := range k.Args {
		if a.Name == string(name) {
			return n, true
		}
	}
	return 0, false
}

func expectIndex(k *checks.Kind, name []byte) (int, bool) {
	for n, e := range k.Expect {
		if e.Name == string(name) {
			return n, true
		}
	}
	return 0, false
}
