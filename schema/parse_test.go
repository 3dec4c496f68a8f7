package schema

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// bigSuite is a file large enough to be parsed in pieces, with everything
// that could fool the cutting: braces in strings and interpolations,
// heredocs holding block-like lines, comments of the three kinds, nested
// blocks, for expressions and lines that look like block starts inside all
// of them.
func bigSuite(n int) string {
	var b strings.Builder
	b.WriteString("\ufeff# a byte-order mark and a comment first\nvariable \"host\" {\n  default = \"127.0.0.1\"\n}\n\n")
	for i := range n {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "tcp \"t%d\" {\n  host = var.host\n  port = %d\n  expect {\n    open = true\n  }\n}\n\n", i, 1+i%60000)
		case 1:
			fmt.Fprintf(&b, "http \"h%d\" {\n  url = \"http://${var.host}:%d/{x}/${join(\"}\", [\"{\", \"a\"])}/$${literal}/%%%%{lit}\"\n  expect {\n    status = 200\n  }\n  assert {\n    condition     = self.status == 200 // a } in a comment\n    error_message = <<-EOT\n      a heredoc with a block-like line\ntcp \"not_a_block\" {\n      and a } brace ${var.host}\n      EOT\n  }\n}\n", i, i)
		case 2:
			fmt.Fprintf(&b, "/* a block comment\ntcp \"commented\" {\n*/\ntcp \"f%d\" {\n  for_each = { for p in [1, 2] : tostring(p) => p }\n  host     = \"127.0.0.1\" # {\n  port     = each.value\n  expect {\n    state = \"closed\"\n  }\n}\n\n", i)
		case 3:
			fmt.Fprintf(&b, "dns \"d%d\" {\n  name   = \"a\\\"}b.example\"\n  server = \"127.0.0.1:53\"\n  expect {\n    answers = [\"1.2.3.4\", \"${var.host}\"]\n  }\n}\n", i)
		default:
			fmt.Fprintf(&b, "tcp \"s%d\" {\n  host = (\n    var.host\n  )\n  port = [for x in [%d] : x][0]\n  expect { open = false }\n}\n", i, i%100+1)
		}
	}
	return b.String()
}

