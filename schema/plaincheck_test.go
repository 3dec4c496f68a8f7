package schema

import (
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/checks"
	_ "github.com/nettest/nettest/checks/all"
	"github.com/zclconf/go-cty/cty"
)

// plainChecks are check blocks the plain parse decodes itself (decoded
// true) and ones it must leave to decodeCheck: each is compared with what
// decodeCheck makes of hclsyntax's tree by checkPlainCheck.
var plainChecks = []struct {
	src     string
	decoded bool
}{
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n", true},
	{"tcp web {\n  host  = \"127.0.0.1\"\n  port  = \"8080\"\n\n  expect {\n    open  = \"false\"\n    state = \"closed\"\n  }\n}\n", true},
	{"dns \"d\" {\n  name   = \"a.lab.test\"\n  server = \"127.0.0.1:53\"\n  expect {\n    answers = [\"127.0.0.1\", \"::1\",]\n    rcode   = \"NOERROR\"\n  }\n}\n", true},
	{"dns \"d\" {\n  name   = \"a.lab.test\"\n  expect {\n    answers = [\n      \"127.0.0.1\",\n    ]\n  }\n}\n", true},
	{"dns \"d\" {\n  name = \"a.lab.test\"\n  expect {\n    answers = []\n  }\n}\n", true},
	{"http \"h\" {\n  url    = \"http://127.0.0.1:8080/\"\n  method = \"HEAD\"\n  expect {\n    status = [200, 204]\n  }\n}\n", true},
	{"ping p {\n  host    = \"127.0.0.1\"\n  packets = 3\n  expect {\n    reachable = true\n  }\n}\n", true},
	{"tcp \"a\" {\n  host = \"127.0.0.1\"\n  port = 1\n  expect {\n    open = true\n  }\n}\n\ntcp \"b\" {\n  host = \"127.0.0.1\"\n  port = 2\n  timeout = \"1s\"\n  expect {\n    open = true\n  }\n}\n", true},

	// Lines read again in the same slot (literal's folded values), in
	// another slot, with spaces after, and a list that starts the same but
	// goes on to the next line.
	{"tcp \"a\" {\n  host = \"open\"\n  port = 80\n  expect {\n    state = \"open\"\n  }\n}\n\ntcp \"b\" {\n  host = \"open\"  \n  port = 80\n  expect {\n    state = \"open\"\n    open = true\n  }\n}\n\ntcp \"c\" {\n  host = \"127.0.0.1\"\n  port = \"80\"\n  expect {\n    open = \"true\"\n  }\n}\n\ntcp \"d\" {\n  host = \"80\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n", true},
	{"dns \"a\" {\n  name = \"a.lab.test\"\n  expect {\n    answers = [\"127.0.0.1\"]\n  }\n}\n\ndns \"b\" {\n  name = \"a.lab.test\"\n  expect {\n    answers = [\"127.0.0.1\",\n      \"::1\"]\n  }\n}\n\ndns \"c\" {\n  name = \"a.lab.test\"\n  expect {\n    answers = [\"127.0.0.1\"]\n  }\n}\n", true},
	{"tcp \"a\" {\n  host = \"127.0.0.1\"\n  port = 70000\n  expect {\n    open = true\n  }\n}\n\ntcp \"b\" {\n  host = \"127.0.0.1\"\n  port = 70000\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 70000\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n}\n", false},
	{"tcp \"web\" {\n  host    = \"127.0.0.1\"\n  port    = 80\n  retries = 2\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = true\n  }\n  assert {\n    condition = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = true\n  }\n  expect {\n    open = false\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = null\n  port = 80\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  colour = \"red\"\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  port = 80\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = \"maybe\"\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  host = \"127.0.0.2\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" \"x\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"9web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect {\n    open = true\n  }\n}\n", false},
	{"tcp \"web\" {\n  host = \"127.0.0.1\"\n  port = 80\n  expect \"x\" {\n    open = true\n  }\n}\n", false},
	{"dns \"d\" {\n  name = \"a.lab.test\"\n  expect {\n    answers = [null]\n  }\n}\n", false},
	{"dns \"d\" {\n  name = \"a.lab.test\"\n  expect {\n    answers = [[\"127.0.0.1\"]]\n  }\n}\n", false},
	{"http \"h\" {\n  url = \"http://127.0.0.1/\"\n  expect {\n    status = \"abc\"\n  }\n}\n", false},
	{"http \"h\" {\n  url     = \"http://127.0.0.1/\"\n  headers = { a = \"b\" }\n  expect {\n    status = 200\n  }\n}\n", false},
	{"defaults {\n  timeout = \"5s\"\n}\n", false},
}

