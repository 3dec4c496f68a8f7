package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// plainSources are pieces in the plain form and just outside it: each the
// plain parse must either give up on or parse into hclsyntax's own tree.
var plainSources = []string{
	"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n",
	"defaults {\n  timeout = \"5s\"\n}\n\ntcp \"c0\" {\n  host = \"127.0.0.1\"\n  port = 1\n  expect {\n    open = false\n  }\n}\n\n",
	"  \t\n\ntcp web {\n\thost\t=  \"a b\"  \n  port = 0012\n  skip = null\n  expect {\n  }\n}",
	"tcp \"x\" \"y\" z {\n}\n",
	"tcp \"\" {\n}\n",
	"tcp {\n}\n",
	"tcp \"web\" {\n  host = \"\"\n}\n",
	"tcp \"web\" {\n  host = \"a\\\\b\"\n}\n",
	"tcp \"web\" {\n  host = \"${var.x}\"\n}\n",
	"tcp \"web\" {\n  host = \"$${x}%%{y}\"\n}\n",
	"tcp \"web\" {\n  host = \"$x%y$\"\n}\n",
	"tcp \"web\" {\n  host = var.host\n}\n",
	"tcp \"web\" {\n  port = 1.5\n}\n",
	"tcp \"web\" {\n  port = 1e3\n}\n",
	"tcp \"web\" {\n  port = 1 + 2\n}\n",
	"tcp \"web\" {\n  ok = true.x\n}\n",
	"tcp \"web\" {\n  ok = true(1)\n}\n",
	"tcp \"web\" {\n  ok = truer\n}\n",
	"tcp \"web\" {\n  a = 1\n  a = 2\n}\n",
	"tcp \"web\" {\n  a = 1 # comment\n}\n",
	"# comment\ntcp \"web\" {\n}\n",
	"tcp \"web\" { a = 1 }\n",
	"tcp \"web\" {\n  a = 1\n} tcp \"x\" {\n}\n",
	"tcp \"web\" {\r\n}\r\n",
	"tcp \"wéb\" {\n}\n",
	"tcp \"web\" {\n  a = \"é\"\n}\n",
	"tcpé \"web\" {\n}\n",
	"tcp \"web\" {\n  a = 1\n",
	"tcp \"web\" {\n  a = \n}\n",
	"tcp \"web\" {\n  a = \"x\n}\n",
	"tcp \"web\"\n{\n}\n",
	"tcp = 1\n",
	"tcp \"web\" {\n  a-b_c9 = -1\n}\n",
	"tcp \"web\" {\n  nested \"l\" {\n    deeper {\n      x = \"y\"\n    }\n  }\n}\n",
	"tcp \"web\" {\n}\n}\n",
	"tcp \"web\" {\n  a = 1\n  }\n",
	"\n",
	"",
	// Lists just outside the plain form, most of them not HCL at all.
	"tcp \"web\" {\n  a = [\n",
	"tcp \"web\" {\n  a = [\n}\n",
	"tcp \"web\" {\n  a = [1\n}\n",
	"tcp \"web\" {\n  a = [1, 2\n  b = 3\n}\n",
	"tcp \"web\" {\n  a = [1 2]\n}\n",
	"tcp \"web\" {\n  a = [\"x\" \"y\"]\n}\n",
	"tcp \"web\" {\n  a = [,]\n}\n",
	"tcp \"web\" {\n  a = [1,,2]\n}\n",
	"tcp \"web\" {\n  a = [,1]\n}\n",
	"tcp \"web\" {\n  a = [1]]\n}\n",
	"tcp \"web\" {\n  a = [1] [2]\n}\n",
	"tcp \"web\" {\n  a = [1][0]\n}\n",
	"tcp \"web\" {\n  a = [1].x\n}\n",
	"tcp \"web\" {\n  a = [1]\n  [0]\n}\n",
	"tcp \"web\" {\n  a = [1] + [2]\n}\n",
	"tcp \"web\" {\n  a = [1, 2\n  + 3]\n}\n",
	"tcp \"web\" {\n  a = [1\n  .5]\n}\n",
	"tcp \"web\" {\n  a = [true\n  ? 1 : 2]\n}\n",
	"tcp \"web\" {\n  a = [for x in y: x]\n}\n",
	"tcp \"web\" {\n  a = [x]\n}\n",
	"tcp \"web\" {\n  a = [\"\"]\n}\n",
	"tcp \"web\" {\n  a = [\"${x}\"]\n}\n",
	"tcp \"web\" {\n  a = [-1]\n}\n",
	"tcp \"web\" {\n  a = [1.5]\n}\n",
	"tcp \"web\" {\n  a = [\"é\"]\n}\n",
	"tcp \"web\" {\n  a = [truer]\n}\n",
	"tcp \"web\" {\n  a = [1] # comment\n}\n",
	"tcp \"web\" {\n  a = [1, # comment\n  2]\n}\n",
	"tcp \"web\" {\n  a = [1, // comment\n  2]\n}\n",
	"tcp \"web\" {\n  a = [1,\r\n  2]\n}\n",
	"tcp \"web\" {\n  a = [{}]\n}\n",
	"tcp \"web\" {\n  a = [(1)]\n}\n",
	"tcp \"web\" {\n  a = [1] b = 2\n}\n",
	"tcp \"web\" {\n  a = [1], b = 2\n}\n",
	"tcp \"web\" {\n  a = [\n1]\n  b = [2\n]\n  c = [3]}\n",
	"tcp \"web\" [1] {\n}\n",
	// Objects just outside the plain form, most of them not HCL at all.
	"tcp \"web\" {\n  a = {\n",
	"tcp \"web\" {\n  a = {\n}\n",
	"tcp \"web\" {\n  a = { b = 1\n}\n",
	"tcp \"web\" {\n  a = { b = 1 c = 2 }\n}\n",
	"tcp \"web\" {\n  a = { b = 1,, c = 2 }\n}\n",
	"tcp \"web\" {\n  a = { b = 1\n  , c = 2 }\n}\n",
	"tcp \"web\" {\n  a = {,}\n}\n",
	"tcp \"web\" {\n  a = { b }\n}\n",
	"tcp \"web\" {\n  a = { b = }\n}\n",
	"tcp \"web\" {\n  a = { b =\n  1 }\n}\n",
	"tcp \"web\" {\n  a = { b\n  = 1 }\n}\n",
	"tcp \"web\" {\n  a = { b == 1 }\n}\n",
	"tcp \"web\" {\n  a = { b => 1 }\n}\n",
	"tcp \"web\" {\n  a = { b = 1 + 2 }\n}\n",
	"tcp \"web\" {\n  a = { b.c = 1 }\n}\n",
	"tcp \"web\" {\n  a = { b::c = 1 }\n}\n",
	"tcp \"web\" {\n  a = { b ::c }\n}\n",
	"tcp \"web\" {\n  a = { (b) = 1 }\n}\n",
	"tcp \"web\" {\n  a = { b(1) = 1 }\n}\n",
	"tcp \"web\" {\n  a = { b = x }\n}\n",
	"tcp \"web\" {\n  a = { 1 = 2 }\n}\n",
	"tcp \"web\" {\n  a = { true = 2, false = 3, null = 4 }\n}\n",
	"tcp \"web\" {\n  a = { for = 1 }\n}\n",
	"tcp \"web\" {\n  a = { for k, v in x: k => v }\n}\n",
	"tcp \"web\" {\n  a = { b = 1, for = 2 }\n}\n",
	"tcp \"web\" {\n  a = { \"\" = 1 }\n}\n",
	"tcp \"web\" {\n  a = { \"${b}\" = 1 }\n}\n",
	"tcp \"web\" {\n  a = { b = \"${c}\" }\n}\n",
	"tcp \"web\" {\n  a = { b = 1 } # comment\n}\n",
	"tcp \"web\" {\n  a = { # comment\n  b = 1 }\n}\n",
	"tcp \"web\" {\n  a = { b = 1 }.b\n}\n",
	"tcp \"web\" {\n  a = { b = 1 }[\"b\"]\n}\n",
	"tcp \"web\" {\n  a = { b = 1 }}\n",
	"tcp \"web\" {\n  a = { b = 1 }\n  c = { d = 2 } e = 3\n}\n",
	"tcp \"web\" {\n  a = { b = 1\r\n  }\n}\n",
	"tcp \"web\" {\n  a = { é = 1 }\n}\n",
	"tcp \"web\" {\n  a = { bé = 1 }\n}\n",
	"tcp \"web\" {\n  a = { b = [1\n  }\n}\n",
	"tcp \"web\" {\n  a = [{ b = 1 }, { c = 2\n  d = 3 }, { e = 4\n  , f = 5 }]\n}\n",
}

