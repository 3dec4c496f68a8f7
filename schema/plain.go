package schema

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// parsePlain parses a piece of a file cut by blockStarts when it is written
// in the plain form generated and hand-written suites mostly take: blocks
// with quoted or bare labels holding nested blocks and arguments whose
// values are a quoted string without escapes or templates, a whole number,
// true, false, null, or a list or an object of such values (on one line or
// several, with or without a comma after the last item; an object's keys
// names or quoted strings), one to a line, in ASCII, without comments. It
// builds the very syntax tree hclsyntax.ParseConfig builds for the piece
// (the same nodes, values and ranges; plain_test.go compares the two), at a
// tenth of the cost: hclsyntax lexes into a slice of tokens of about 100
// bytes each, measures every token's columns by grapheme clusters and
// parses through a general expression grammar, which for a suite of 100,000
// checks is 2.4 s of CPU, the largest part of loading. Anything else in the
// piece, however small, makes it return false, and the piece is parsed by
// hclsyntax with its diagnostics.
func parsePlain(src []byte, filename string, start hcl.Pos) (*hclsyntax.Body, bool) {
	body, _, ok := parsePlainChecks(src, filename, start, false)
	return body, ok
}

// parsePlainChecks is parsePlain that, with decode, decodes the check
// blocks it can as it reads them (see checkBlock): those come back with
// their Check and an empty body, the rest as parsePlain builds them.
func parsePlainChecks(src []byte, filename string, start hcl.Pos, decode bool) (*hclsyntax.Body, []plainDecoded, bool) {
	p := plainParser{src: src, filename: filename, base: start.Byte, line: start.Line, lineStart: -(start.Column - 1), decode: decode}
	if decode {
		// Room for about as many checks as the piece has closing braces at
		// the start of a line, as a formatted suite ends its blocks: grown
		// by appending one at a time, the list was 15% of what loading
		// 1,000 dns checks allocated (2.57 -> 2.19 MB).
		p.decoded = make([]plainDecoded, 0, bytes.Count(src, closingLine)+1)
	}
	first, ok := p.firstToken()
	if !ok {
		return nil, nil, false
	}
	body, ok := p.body(true, new(hclsyntax.Body))
	if !ok || p.i != len(src) {
		return nil, nil, false
	}
	// The body runs from its first token to the end of the piece, where
	// hclsyntax's end-of-file token is.
	end := p.rng(p.i, p.i)
	body.SrcRange = hcl.RangeBetween(first, end)
	body.EndRange = end
	return body, p.decoded, true
}

// firstToken is the range of the piece's first token, a newline or a
// block's type.
func (p *plainParser) firstToken() (hcl.Range, bool) {
	j := 0
	for j < len(p.src) && (p.src[j] == ' ' || p.src[j] == '\t') {
		j++
	}
	switch {
	case j == len(p.src):
		return hcl.Range{}, false
	case p.src[j] == '\n':
		return hcl.Range{Filename: p.filename, Start: p.pos(j), End: hcl.Pos{Line: p.line + 1, Column: 1, Byte: p.base + j + 1}}, true
	}
	k := j
	for k < len(p.src) && isIdentByte(p.src[k]) {
		k++
	}
	return p.rng(j, k), k > j && isIdentStart(p.src[j])
}

// plainParser reads src from i; line is the line of i and lineStart the
// offset in src at which that line starts (negative for a piece that starts
// inside a line), so that every column is i-lineStart+1 in ASCII.
type plainParser struct {
	src       []byte
	filename  string
	base      int // the byte offset of src[0] in the file
	i         int
	line      int
	lineStart int
	depth     int // of the lists and objects being read

	decode  bool           // decode check blocks while reading them
	decoded []plainDecoded // the check blocks decoded so far
	// folded are the arguments and expectations of the checks decoded so
	// far, converted and validated, by slot and the text of their line
	// (see literal).
	folded map[foldSlot]map[string]cty.Value
}

// closingLine is a block's closing brace at the start of a line.
var closingLine = []byte("\n}")

// maxPlainDepth is as deep as the plain parse nests lists and objects;
// anything deeper is left to hclsyntax, so that no input takes the plain
// parse deeper into its stack than hclsyntax.
const maxPlainDepth = 32

func (p *plainParser) pos(i int) hcl.Pos {
	return hcl.Pos{Line: p.line, Column: i - p.lineStart + 1, Byte: p.base + i}
}

