package schema_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
)

// for_each = toset(X) expands to the very instances the general path gives
// for the same set: keys, order, each.value, and none for an empty set.
func TestForEachToSetIsTheSet(t *testing.T) {
	for name, list := range map[string]string{
		"strings with repeats": `["443", "80", "443", "8080"]`,
		"numbers":              `[443, 80, 80.0, 8080]`,
		"a list":               `tolist(["b", "a"])`,
		"bools":                `[true, false, true]`,
		"mixed":                `["80", 443]`,
		"empty":                `[]`,
	} {
		dir := t.TempDir()
		expand := func(forEach string) string {
			src := fmt.Sprintf("locals {\n  list = %s\n  set  = toset(local.list)\n}\n\ntcp \"p\" {\n  for_each = %s\n  host     = \"127.0.0.1\"\n  port     = 80\n  description = \"${each.key} ${jsonencode(each.value)}\"\n  expect {\n    open = false\n  }\n}\n", list, forEach)
			file := filepath.Join(dir, "s"+schema.FileSuffix)
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			s, diags := schema.Load([]string{file}, schema.Options{})
			out := diags.Error()
			for _, i := range s.Instances {
				out += fmt.Sprintf("\n%s %s %s", i.Address, checks.Show(i.Kind().Object(i.Args())), i.Description)
			}
			return out
		}
		fast, general := expand("toset(local.list)"), expand("local.set")
		if fast != general {
			t.Errorf("%s: toset(X) gives\n%s\nthe set gives\n%s", name, fast, general)
		}
	}
}