// plainCollections are pieces with lists and objects in the plain form, which the
// plain parse must take.
var plainCollections = []string{
	"dns \"c0\" {\n  name   = \"c0.bench.test\"\n  server = \"127.0.0.1:53\"\n  expect {\n    answers = [\"127.0.0.1\"]\n  }\n}\n",
	"tcp \"web\" {\n  a = []\n  b = [ ]\n  c = [1, 2,3 ]\n  d = [true, false, null]\n  e = [\"a\", \"b\",]\n}\n",
	"tcp \"web\" {\n  a = [[], [1, [\"x\"]], [[]]]\n}\n",
	"tcp \"web\" {\n  a = [\n    \"x\",\n    \"y\",\n  ]\n  b = [\n\n  ]\n  c = [\n  1\n  ,\n  2]\n  d = [\n\n    []\n  ,[\n  ]]\n}\n",
	"tcp \"web\" {\n  a = [\t\"x\"\t,\t1\t]\t\n}\n",
	// Objects.
	"http \"web\" {\n  url     = \"http://127.0.0.1/\"\n  headers = { Authorization = \"Bearer x\", \"X-Trace\" = \"1\" }\n  expect {\n    headers_match = { content-type = \"^application/json\" }\n  }\n}\n",
	"tcp \"web\" {\n  a = {}\n  b = { }\n  c = {\n  }\n  d = {\n\n    x = 1\n\n    \"y\": \"z\",\n    z = null,\n  }\n  e = {x=1,y=2}\n  f = { x = 1, x = 2 }\n}\n",
	"tcp \"web\" {\n  a = { b = { c = [1, {}] }, d = [{ e = \"f\" }, [\n  { g = true }\n  ]] }\n}\n",
	"tcp \"web\" {\n  a = [{\n    b = 1\n  }, {\n    c = 2\n  },\n  ]\n}\n",
}

