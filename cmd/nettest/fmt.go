package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/nettest/nettest/internal/atomicfile"
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
		writeDiagnostics(c, nil, nil, diags, "finding the files: nothing was formatted")
		return exitConfig
	}
	code := exitOK
	for _, name := range files {
		src, d := schema.ReadSource(name)
		if d.HasErrors() {
			writeDiagnostics(c, nil, nil, d, "reading the files: nothing was formatted")
			return exitConfig
		}
		// Refuse to format what does not parse: hclwrite would keep going
		// and could make a broken file worse.
		if f, d := hclsyntax.ParseConfig(src, name, hcl.Pos{Line: 1, Column: 1}); d.HasErrors() {
			writeDiagnostics(c, map[string]*hcl.File{name: {Bytes: src, Body: f.Body}}, nil, d, "in "+name+": it was not formatted")
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
		// Beside and renamed: truncating first would leave half a suite
		// on a full disk.
		perm := os.FileMode(0o644)
		if st, err := os.Stat(name); err == nil {
			perm = st.Mode().Perm()
		}
		if err := atomicfile.WriteFile(name, out, perm); err != nil {
			fmt.Fprintf(stderr, "nettest fmt: %v\n", err)
			return exitConfig
		}
	}
	return code
}
