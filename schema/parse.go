package schema

import (
	"bytes"
	"io/fs"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// chunkedParseFrom is the file size from which a file is parsed in pieces,
// each by the plain parse when it can: two pieces of chunkSize. Below it,
// one ordinary parse is as fast and start-up stays untouched. (At 64 KiB,
// a suite of 1,000 checks over a list of 1,000 addresses in a locals block,
// 18 KiB, went to hclsyntax whole: validate 25 ms of CPU, 18 in pieces.)
const chunkedParseFrom = 8 << 10

// chunkSize is the size a piece aims at: small enough that the lexer's
// token slice, which hclsyntax grows by copying and which holds about
// 100 bytes per token, stays in the cache and dies young, large enough that
// handing pieces to the workers costs nothing.
const chunkSize = 4 << 10

// parseFile parses one suite file and registers it with the parser, as
// parser.ParseHCLFile does. A large file is cut at the starts of its
// top-level blocks and the pieces are parsed in parallel on the cores there
// are: hclsyntax lexes a whole file into one token slice before parsing,
// and for a suite of 100,000 checks growing that slice by copying is most
// of the load time and of the peak memory. Each piece is parsed at its true
// position, so every range (line, column, byte) is the one a whole-file
// parse gives, and the blocks are joined in file order. When any piece has
// a diagnostic, or the cut went anywhere but between blocks, the file is
// parsed again whole, so the diagnostics are exactly HCL's own.
//
// Each top-level block of a piece that parsed cleanly is handed to each,
// when it is not nil, on the worker that parsed it (see predecode). The
// workers also take each piece's content for root, so that a large file's
// blocks come back as the file's Content(root) would give them (blocks)
// without that walk of 100,000 blocks on one core; blocks is nil when the
// file was parsed whole or some block does not fit root (the caller then
// asks the file's body, which says what is wrong, in HCL's order).
func parseFile(parser *hclparse.Parser, fsys fs.FS, name string, root *hcl.BodySchema, each blockFunc) (f *hcl.File, blocks []*hcl.Block, diags hcl.Diagnostics) {
	if f, ok := parser.Files()[name]; ok {
		return f, nil, nil
	}
	src, diags := readSource(fsys, name)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	if len(src) < chunkedParseFrom {
		f, diags := parser.ParseHCL(src, name)
		return f, nil, diags
	}
	if f, blocks := parseChunked(src, name, root, each); f != nil {
		parser.AddFile(name, f)
		return f, blocks, nil
	}
	f, diags = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	parser.AddFile(name, f)
	return f, nil, diags
}

// ReleaseSyntax lets go of the files' syntax trees and text once the
// diagnostics of loading are written: the checks keep the expressions they
// evaluate at run time, and nothing else reads the trees or the text again
// (a run's own errors name a file and a line, without a snippet). In a
// suite of 100,000 checks the trees are a third of what loading keeps; the
// text of a generated suite is ~80 bytes a check, a tenth of what a run
// keeps.
func (s *Suite) ReleaseSyntax() {
	for name := range s.Files {
		s.Files[name] = &hcl.File{}
	}
}

// shedTrees lets go of the syntax trees of the files parsed in pieces once
// their blocks are decoded, before the checks are evaluated: the checks
// keep the expressions they evaluate, diagnostics need only the text and
// the navigation, and in a suite of 100,000 checks the trees are 200 MiB
// that would otherwise be live beside everything evaluation makes. The
// parser holds the files too (for --var-file's diagnostics), so its entries
// are replaced as well.
func (s *Suite) shedTrees(parser *hclparse.Parser) {
	for name, f := range s.Files {
		if nav, chunked := f.Nav.(blockNav); chunked {
			slim := &hcl.File{Bytes: f.Bytes, Nav: nav}
			s.Files[name] = slim
			parser.AddFile(name, slim)
		}
	}
}

// blockFunc is handed each top-level block of a large file as its piece is
// parsed, but for those the plain parse decoded itself (see decodedRun);
// it returns the block as an hcl.Block when it made one of it, for the
// file's content to hold instead of another copy, or nil.
type blockFunc func(b *hclsyntax.Block, src []byte) *hcl.Block

// parseChunked parses src in pieces and joins them into one file, or
// returns nil when any piece does not parse cleanly into blocks alone.
// each, when not nil, is called with every block of a piece that did.
// blocks is the file's content for root, when root is not nil and every
// block fits it (see parseFile).
func parseChunked(src []byte, name string, root *hcl.BodySchema, each blockFunc) (f *hcl.File, blocks []*hcl.Block) {
	starts := blockStarts(src, chunkSize)
	if len(starts) < 2 {
		return nil, nil
	}
	bodies := make([]*hclsyntax.Body, len(starts))
	ok := make([]bool, len(starts))
	navs := make([][]navBlock, len(starts))
	contents := make([][]*hcl.Block, len(starts))
	contentOK := make([]bool, len(starts))
	// labels is the number of labels of each block type root has.
	var labels map[string]int
	if root != nil {
		labels = make(map[string]int, len(root.Blocks))
		for _, b := range root.Blocks {
			labels[b.Type] = len(b.LabelNames)
		}
	}
	// hasDecoded is whether the plain parse decoded any block, which the
	// joined tree then lacks.
	var hasDecoded atomic.Bool
	var next sync.WaitGroup
	work := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(starts)) {
		next.Go(func() {
			for i := range work {
				start := starts[i]
				end := len(src)
				if i+1 < len(starts) {
					end = starts[i+1].Byte
				}
				body, decoded, plain := parsePlainChecks(src[start.Byte:end], name, start, each != nil)
				ok[i] = plain
				if !plain {
					f, diags := hclsyntax.ParseConfig(src[start.Byte:end], name, start)
					var isSyntax bool
					body, isSyntax = f.Body.(*hclsyntax.Body)
					ok[i] = !diags.HasErrors() && len(diags) == 0 && isSyntax && len(body.Attributes) == 0
				}
				bodies[i] = body
				if !ok[i] {
					continue
				}
				if len(decoded) > 0 {
					hasDecoded.Store(true)
				}
				navs[i] = make([]navBlock, 0, len(body.Blocks)+len(decoded))
				// The content for root is the hcl.Block of each block,
				// when every block is of a type root has, with the labels
				// it has: exactly when Content(root) raises nothing, the
				// root schema having no arguments. The blocks the plain
				// parse decoded come in file order among the others, and
				// fit root (a check kind's block with its one label).
				var content []*hcl.Block
				contentOK[i] = root != nil
				if root != nil {
					content = make([]*hcl.Block, 0, 2*len(body.Blocks)+1)
				}
				for k := 0; k <= len(body.Blocks); k++ {
					run := 0
					for run < len(decoded) && decoded[run].at == k {
						navs[i] = append(navs[i], decoded[run].nav)
						run++
					}
					if run > 0 {
						if root != nil {
							content = append(content, runBlock(decoded[:run]))
						}
						decoded = decoded[run:]
					}
					if k == len(body.Blocks) {
						break
					}
					b := body.Blocks[k]
					navs[i] = append(navs[i], navOf(b))
					var hb *hcl.Block
					if each != nil {
						hb = each(b, src)
					}
					if root == nil {
						continue
					}
					if n, known := labels[b.Type]; !known || n != len(b.Labels) {
						contentOK[i] = false
					}
					if hb == nil {
						hb = b.AsHCLBlock()
					}
					content = append(content, hb)
				}
				if contentOK[i] {
					contents[i] = content
				}
			}
		})
	}
	for i := range starts {
		work <- i
	}
	close(work)
	next.Wait()

	n, contentCount := 0, 0
	haveContent := root != nil
	for i, b := range bodies {
		if !ok[i] {
			return nil, nil
		}
		n += len(b.Blocks)
		contentCount += len(contents[i])
		haveContent = haveContent && contentOK[i]
	}
	if hasDecoded.Load() && !haveContent {
		// The caller would ask the joined tree for the content, to say
		// what is wrong in HCL's order, and the tree lacks the blocks the
		// plain parse decoded: the file is parsed whole instead, as a
		// file with an error in it is.
		return nil, nil
	}
	first, last := bodies[0], bodies[len(bodies)-1]
	body := &hclsyntax.Body{
		Attributes: hclsyntax.Attributes{},
		Blocks:     make(hclsyntax.Blocks, 0, n),
		SrcRange:   hcl.RangeBetween(first.SrcRange, last.SrcRange),
		EndRange:   last.EndRange,
	}
	var nav blockNav
	for i, b := range bodies {
		body.Blocks = append(body.Blocks, b.Blocks...)
		if len(navs[i]) > 0 { // the first piece may hold only comments
			nav.pieces = append(nav.pieces, navs[i])
		}
	}
	if haveContent {
		blocks = make([]*hcl.Block, 0, contentCount)
		for _, c := range contents {
			blocks = append(blocks, c...)
		}
	}
	return &hcl.File{Body: body, Bytes: src, Nav: nav}, blocks
}

