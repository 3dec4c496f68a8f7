package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

const kindsHelp = `Usage: nettest kinds [KIND...]

Lists the check kinds this build knows, with their arguments, the
attributes of their expect block and the fields of their result (usable as
KIND.NAME.FIELD in other checks and as self.FIELD in assert blocks).
`

func cmdKinds(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	fs := newFlagSet("kinds", kindsHelp, stderr)
	names, err := parse(fs, args)
	if err != nil {
		return parseError(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		if _, ok := checks.Lookup(n); !ok {
			fmt.Fprintf(stderr, "nettest kinds: no kind %q\n", n)
			return exitConfig
		}
		want[n] = true
	}
	var b strings.Builder
	for _, k := range checks.Kinds() {
		if len(want) > 0 && !want[k.Name] {
			continue
		}
		fmt.Fprintf(&b, "%s\n    %s\n  arguments:\n", k.Name, k.Summary)
		for _, a := range k.Args {
			req := ""
			if a.Required {
				req = ", required"
			} else if a.Default != cty.NilVal {
				req = ", default " + checks.Show(a.Default)
			}
			fmt.Fprintf(&b, "    %-22s %s%s. %s\n", a.Name, a.Type.FriendlyName(), req, a.Doc)
		}
		fmt.Fprintf(&b, "  expect:\n")
		for _, e := range k.Expect {
			fmt.Fprintf(&b, "    %-22s %s. %s\n", e.Name, e.Type.FriendlyName(), e.Doc)
		}
		fmt.Fprintf(&b, "  result:\n")
		fields := schema.ResultType(k).AttributeTypes()
		keys := make([]string, 0, len(fields))
		for f := range fields {
			keys = append(keys, f)
		}
		sort.Strings(keys)
		for _, f := range keys {
			fmt.Fprintf(&b, "    %-22s %s\n", f, fields[f].FriendlyName())
		}
		b.WriteString("\n")
	}
	io.WriteString(stdout, b.String())
	return exitOK
}
