package schema

import (
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
	for _, src := range plainSources {
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
	var walk func(b *hclsyntax.Body, indent string)
	walk = func(b *hclsyntax.Body, indent string) {
		s.WriteString(indent + "body " + b.SrcRange.String() + " end " + b.EndRange.String() + "\n")
		for _, name := range sortedNames(b.Attributes) {
			a := b.Attributes[name]
			s.WriteString(indent + "  " + name + " " + a.SrcRange.String() + " name " + a.NameRange.String() + " eq " + a.EqualsRange.String() + " expr " + a.Expr.Range().String() + "\n")
			if te, ok := a.Expr.(*hclsyntax.TemplateExpr); ok {
				for _, p := range te.Parts {
					s.WriteString(indent + "    part " + p.Range().String() + "\n")
				}
			}
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
