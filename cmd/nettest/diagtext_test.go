package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// The windowed rendering gives hcl's text writer's bytes for every
// diagnostic the loader reports on the repository's fixtures, in colour and
// without.
func TestDiagnosticsTextAsHCLOnFixtures(t *testing.T) {
	var paths []string
	for _, pattern := range []string{"testdata/*/*.nettest.hcl", "testdata/*/*/*.nettest.hcl", "../../schema/testdata/*/*.nettest.hcl", "../../checks/*/testdata/*/*.nettest.hcl", "../../examples/*/*.nettest.hcl"} {
		m, _ := filepath.Glob(pattern)
		paths = append(paths, m...)
	}
	if len(paths) < 10 {
		t.Fatalf("found only %d fixture files", len(paths))
	}
	n := 0
	for _, p := range paths {
		suite, diags := schema.Load([]string{p}, schema.Options{UnknownVariables: true})
		if suite == nil {
			continue
		}
		n += len(diags)
		sameAsHCL(t, p, suite.Files, diags)
	}
	if n < 50 {
		t.Fatalf("the fixtures gave only %d diagnostics", n)
	}
}

// ... and for a diagnostic at every place in a file: empty ranges, ranges
// over line ends, several lines, the last line without a newline, a
// context wider than the subject, non-ASCII text and an expression whose
// values are shown.
func TestDiagnosticsTextAsHCLEverywhere(t *testing.T) {
	src := "tcp \"wé\" {\n  host = var.host\n\n  port = 1\n  expect {\n    open = true\n  }\n}\n# the end, no newline"
	f, diags := hclsyntax.ParseConfig([]byte(src), "x.nettest.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := map[string]*hcl.File{"x.nettest.hcl": f}
	expr, _ := hclsyntax.ParseExpression([]byte("var.host"), "x.nettest.hcl", hcl.Pos{Line: 2, Column: 10, Byte: 20})
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"host": cty.StringVal("db")})}}
	pos := func(b int) hcl.Pos {
		line, col := 1, 1
		for _, c := range src[:b] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return hcl.Pos{Line: line, Column: col, Byte: b}
	}
	var all hcl.Diagnostics
	for start := 0; start <= len(src); start++ {
		for _, length := range []int{0, 1, 3, 12, 40} {
			end := min(start+length, len(src))
			r := hcl.Range{Filename: "x.nettest.hcl", Start: pos(start), End: pos(end)}
			d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S", Detail: "D", Subject: r.Ptr()}
			if length == 12 {
				c := hcl.Range{Filename: "x.nettest.hcl", Start: pos(max(start-15, 0)), End: pos(min(end+20, len(src)))}
				d.Context = c.Ptr()
				d.Expression, d.EvalContext = expr, ctx
			}
			all = append(all, d)
		}
	}
	sameAsHCL(t, "every place", files, all)
	// None of them needed the whole file.
	starts := lineStarts(f.Bytes)
	for _, d := range all {
		var b bytes.Buffer
		if !writeWindowed(&b, f, starts, d, 100, false) {
			t.Errorf("%s: rendered against the whole file, not a window", d.Subject)
		}
	}
}

func sameAsHCL(t *testing.T, what string, files map[string]*hcl.File, diags hcl.Diagnostics) {
	t.Helper()
	for _, color := range []bool{false, true} {
		var want, got strings.Builder
		hcl.NewDiagnosticTextWriter(&want, files, 100, color).WriteDiagnostics(diags)
		writeDiagnosticsText(&got, files, diags, 100, color)
		if got.String() != want.String() {
			t.Errorf("%s (colour %t): rendered\n%s\nhcl's writer:\n%s", what, color, got.String(), want.String())
		}
	}
}