// blockStarts returns the positions at which src may be cut, about every
// size bytes: the first byte of a line that starts a top-level block, outside
// any brace, bracket, parenthesis, string, heredoc or comment. The first
// position is the start of the file.
func blockStarts(src []byte, size int) []hcl.Pos {
	starts := []hcl.Pos{hcl.InitialPos}
	line := 1
	last := 0
	// frames is the nesting: each is a bracket depth in code, or a string
	// being read; an interpolation inside a string opens a code frame.
	type frame struct {
		str   bool
		depth int
	}
	frames := []frame{{}}
	for i := 0; i < len(src); i++ {
		top := &frames[len(frames)-1]
		// Most bytes (names, values, spaces) mean nothing to the cut:
		// they are skipped in a tight loop, as every byte of a large file
		// goes through here on one core before the parse starts.
		skip := &inCode
		if top.str {
			skip = &inString
		}
		for i < len(src) && skip[src[i]] {
			i++
		}
		if i == len(src) {
			break
		}
		c := src[i]
		if top.str {
			switch {
			case c == '\\':
				i++
				if i < len(src) && src[i] == '\n' {
					line++
				}
			case c == '"':
				frames = frames[:len(frames)-1]
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == c && i+2 < len(src) && src[i+2] == '{':
				i += 2 // $${ and %%{ are a literal ${ and %{
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
				i++
				frames = append(frames, frame{})
			case c == '\n':
				line++ // a newline in a string is a syntax error; the parse says so
			}
			continue
		}
		switch c {
		case '\n':
			line++
			if len(frames) == 1 && top.depth == 0 && i+1 < len(src) && i+1-last >= size && isIdentStart(src[i+1]) {
				last = i + 1
				starts = append(starts, hcl.Pos{Line: line, Column: 1, Byte: last})
			}
		case '"':
			frames = append(frames, frame{str: true})
		case '{', '[', '(':
			top.depth++
		case '}', ']', ')':
			if top.depth == 0 && len(frames) > 1 {
				frames = frames[:len(frames)-1] // the end of an interpolation
				continue
			}
			top.depth--
		case '#':
			i = endOfLine(src, i) - 1
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				i = endOfLine(src, i) - 1
			} else if i+1 < len(src) && src[i+1] == '*' {
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return starts[:1]
				}
				line += bytes.Count(src[i:i+2+end], []byte("\n"))
				i += end + 3
			}
		case '<':
			if i+1 < len(src) && src[i+1] == '<' {
				skip, lines, ok := heredoc(src[i:])
				if !ok {
					return starts[:1]
				}
				i += skip - 1
				line += lines
			}
		}
	}
	if len(frames) != 1 {
		return starts[:1] // unbalanced: let one whole parse report it
	}
	return starts
}