// The plain parse of a piece gives exactly hclsyntax.ParseConfig's tree,
// ranges and values, or gives up; and it does not give up on the plain form.
func TestParsePlainIsHCLsParse(t *testing.T) {
	accepted := 0
	for _, src := range plainSources {
		if checkPlain(t, []byte(src), hcl.InitialPos) {
			accepted++
		}
	}
	if accepted < 6 {
		t.Errorf("the plain parse took %d of the sources, want the plain ones", accepted)
	}
	for _, src := range plainCollections {
		if !checkPlain(t, []byte(src), hcl.InitialPos) {
			t.Errorf("the plain parse gave up on %q", src)
		}
	}
	// Lists as deep as the plain parse goes, and deeper: hclsyntax's.
	nested := func(depth int) []byte {
		return []byte("tcp \"web\" {\n  a = " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n}\n")
	}
	if !checkPlain(t, nested(maxPlainDepth), hcl.InitialPos) {
		t.Errorf("the plain parse gave up on lists %d deep", maxPlainDepth)
	}
	if _, ok := parsePlain(nested(maxPlainDepth+1), "f.nettest.hcl", hcl.InitialPos); ok {
		t.Errorf("the plain parse took lists %d deep", maxPlainDepth+1)
	}
	// A piece starting inside a file, as blockStarts cuts them.
	src := []byte(strings.Repeat(plainSources[1], 200))
	for _, start := range blockStarts(src, 256)[1:] {
		if !checkPlain(t, src[start.Byte:], start) {
			t.Fatalf("the plain parse gave up on a plain piece at %v", start)
		}
	}
}

// Every suite file of the repository: where the plain parse takes a piece,
// its tree is hclsyntax's.
func TestParsePlainOnTheRepositorysSuites(t *testing.T) {
	var files []string
	for _, pattern := range []string{"testdata/*/*.hcl", "testdata/*/*/*.hcl", "../examples/*/*.hcl", "../examples/*.hcl", "../cmd/nettest/testdata/*/*.hcl"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found %d suite files", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkPlain(t, src, hcl.InitialPos)
		for _, start := range blockStarts(src, 1)[1:] {
			checkPlain(t, src[start.Byte:], start)
		}
	}
}

func FuzzParsePlain(f *testing.F) {
	for _, src := range append(plainSources, plainCollections...) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) { checkPlain(t, []byte(src), hcl.InitialPos) })
}

// checkPlain fails t when the plain parse of src takes it and gives a tree
// other than hclsyntax's; it reports whether the plain parse took it.
func checkPlain(t *testing.T, src []byte, start hcl.Pos) bool {
	t.Helper()
	plain, ok := parsePlain(src, "f.nettest.hcl", start)
	if !ok {
		return false
	}
	f, diags := hclsyntax.ParseConfig(src, "f.nettest.hcl", start)
	if len(diags) > 0 {
		t.Errorf("the plain parse took %q, which has diagnostics: %s", src, diags.Error())
		return true
	}
	if want := f.Body.(*hclsyntax.Body); !reflect.DeepEqual(plain, want) {
		t.Errorf("the plain parse of %q differs:\n got %s\nwant %s", src, dump(plain), dump(want))
	}
	return true
}