// rng is the range of src[from:to], which holds no newline.
func (p *plainParser) rng(from, to int) hcl.Range {
	return hcl.Range{Filename: p.filename, Start: p.pos(from), End: p.pos(to)}
}

func (p *plainParser) spaces() {
	for p.i < len(p.src) && (p.src[p.i] == ' ' || p.src[p.i] == '\t') {
		p.i++
	}
}

// newline reads a newline token: its range ends at the start of the next
// line, as hclsyntax's does.
func (p *plainParser) newline() hcl.Range {
	r := hcl.Range{Filename: p.filename, Start: p.pos(p.i)}
	p.i++
	p.line++
	p.lineStart = p.i
	r.End = p.pos(p.i)
	return r
}

func isIdentByte(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '-'
}

func (p *plainParser) ident() (string, hcl.Range, bool) {
	from := p.i
	b, ok := p.identBytes()
	if !ok {
		return "", hcl.Range{}, false
	}
	return string(b), p.rng(from, p.i), true
}

// identBytes is ident's text, in src: a name looked up and let go of (an
// argument's, true) need not be copied.
func (p *plainParser) identBytes() ([]byte, bool) {
	from := p.i
	if from >= len(p.src) || !isIdentStart(p.src[from]) {
		return nil, false
	}
	for p.i < len(p.src) && isIdentByte(p.src[p.i]) {
		p.i++
	}
	if p.i < len(p.src) && p.src[p.i] >= 0x80 {
		return nil, false // an identifier may go on in Unicode
	}
	return p.src[from:p.i], true
}

// quoted reads a quoted string of plain ASCII: the ranges of the opening
// quote, the text and the closing quote.
func (p *plainParser) quoted() (text string, open, lit, close hcl.Range, ok bool) {
	from := p.i
	p.i++
	for ; p.i < len(p.src); p.i++ {
		c := p.src[p.i]
		switch {
		case c == '"':
			text = string(p.src[from+1 : p.i])
			open, lit, close = p.rng(from, from+1), p.rng(from+1, p.i), p.rng(p.i, p.i+1)
			p.i++
			return text, open, lit, close, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", open, lit, close, false
		case (c == '$' || c == '%') && p.i+1 < len(p.src) && p.src[p.i+1] == '{':
			return "", open, lit, close, false
		}
	}
	return "", open, lit, close, false
}

