package runner

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteDOT writes the plan's dependency graph in Graphviz DOT, the way
// `terraform graph` does for resources: a node per check instance, an edge
// from each dependency to the check that waits for it (dns.api → http.api),
// so the arrows follow the run order. A check whose skip argument is true
// before the run is drawn dashed and grey with "(skip = true)", and an
// instance of a for_each is labelled with its key like any other address.
// The output is deterministic: nodes in run order, edges sorted by address.
//
// Render it with `nettest graph | dot -Tsvg > graph.svg`.
func (p *Plan) WriteDOT(w io.Writer) error {
	b := bufio.NewWriter(w)
	b.WriteString("digraph nettest {\n")
	b.WriteString("  rankdir = \"LR\";\n")
	b.WriteString("  node [shape = \"box\", style = \"rounded\", fontname = \"Helvetica\"];\n")
	planned := make(map[string]bool, len(p.Order))
	for _, i := range p.Order {
		planned[i.Address] = true
	}
	for _, i := range p.Order {
		skip, _ := i.Bind(nil).Skip()
		r := i.Range()
		tooltip := fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
		if i.Description != "" {
			tooltip += ": " + i.Description
		}
		attrs := []string{"label = " + dotID(i.Address), "tooltip = " + dotID(tooltip)}
		if skip {
			attrs = []string{"label = " + dotID(i.Address+"\n(skip = true)"), "tooltip = " + dotID(tooltip),
				`style = "rounded,dashed"`, `color = "grey50"`, `fontcolor = "grey40"`}
		}
		fmt.Fprintf(b, "  %s [%s];\n", dotID(i.Address), strings.Join(attrs, ", "))
	}
	for _, i := range p.Order {
		for _, d := range i.Deps { // sorted by address
			if planned[d.Address] {
				fmt.Fprintf(b, "  %s -> %s;\n", dotID(d.Address), dotID(i.Address))
			}
		}
	}
	b.WriteString("}\n")
	return b.Flush()
}

// dotID quotes s as a DOT string: addresses hold quotes and brackets
// (tcp.web["80"]), so every ID is quoted. A newline becomes DOT's \n, a
// line break inside a label.
func dotID(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