func dump(b *hclsyntax.Body) string {
	var s strings.Builder
	var expr func(e hclsyntax.Expression, indent string)
	expr = func(e hclsyntax.Expression, indent string) {
		s.WriteString(fmt.Sprintf("%s%T %s", indent, e, e.Range()))
		switch e := e.(type) {
		case *hclsyntax.LiteralValueExpr:
			s.WriteString(" " + e.Val.GoString() + "\n")
		case *hclsyntax.TemplateExpr:
			s.WriteString("\n")
			for _, p := range e.Parts {
				expr(p, indent+"  ")
			}
		case *hclsyntax.TupleConsExpr:
			s.WriteString(fmt.Sprintf(" open %s nil %t\n", e.OpenRange, e.Exprs == nil))
			for _, x := range e.Exprs {
				expr(x, indent+"  ")
			}
		case *hclsyntax.ObjectConsExpr:
			s.WriteString(fmt.Sprintf(" open %s nil %t\n", e.OpenRange, e.Items == nil))
			for _, it := range e.Items {
				expr(it.KeyExpr, indent+"  key ")
				expr(it.ValueExpr, indent+"  value ")
			}
		case *hclsyntax.ObjectConsKeyExpr:
			s.WriteString(fmt.Sprintf(" force %t\n", e.ForceNonLiteral))
			expr(e.Wrapped, indent+"  ")
		case *hclsyntax.ScopeTraversalExpr:
			s.WriteString("\n")
			for _, tr := range e.Traversal {
				s.WriteString(fmt.Sprintf("%s  %#v\n", indent, tr))
			}
		default:
			s.WriteString("\n")
		}
	}
	var walk func(b *hclsyntax.Body, indent string)
	walk = func(b *hclsyntax.Body, indent string) {
		s.WriteString(indent + "body " + b.SrcRange.String() + " end " + b.EndRange.String() + "\n")
		for _, name := range sortedNames(b.Attributes) {
			a := b.Attributes[name]
			s.WriteString(indent + "  " + name + " " + a.SrcRange.String() + " name " + a.NameRange.String() + " eq " + a.EqualsRange.String() + "\n")
			expr(a.Expr, indent+"    ")
		}
		for _, blk := range b.Blocks {
			s.WriteString(indent + "  block " + blk.Type + " " + strings.Join(blk.Labels, ",") + " type " + blk.TypeRange.String() + " open " + blk.OpenBraceRange.String() + " close " + blk.CloseBraceRange.String() + "\n")
			for _, r := range blk.LabelRanges {
				s.WriteString(indent + "    label " + r.String() + "\n")
			}
			walk(blk.Body, indent+"    ")
		}
	}
	walk(b, "")
	return s.String()
}

func sortedNames(attrs hclsyntax.Attributes) []string {
	var names []string
	for n := range attrs {
		names = append(names, n)
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if names[j] < names[i] {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	return names
}

// BenchmarkParsePlainDNS is the parse of a suite of 1,000 dns checks in the
// shape bench/peers generates, each expecting a list of answers, by
// hclsyntax and by the plain parse, piece by piece on one core: the plain
// parse took no list before, and so every piece of such a suite was
// hclsyntax's.
//
//	go test ./schema -run '^$' -bench ParsePlain -benchmem
func BenchmarkParsePlainDNS(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "dns \"c%d\" {\n  name   = \"c%d.bench.test\"\n  server = \"127.0.0.1:40357\"\n  expect {\n    answers = [\"127.0.0.1\"]\n  }\n}\n\n", i, i)
	}
	src := []byte(sb.String())
	starts := blockStarts(src, chunkSize)
	pieces := func(b *testing.B, parse func(src []byte, start hcl.Pos)) {
		b.ReportAllocs()
		for b.Loop() {
			for i, start := range starts {
				end := len(src)
				if i+1 < len(starts) {
					end = starts[i+1].Byte
				}
				parse(src[start.Byte:end], start)
			}
		}
	}
	b.Run("hclsyntax", func(b *testing.B) {
		pieces(b, func(src []byte, start hcl.Pos) {
			if _, diags := hclsyntax.ParseConfig(src, "bench.nettest.hcl", start); diags.HasErrors() {
				b.Fatal(diags.Error())
			}
		})
	})
	b.Run("plain", func(b *testing.B) {
		pieces(b, func(src []byte, start hcl.Pos) {
			if _, ok := parsePlain(src, "bench.nettest.hcl", start); !ok {
				b.Fatal("the plain parse gave up on a piece")
			}
		})
	})
}