// body reads the items of a body up to the end of the piece (top) or its
// closing brace, which it leaves for the caller.
func (p *plainParser) body(top bool, body *hclsyntax.Body) (*hclsyntax.Body, bool) {
	*body = hclsyntax.Body{Attributes: hclsyntax.Attributes{}, Blocks: hclsyntax.Blocks{}}
	for {
		p.spaces()
		if p.i == len(p.src) {
			return body, top
		}
		switch c := p.src[p.i]; {
		case c == '\n':
			p.newline()
		case c == '}':
			return body, !top
		case isIdentStart(c):
			if !p.item(body, top) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
}

// item reads an argument or a block, with the newline that ends it.
func (p *plainParser) item(body *hclsyntax.Body, top bool) bool {
	name, nameRange, ok := p.ident()
	if !ok {
		return false
	}
	p.spaces()
	if p.i == len(p.src) {
		return false
	}
	if p.src[p.i] != '=' {
		if k, isCheck := checks.Lookup(name); top && p.decode && isCheck && p.checkBlock(k, body, name, nameRange) {
			return true
		}
		return p.block(body, name, nameRange)
	}
	if top {
		return false // a piece holds blocks only
	}
	equals := p.rng(p.i, p.i+1)
	p.i++
	p.spaces()
	expr, ok := p.value()
	if !ok || !p.endOfLine() {
		return false
	}
	if _, dup := body.Attributes[name]; dup {
		return false
	}
	body.Attributes[name] = &hclsyntax.Attribute{Name: name, Expr: expr,
		SrcRange: hcl.RangeBetween(nameRange, expr.Range()), NameRange: nameRange, EqualsRange: equals}
	return true
}

// plainString holds the nodes of a quoted string, allocated together: a
// suite of 100,000 checks has hundreds of thousands of them, and the
// collector's work goes with the number of objects as much as their size.
// (They are what a check keeps of the tree; what it does not keep is not
// put with them.)
type plainString struct {
	tmpl  hclsyntax.TemplateExpr
	lit   hclsyntax.LiteralValueExpr
	parts [1]hclsyntax.Expression
}

// plainBlock is the same for a block and its body.
type plainBlock struct {
	block       hclsyntax.Block
	body        hclsyntax.Body
	labels      [1]string
	labelRanges [1]hcl.Range
}

// endOfLine reads the spaces and the newline after an item.
func (p *plainParser) endOfLine() bool {
	p.spaces()
	if p.i == len(p.src) || p.src[p.i] != '\n' {
		return false
	}
	p.newline()
	return true
}

// value reads a quoted string, a whole number, true, false, null, a list or
// an object.
func (p *plainParser) value() (hclsyntax.Expression, bool) {
	if p.i == len(p.src) {
		return nil, false
	}
	c := p.src[p.i]
	switch {
	case c == '[' || c == '{':
		if p.depth == maxPlainDepth {
			return nil, false
		}
		p.depth++
		read := p.object
		if c == '[' {
			read = p.list
		}
		v, ok := read()
		p.depth--
		return v, ok
	case c == '"':
		text, open, lit, close, ok := p.quoted()
		if !ok || text == "" {
			return nil, false
		}
		n := new(plainString)
		n.lit = hclsyntax.LiteralValueExpr{Val: cty.StringVal(text), SrcRange: lit}
		n.parts[0] = &n.lit
		n.tmpl = hclsyntax.TemplateExpr{Parts: n.parts[:], SrcRange: hcl.RangeBetween(open, close)}
		return &n.tmpl, true
	case c >= '0' && c <= '9':
		from := p.i
		for p.i < len(p.src) && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
			p.i++
		}
		if p.i < len(p.src) && (isIdentByte(p.src[p.i]) || p.src[p.i] == '.' || p.src[p.i] >= 0x80) {
			return nil, false
		}
		v, err := cty.ParseNumberVal(string(p.src[from:p.i]))
		if err != nil {
			return nil, false
		}
		return &hclsyntax.LiteralValueExpr{Val: v, SrcRange: p.rng(from, p.i)}, true
	case isIdentStart(c):
		name, r, ok := p.ident()
		if !ok {
			return nil, false
		}
		switch name {
		case "true":
			return &hclsyntax.LiteralValueExpr{Val: cty.True, SrcRange: r}, true
		case "false":
			return &hclsyntax.LiteralValueExpr{Val: cty.False, SrcRange: r}, true
		case "null":
			return &hclsyntax.LiteralValueExpr{Val: cty.NullVal(cty.DynamicPseudoType), SrcRange: r}, true
		}
	}
	return nil, false
}

// plainList is a list's node with room for one item, the most a list of a
// suite usually holds (a DNS check's answers = ["127.0.0.1"]).
type plainList struct {
	tuple hclsyntax.TupleConsExpr
	exprs [1]hclsyntax.Expression
}

// list reads a list of values separated by commas, with a comma after the
// last one allowed. Newlines between its tokens are spaces to hclsyntax,
// which reads a list as one expression over as many lines as it takes.
func (p *plainParser) list() (hclsyntax.Expression, bool) {
	n := new(plainList)
	open := p.rng(p.i, p.i+1)
	p.i++
	exprs := n.exprs[:0]
	for {
		p.gap()
		if p.i < len(p.src) && p.src[p.i] == ']' {
			break
		}
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		exprs = append(exprs, v)
		p.gap()
		if p.i == len(p.src) {
			return nil, false
		}
		if p.src[p.i] == ']' {
			break
		}
		if p.src[p.i] != ',' {
			return nil, false
		}
		p.i++
	}
	close := p.rng(p.i, p.i+1)
	p.i++
	if len(exprs) > 0 {
		n.tuple.Exprs = exprs // hclsyntax leaves an empty list's nil
	}
	n.tuple.SrcRange = hcl.RangeBetween(open, close)
	n.tuple.OpenRange = open
	return &n.tuple, true
}

// gap reads the spaces and newlines between the tokens of a list.
func (p *plainParser) gap() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t':
			p.i++
		case '\n':
			p.newline()
		default:
			return
		}
	}
}

// plainObject is an object's node with room for one item.
type plainObject struct {
	obj   hclsyntax.ObjectConsExpr
	items [1]hclsyntax.ObjectConsItem
}

