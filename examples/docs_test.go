package examples_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// hclBlock is a fenced ```hcl block of a Markdown page.
var hclBlock = regexp.MustCompile("(?s)```hcl\n(.*?)```")

// TestDocsExamplesFormatted: the HCL a user copies from the README and the
// docs is in `nettest fmt` form (a block that is only a fragment, which
// does not parse, is left alone).
func TestDocsExamplesFormatted(t *testing.T) {
	pages, _ := filepath.Glob("../docs/*.md")
	pages = append(pages, "../README.md")
	for _, page := range pages {
		src, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range hclBlock.FindAllSubmatch(src, -1) {
			block := m[1]
			if _, d := hclsyntax.ParseConfig(block, page, hcl.InitialPos); d.HasErrors() {
				continue
			}
			if out := hclwrite.Format(block); string(out) != string(block) {
				t.Errorf("%s: an example is not formatted; nettest fmt makes it:\n%s", page, out)
			}
		}
	}
}

// TestDocsSpeakToUsers: the pages are written for users, who have no
// design document to be promised things in.
func TestDocsSpeakToUsers(t *testing.T) {
	pages, _ := filepath.Glob("../docs/*.md")
	pages = append(pages, "../README.md")
	for _, page := range pages {
		src, _ := os.ReadFile(page)
		for n, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, "DESIGN") {
				t.Errorf("%s:%d speaks of DESIGN: %s", page, n+1, line)
			}
		}
	}
}

// TestREADMEPackagesAsCI: the Debian packages the README tells a user to
// install before the root tests are the ones CI installs (.ci/run), so
// that `sudo NETTEST_REQUIRE_ROOT=1 go test ./...` finds every binary the
// tests require on a machine set up from the README.
func TestREADMEPackagesAsCI(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	install := regexp.MustCompile(`(?m)^sudo apt-get install (.+)$`).FindSubmatch(readme)
	list := regexp.MustCompile(`(?m)^packages=\((.+)\)$`).FindSubmatch(ci)
	if install == nil || list == nil {
		t.Fatalf("no `sudo apt-get install` line in README.md (%v) or no packages=(…) in .ci/run (%v)", install != nil, list != nil)
	}
	set := func(b []byte) string {
		f := strings.Fields(string(b))
		slices.Sort(f)
		return strings.Join(f, " ")
	}
	if got, want := set(install[1]), set(list[1]); got != want {
		t.Errorf("README.md installs\n  %s\n.ci/run installs\n  %s", got, want)
	}
}
