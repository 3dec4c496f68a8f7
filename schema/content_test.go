package schema

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/checks"
	_ "github.com/nettest/nettest/checks/all"
)

// The loader's content gives exactly what hcl's Body.Content gives, for
// every check block and expect block of the fixtures, valid and invalid.
func TestContentIsHCLs(t *testing.T) {
	var files []string
	for _, pattern := range []string{"testdata/*/*.nettest.hcl", "../examples/*/*.nettest.hcl", "../cmd/nettest/testdata/*.nettest.hcl", "../cmd/nettest/testdata/*/*.nettest.hcl", "../cmd/nettest/testdata/*/*/*.nettest.hcl"} {
		found, _ := filepath.Glob(pattern)
		files = append(files, found...)
	}
	if len(files) < 15 {
		t.Fatalf("found %d fixtures", len(files))
	}
	sources := map[string][]byte{"big.nettest.hcl": []byte(bigSuite(50))}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sources[name] = src
	}
	compared := 0
	for name, src := range sources {
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			continue
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			k, ok := checks.Lookup(b.Type)
			if !ok {
				continue
			}
			compare := func(sh *shape, body hcl.Body) {
				got, gotDiags := sh.content(body)
				want, wantDiags := body.Content(sh.schema)
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotDiags, wantDiags) {
					t.Errorf("%s: content of %s differs:\n%#v %v\nwant %#v %v", name, b.DefRange(), got, gotDiags, want, wantDiags)
				}
				compared++
			}
			compare(derive(k).bodyShape, b.Body)
			for _, nested := range b.Body.Blocks {
				if nested.Type == "expect" {
					compare(derive(k).expectShape, nested.Body)
				}
			}
		}
	}
	if compared < 20 {
		t.Errorf("compared only %d bodies", compared)
	}
}
