package schema

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// shape is what content needs to know of a body schema, worked out once per
// schema: which names are arguments, which of them are required, and which
// are block types (none of the loader's nested blocks take labels).
type shape struct {
	schema   *hcl.BodySchema
	args     map[string]bool // name → required
	blocks   map[string]bool
	required int
}

func newShape(sc *hcl.BodySchema) *shape {
	sh := &shape{schema: sc, args: map[string]bool{}, blocks: map[string]bool{}}
	for _, a := range sc.Attributes {
		sh.args[a.Name] = a.Required
		if a.Required {
			sh.required++
		}
	}
	for _, b := range sc.Blocks {
		if len(b.LabelNames) == 0 {
			sh.blocks[b.Type] = true
		}
	}
	return sh
}

// content is body.Content(sh.schema) for a block body fresh from the
// parser, without the bookkeeping Content does so that a body can be
// decoded in parts (maps of the names it has seen, a body for the rest):
// a kilobyte a check in a large suite. It gives the same attributes and
// blocks; a body with anything Content would report (an unknown argument
// or block, a missing required argument, a label) goes to Content itself,
// so the diagnostics are HCL's.
func (sh *shape) content(body hcl.Body) (*hcl.BodyContent, hcl.Diagnostics) {
	b, ok := body.(*hclsyntax.Body)
	if !ok {
		return body.Content(sh.schema)
	}
	required := 0
	for name := range b.Attributes {
		req, known := sh.args[name]
		if !known {
			return body.Content(sh.schema)
		}
		if req {
			required++
		}
	}
	if required < sh.required {
		return body.Content(sh.schema)
	}
	for _, blk := range b.Blocks {
		if !sh.blocks[blk.Type] || len(blk.Labels) > 0 {
			return body.Content(sh.schema)
		}
	}
	// The attributes and blocks are each made in one allocation, not one
	// apiece: a large suite has hundreds of thousands of them.
	out := &hcl.BodyContent{Attributes: make(hcl.Attributes, len(b.Attributes)), MissingItemRange: b.MissingItemRange()}
	attrs := make([]hcl.Attribute, 0, len(b.Attributes))
	for name, a := range b.Attributes {
		attrs = append(attrs, hcl.Attribute{Name: a.Name, Expr: a.Expr, Range: a.SrcRange, NameRange: a.NameRange})
		out.Attributes[name] = &attrs[len(attrs)-1]
	}
	if len(b.Blocks) > 0 {
		blocks := make([]hcl.Block, len(b.Blocks))
		out.Blocks = make(hcl.Blocks, len(b.Blocks))
		for k, blk := range b.Blocks {
			blocks[k] = hcl.Block{Type: blk.Type, Labels: blk.Labels, Body: blk.Body,
				DefRange: blk.DefRange(), TypeRange: blk.TypeRange, LabelRanges: blk.LabelRanges}
			out.Blocks[k] = &blocks[k]
		}
	}
	return out, nil
}