// inCode and inString are the bytes blockStarts passes over without a
// look, in code and in a string: all but those its switches handle.
var inCode, inString = func() (code, str [256]bool) {
	for c := range 256 {
		code[c], str[c] = true, true
	}
	for _, c := range "\n\"{[()]}#/<" {
		code[c] = false
	}
	for _, c := range "\\\"$%\n" {
		str[c] = false
	}
	return code, str
}()

// heredoc measures a heredoc starting at src[0] (<<EOT or <<-EOT): the bytes
// up to the end of its closing line, without that line's newline, and the
// newlines in them.
func heredoc(src []byte) (n, lines int, ok bool) {
	i := 2
	if i < len(src) && src[i] == '-' {
		i++
	}
	j := i
	for j < len(src) && (isIdentStart(src[j]) || src[j] >= '0' && src[j] <= '9' || src[j] == '-') {
		j++
	}
	marker := src[i:j]
	if len(marker) == 0 {
		return 2, 0, true // a << that opens no heredoc: HCL has no such operator, the parse reports it
	}
	for k := endOfLine(src, j); k < len(src); {
		lines++
		end := endOfLine(src, k+1)
		if bytes.Equal(bytes.TrimSpace(src[k+1:end]), marker) {
			return end, lines, true
		}
		k = end
	}
	return 0, 0, false
}

func endOfLine(src []byte, i int) int {
	if n := bytes.IndexByte(src[i:], '\n'); n >= 0 {
		return i + n
	}
	return len(src)
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// blockNav tells diagnostics which top-level block an offset is in (`on
// file line 3, in tcp "web":`), as hclsyntax's own navigation does for a
// file parsed whole. It holds what it needs of each block, not the blocks,
// so that the syntax trees can go once the checks are decoded (see
// Suite.shedTrees), piece by piece as the file was parsed (no piece is
// empty). The blocks are in file order, so a binary search finds the
// piece, and another the block.
type blockNav struct {
	pieces [][]navBlock
}

type navBlock struct {
	start, end int // the block's byte range
	def        hcl.Range
	typ        string
	labels     []string
}

// navOf is what the navigation keeps of a block.
func navOf(b *hclsyntax.Block) navBlock {
	r := b.Range()
	// The labels are copied: the plain parse keeps a block's labels beside
	// its body, which would keep the whole block.
	return navBlock{start: r.Start.Byte, end: r.End.Byte, def: b.DefRange(), typ: b.Type, labels: slices.Clone(b.Labels)}
}

func (n blockNav) block(offset int) *navBlock {
	p := sort.Search(len(n.pieces), func(i int) bool {
		piece := n.pieces[i]
		return piece[len(piece)-1].end > offset
	})
	if p == len(n.pieces) {
		return nil
	}
	blocks := n.pieces[p]
	i := sort.Search(len(blocks), func(i int) bool { return blocks[i].end > offset })
	if blocks[i].start <= offset {
		return &blocks[i]
	}
	return nil
}

// ContextString names the block holding offset: its type and labels.
func (n blockNav) ContextString(offset int) string {
	b := n.block(offset)
	if b == nil {
		return ""
	}
	var s bytes.Buffer
	s.WriteString(b.typ)
	for _, l := range b.labels {
		s.WriteString(" " + strconv.Quote(l))
	}
	return s.String()
}

// ContextDefRange is the header of the block holding offset.
func (n blockNav) ContextDefRange(offset int) hcl.Range {
	if b := n.block(offset); b != nil {
		return b.def
	}
	return hcl.Range{}
}