func TestPlainCheckIsDecodeCheck(t *testing.T) {
	for _, tt := range plainChecks {
		if decoded := checkPlainCheck(t, []byte(tt.src)); decoded != tt.decoded {
			t.Errorf("plain parse decoded %q: %v, want %v", tt.src, decoded, tt.decoded)
		}
	}
}

func FuzzPlainCheck(f *testing.F) {
	for _, tt := range plainChecks {
		f.Add(tt.src)
	}
	f.Fuzz(func(t *testing.T, src string) { checkPlainCheck(t, []byte(src)) })
}

// checkPlainCheck fails t when a check block the plain parse decoded
// differs from what decodeCheck makes of the block's tree: the block left
// in the file's tree, the check, its arguments and expectations as
// evaluated. It reports whether the plain parse decoded the first block.
func checkPlainCheck(t *testing.T, src []byte) bool {
	t.Helper()
	const name = "f.nettest.hcl"
	fast, decoded, ok := parsePlainChecks(src, name, hcl.InitialPos, true)
	tree, treeOK := parsePlain(src, name, hcl.InitialPos)
	if ok != treeOK {
		t.Fatalf("%q: the plain parse took it %v with decoding, %v without", src, ok, treeOK)
	}
	if !ok {
		return false
	}
	if len(fast.Blocks)+len(decoded) != len(tree.Blocks) || fast.SrcRange != tree.SrcRange {
		t.Fatalf("%q: %d blocks and %d decoded in %s, want %d in %s", src, len(fast.Blocks), len(decoded), fast.SrcRange, len(tree.Blocks), tree.SrcRange)
	}
	first := false
	next := 0 // of fast's blocks
	for i, want := range tree.Blocks {
		if len(decoded) == 0 || decoded[0].at != next {
			if !reflect.DeepEqual(fast.Blocks[next], want) {
				t.Errorf("%q: block %d, not decoded, differs from hclsyntax's", src, i)
			}
			next++
			continue
		}
		d := decoded[0]
		got := d.check
		decoded = decoded[1:]
		first = first || i == 0
		k, _ := checks.Lookup(want.Type)
		wantCheck, diags := decodeCheck(k, want.AsHCLBlock(), src)
		if len(diags) > 0 {
			t.Errorf("%q: the plain parse decoded block %d, which has diagnostics: %s", src, i, diags.Error())
			continue
		}
		// The navigation keeps of it what it keeps of hclsyntax's block.
		if !reflect.DeepEqual(d.nav, navOf(want)) {
			t.Errorf("%q: block %d navigation %+v, want %+v", src, i, d.nav, navOf(want))
		}
		if got.Kind != wantCheck.Kind || got.Name != wantCheck.Name || got.DeclRange != wantCheck.DeclRange ||
			got.ForEach != nil || got.DependsOn != nil || got.Meta != nil || got.Args != nil || got.Expect != nil || got.Asserts != nil ||
			wantCheck.ForEach != nil || wantCheck.DependsOn != nil || wantCheck.Meta != nil || wantCheck.Asserts != nil {
			t.Errorf("%q: check %+v, want %+v", src, got, wantCheck)
		}
		for n, arg := range k.Args {
			w := wantCheck.args[n]
			if w == cty.NilVal {
				var d hcl.Diagnostics
				w, d = evalTyped(wantCheck.Args[arg.Name], nil, arg.Type, arg.Validate, "argument")
				if d.HasErrors() {
					t.Errorf("%q: argument %s: %s", src, arg.Name, d.Error())
				}
			}
			if !got.args[n].RawEquals(w) {
				t.Errorf("%q: argument %s = %#v, want %#v", src, arg.Name, got.args[n], w)
			}
		}
		if (got.expect == nil) != (wantCheck.expect == nil) {
			t.Fatalf("%q: expectations %v, want %v", src, got.expect, wantCheck.expect)
		}
		for n, e := range k.Expect {
			w := wantCheck.expect[n]
			if a, ok := wantCheck.Expect[e.Name]; ok {
				var d hcl.Diagnostics
				w, d = evalTyped(a, nil, e.Type, e.Validate, "expectation")
				if d.HasErrors() {
					t.Errorf("%q: expectation %s: %s", src, e.Name, d.Error())
				}
			}
			if (got.expect[n] == cty.NilVal) != (w == cty.NilVal) || w != cty.NilVal && !got.expect[n].RawEquals(w) {
				t.Errorf("%q: expectation %s = %#v, want %#v", src, e.Name, got.expect[n], w)
			}
		}
	}
	if len(decoded) > 0 {
		t.Errorf("%q: %d decoded checks are not blocks of the tree", src, len(decoded))
	}
	return first
}
