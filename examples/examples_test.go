package examples_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	_ "github.com/nettest/nettest/checks/all"
	"github.com/nettest/nettest/runner"
	"github.com/nettest/nettest/schema"
)

// TestExamplesValidate loads every example directory as `nettest validate`
// does: each must be valid with its variables' defaults.
func TestExamplesValidate(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(e.Name(), "*"+schema.FileSuffix))
		if len(files) == 0 {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			// A suite fed by Terraform is loaded with the realistic
			// `terraform output -json` file beside it.
			var opts schema.Options
			if outputs := filepath.Join(e.Name(), "terraform-outputs.json"); fileExists(outputs) {
				opts.Vars = []schema.VarArg{{TerraformOutputs: outputs}}
			}
			suite, diags := schema.Load([]string{e.Name()}, opts)
			if !diags.HasErrors() {
				var d hcl.Diagnostics
				_, d = runner.NewPlan(suite, nil)
				diags = append(diags, d...)
			}
			if diags.HasErrors() {
				t.Errorf("%s is not valid:\n%s", e.Name(), diags.Error())
			}
			if len(diags) > 0 {
				t.Errorf("%s has warnings:\n%s", e.Name(), diags.Error())
			}
		})
	}
	if n < 2 {
		t.Errorf("found %d example suites", n)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestExamplesFormatted keeps the examples in `nettest fmt` form, as users
// will copy them.
func TestExamplesFormatted(t *testing.T) {
	files, _ := filepath.Glob("*/*" + schema.FileSuffix)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if out := hclwrite.Format(src); string(out) != string(src) {
			t.Errorf("%s is not formatted: run nettest fmt examples/", f)
		}
	}
}