// A file cut into pieces parses into exactly the syntax tree a whole parse
// gives: every block, attribute, expression and range.
func TestParseChunkedIsTheWholeParse(t *testing.T) {
	src := []byte(bigSuite(5000))
	if len(src) < chunkedParseFrom {
		t.Fatalf("the test file has %d bytes, fewer than the %d a chunked parse needs", len(src), chunkedParseFrom)
	}
	starts := blockStarts(src, chunkSize)
	if len(starts) < 4 {
		t.Fatalf("the file was cut into %d pieces, want several", len(starts))
	}
	for _, p := range starts[1:] {
		if !isIdentStart(src[p.Byte]) || src[p.Byte-1] != '\n' {
			t.Fatalf("cut at %v, not at the start of a block: %q", p, src[p.Byte:p.Byte+20])
		}
	}
	whole, diags := hclsyntax.ParseConfig(src, "big.nettest.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	root := rootSchema()
	chunked, blocks := parseChunked(src, "big.nettest.hcl", root, nil)
	if chunked == nil {
		t.Fatal("the chunked parse gave up on a valid file")
	}
	wb, cb := whole.Body.(*hclsyntax.Body), chunked.Body.(*hclsyntax.Body)
	if len(wb.Blocks) != len(cb.Blocks) {
		t.Fatalf("%d blocks, want %d", len(cb.Blocks), len(wb.Blocks))
	}
	for i := range wb.Blocks {
		if !reflect.DeepEqual(wb.Blocks[i], cb.Blocks[i]) {
			t.Fatalf("block %d (%s) differs:\nwhole   %#v\nchunked %#v", i, wb.Blocks[i].DefRange(), wb.Blocks[i], cb.Blocks[i])
		}
	}
	if wb.SrcRange != cb.SrcRange || wb.EndRange != cb.EndRange {
		t.Errorf("body ranges %v %v, want %v %v", cb.SrcRange, cb.EndRange, wb.SrcRange, wb.EndRange)
	}
	content, diags := whole.Body.Content(root)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !reflect.DeepEqual(hcl.Blocks(blocks), content.Blocks) {
		t.Errorf("the pieces' root content (%d blocks) is not the file's (%d)", len(blocks), len(content.Blocks))
	}
	type nav interface {
		ContextString(int) string
		ContextDefRange(int) hcl.Range
	}
	wn, cn := whole.Nav.(nav), chunked.Nav.(nav)
	offsets := []int{starts[2].Byte, starts[2].Byte - 1, starts[2].Byte + 3, len(src) - 1, len(src), 0, 10}
	for off := 0; off < len(src); off += 97 {
		offsets = append(offsets, off)
	}
	for _, off := range offsets {
		if w, c := wn.ContextString(off), cn.ContextString(off); w != c {
			t.Fatalf("context at %d: %q, want %q", off, c, w)
		}
		if w, c := wn.ContextDefRange(off), cn.ContextDefRange(off); w != c {
			t.Fatalf("context range at %d: %v, want %v", off, c, w)
		}
	}
}

// A syntax error anywhere makes the chunked parse give up, so the file is
// parsed whole and the diagnostics are HCL's own.
func TestParseChunkedGivesUpOnErrors(t *testing.T) {
	for name, broken := range map[string]string{
		"unclosed block":     "tcp \"broken\" {\n  host = \"x\"\n\n",
		"top-level argument": "oops = 1\n",
		"unclosed string":    "tcp \"broken\" {\n  host = \"x\n}\n",
		"unclosed heredoc":   "tcp \"broken\" {\n  host = <<EOT\nx\n}\n",
	} {
		src := []byte(bigSuite(1500) + broken + bigSuite(1500))
		if f, _ := parseChunked(src, "big.nettest.hcl", rootSchema(), nil); f != nil {
			t.Errorf("%s: the chunked parse accepted a broken file", name)
		}
	}
}

// A file that opens with a comment longer than a piece has a first piece
// without blocks; the navigation still finds every block, and nothing for
// an offset in the comment.
func TestParseChunkedAfterALongComment(t *testing.T) {
	src := []byte(strings.Repeat("# a long licence header\n", 400) + strings.TrimPrefix(bigSuite(500), "\ufeff"))
	if starts := blockStarts(src, chunkSize); len(starts) < 3 || starts[1].Line != 402 {
		t.Fatalf("want a first piece of comments alone, cut at line 402: %v", starts[:min(3, len(starts))])
	}
	whole, diags := hclsyntax.ParseConfig(src, "big.nettest.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	chunked, _ := parseChunked(src, "big.nettest.hcl", rootSchema(), nil)
	if chunked == nil {
		t.Fatal("the chunked parse gave up on a valid file")
	}
	type nav interface{ ContextString(int) string }
	for off := 0; off < len(src); off += 89 {
		if w, c := whole.Nav.(nav).ContextString(off), chunked.Nav.(nav).ContextString(off); w != c {
			t.Fatalf("context at %d: %q, want %q", off, c, w)
		}
	}
}

// A block the root schema does not know (a typo of a kind, one label too
// many) parses, but its piece gives no root content, so the file's body is
// asked for it whole and the diagnostics are HCL's, in HCL's order.
func TestParseChunkedLeavesWrongBlocksToTheBody(t *testing.T) {
	for name, wrong := range map[string]string{
		"unknown type":  "tpc \"typo\" {\n}\n",
		"extra label":   "tcp \"a\" \"b\" {\n}\n",
		"missing label": "variable {\n}\n",
	} {
		src := []byte(bigSuite(1500) + wrong + strings.TrimPrefix(bigSuite(1500), "\ufeff"))
		f, blocks := parseChunked(src, "big.nettest.hcl", rootSchema(), nil)
		if f == nil {
			t.Fatalf("%s: the chunked parse gave up on a file that parses", name)
		}
		if blocks != nil {
			t.Errorf("%s: the pieces gave root content for a file with a wrong block", name)
		}
	}
}

// BenchmarkParse is the parse of a suite of 10,000 plain tcp checks three
// ways: hclsyntax on the whole file, hclsyntax on the pieces blockStarts
// cuts (in parallel on the cores there are: the floor of parsing with HCL
// itself), and parseChunked, which gives the pieces to the plain parse.
//
//	go test ./schema -run '^$' -bench Parse -benchmem
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("defaults {\n  timeout = \"5s\"\n}\n\n")
	for i := range 10000 {
		fmt.Fprintf(&sb, "tcp \"c%d\" {\n  host = \"127.0.0.1\"\n  port = %d\n  expect {\n    open = %t\n  }\n}\n\n", i, 1+i%60000, i%2 == 0)
	}
	src := []byte(sb.String())
	b.Run("hclsyntax-whole", func(b *testing.B) {
		for b.Loop() {
			if _, diags := hclsyntax.ParseConfig(src, "bench.nettest.hcl", hcl.InitialPos); diags.HasErrors() {
				b.Fatal(diags.Error())
			}
		}
	})
	b.Run("hclsyntax-pieces", func(b *testing.B) {
		for b.Loop() {
			starts := blockStarts(src, chunkSize)
			var next atomic.Int64
			var wg sync.WaitGroup
			for range runtime.GOMAXPROCS(0) {
				wg.Go(func() {
					for i := int(next.Add(1)) - 1; i < len(starts); i = int(next.Add(1)) - 1 {
						end := len(src)
						if i+1 < len(starts) {
							end = starts[i+1].Byte
						}
						hclsyntax.ParseConfig(src[starts[i].Byte:end], "bench.nettest.hcl", starts[i])
					}
				})
			}
			wg.Wait()
		}
	})
	b.Run("plain-pieces", func(b *testing.B) {
		for b.Loop() {
			if f, _ := parseChunked(src, "bench.nettest.hcl", rootSchema(), nil); f == nil {
				b.Fatal("the chunked parse gave up")
			}
		}
	})
}