// plainKey is the nodes of an object's key written as a name.
type plainKey struct {
	key hclsyntax.ObjectConsKeyExpr
	ref hclsyntax.ScopeTraversalExpr
}

// object reads an object: items of a key, "=" or ":" and a value, separated
// by commas or newlines, with a comma after the last allowed. Unlike a
// list's, its newlines are tokens: an item and its separator are on one
// line, and newlines may come only where an item could start.
func (p *plainParser) object() (hclsyntax.Expression, bool) {
	n := new(plainObject)
	open := p.rng(p.i, p.i+1)
	p.i++
	items := n.items[:0]
	for {
		p.spaces()
		if p.i == len(p.src) {
			return nil, false
		}
		if c := p.src[p.i]; c == '\n' {
			p.newline()
			continue
		} else if c == '}' {
			break
		}
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		p.spaces()
		if p.i == len(p.src) || p.src[p.i] != '=' && p.src[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.spaces()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		items = append(items, hclsyntax.ObjectConsItem{KeyExpr: key, ValueExpr: v})
		p.spaces()
		if p.i == len(p.src) {
			return nil, false
		}
		switch p.src[p.i] {
		case '}':
		case ',':
			p.i++
			continue
		case '\n':
			p.newline()
			continue
		default:
			return nil, false
		}
		break
	}
	close := p.rng(p.i, p.i+1)
	p.i++
	if len(items) > 0 {
		n.obj.Items = items // hclsyntax leaves an empty object's nil
	}
	n.obj.SrcRange = hcl.RangeBetween(open, close)
	n.obj.OpenRange = open
	return &n.obj, true
}

// key reads an object's key: a name, which hclsyntax reads as a reference
// the key expression takes for its name, or a quoted string. (A name such
// as true, or for, is something else to hclsyntax, and is left to it.)
func (p *plainParser) key() (hclsyntax.Expression, bool) {
	if p.src[p.i] == '"' {
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		return &hclsyntax.ObjectConsKeyExpr{Wrapped: v}, true
	}
	name, r, ok := p.ident()
	if !ok {
		return nil, false
	}
	switch name {
	case "true", "false", "null", "for":
		return nil, false
	}
	n := new(plainKey)
	n.ref = hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: name, SrcRange: r}}, SrcRange: r}
	n.key.Wrapped = &n.ref
	return &n.key, true
}

// block reads a block's labels, its body on the lines after the opening
// brace, and the closing brace with the newline after it.
func (p *plainParser) block(parent *hclsyntax.Body, typ string, typeRange hcl.Range) bool {
	n := new(plainBlock)
	b := &n.block
	b.Type, b.TypeRange = typ, typeRange
	for {
		if p.i == len(p.src) {
			return false
		}
		c := p.src[p.i]
		if c == '{' {
			break
		}
		switch {
		case c == '"':
			text, open, _, close, ok := p.quoted()
			if !ok {
				return false
			}
			n.label(text, hcl.RangeBetween(open, close))
		case isIdentStart(c):
			name, r, ok := p.ident()
			if !ok {
				return false
			}
			n.label(name, r)
		default:
			return false
		}
		p.spaces()
	}
	b.OpenBraceRange = p.rng(p.i, p.i+1)
	p.i++
	p.spaces()
	if p.i == len(p.src) || p.src[p.i] != '\n' {
		return false // a one-line block, or something else after the brace
	}
	body, ok := p.body(false, &n.body)
	if !ok {
		return false
	}
	b.CloseBraceRange = p.rng(p.i, p.i+1)
	p.i++
	body.SrcRange = hcl.RangeBetween(b.OpenBraceRange, b.CloseBraceRange)
	body.EndRange = hcl.Range{Filename: p.filename, Start: b.CloseBraceRange.End, End: b.CloseBraceRange.End}
	b.Body = body
	p.spaces()
	if p.i < len(p.src) && !p.endOfLine() {
		return false
	}
	parent.Blocks = append(parent.Blocks, b)
	return true
}

// label adds a label; the first goes in the arrays beside the block.
func (n *plainBlock) label(text string, r hcl.Range) {
	b := &n.block
	if b.Labels == nil {
		n.labels[0], n.labelRanges[0] = text, r
		b.Labels, b.LabelRanges = n.labels[:], n.labelRanges[:]
		return
	}
	b.Labels = append(b.Labels, text)
	b.LabelRanges = append(b.LabelRanges, r)
}
