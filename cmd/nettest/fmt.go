package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/nettest/nettest/schema"
)

const fmtHelp = `Usage: nettest fmt [flags] [PATH...]

Rewrites *.nettest.hcl files in the canonical format (aligned equals signs,
consistent indentation), as terraform fmt does, and lists the files it
changed. With --check nothing is written: the files that would change are
listed and the exit code is 1 when there is any. Exit code 2 when a file
cannot be parsed.
`

func cmdFmt(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	var check bool
	fs := newFlagSet("fmt", fmtHelp, stderr)
	fs.BoolVar(&check, "check", false, "Only report the files that are not formatted (exit 1 if any); write nothing.")
	paths, err := parse(fs, args)
	if err != nil {
		return parseError(err)
	}
	files, diags := schema.Files(paths)
	if diags.HasErrors() {
		printDiagnostics(c, nil, diags)
		return exitConfig
	}
	code := exitOK
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "nettest fmt: %v\n", err)
			return exitConfig
		}
		// Refuse to format what does not parse: hclwrite would keep going
		// and could make a broken file worse.
		if _, d := hclsyntax.ParseConfig(src, name, hcl.Pos{Line: 1, Column: 1}); d.HasErrors() {
			printDiagnostics(c, nil, d)
			return exitConfig
		}
		out := hclwrite.Format(src)
		if bytes.Equal(out, src) {
			continue
		}
		fmt.Fprintln(stdout, name)
		if check {
			code = exitFailed
			continue
		}
		if err := os.WriteFile(name, out, 0o644); err != nil {
			fmt.Fprintf(stderr, "nettest fmt: %v\n", err)
			return exitConfig
		}
	}
	return code
}
