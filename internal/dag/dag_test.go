package dag

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// graph reads "a:b,c b:c c:" (a depends on b and c, …); nodes keep the
// order written.
func graph(spec string) *Graph[string] {
	deps := map[string][]string{}
	var nodes []string
	for _, f := range strings.Fields(spec) {
		name, ds, _ := strings.Cut(f, ":")
		nodes = append(nodes, name)
		if ds != "" {
			deps[name] = strings.Split(ds, ",")
		}
	}
	return New(nodes, func(n string) []string { return deps[n] })
}

func TestOrder(t *testing.T) {
	tests := []struct {
		spec, order, cycles string
	}{
		{"a b c", "a b c", ""},
		{"a:b b:c c", "c b a", ""},
		{"a:c b c", "b c a", ""}, // ready nodes in the order given
		{"a:missing b", "a b", ""},
		{"a:b b:a c", "c", "[a b]"},
		{"a:a b", "b", "[a]"},
		{"x:a a:b b:a c:d d:c e:x", "", "[a b] [c d]"}, // every cycle; x and e wait on one without being in it
		{"a:b,c b:a c:a", "", "[a b]"},                 // one cycle per strongly connected group
	}
	for _, tt := range tests {
		order, cycles := graph(tt.spec).Order()
		var cs []string
		for _, c := range cycles {
			cs = append(cs, fmt.Sprint(c))
		}
		if got := strings.Join(order, " "); got != tt.order {
			t.Errorf("%s: order %q, want %q", tt.spec, got, tt.order)
		}
		if got := strings.Join(cs, " "); got != tt.cycles {
			t.Errorf("%s: cycles %q, want %q", tt.spec, got, tt.cycles)
		}
	}
}

// A walk runs what is ready, and a failure skips everything downstream of
// it, each with the dependency that stopped it, before anything else runs.
func TestWalk(t *testing.T) {
	g := graph("a b:a c:b d:a,e e f:e")
	w := g.Walk()
	var log []string
	run := func(passed map[string]bool) {
		for {
			n, ok := w.Next()
			if !ok {
				return
			}
			log = append(log, n)
			for _, s := range w.Done(n, passed[n]) {
				log = append(log, "skip "+s.Node+" by "+s.By)
			}
		}
	}
	run(map[string]bool{"a": false, "e": true, "f": true})
	want := []string{"a", "skip b by a", "skip c by b", "e", "skip d by a", "f"}
	if !slices.Equal(log, want) {
		t.Errorf("walk\n%q\nwant\n%q", log, want)
	}
	if _, ok := w.Next(); ok {
		t.Error("a node was handed out twice")
	}
	if got := w.Done("a", true); got != nil {
		t.Errorf("a second Done of a node did %v", got)
	}
}

// In a graph without edges (most suites) every node is ready at once, in
// the order given, and finishing one changes nothing.
func TestWalkWithoutEdges(t *testing.T) {
	g := graph("a b c")
	w := g.Walk()
	var got []string
	for {
		n, ok := w.Next()
		if !ok {
			break
		}
		got = append(got, n)
		if s := w.Done(n, false); s != nil {
			t.Errorf("Done(%s) skipped %v", n, s)
		}
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("walk %q, want %q", got, want)
	}
	if d := g.Dependents("a"); len(d) != 0 {
		t.Errorf("Dependents(a) = %q, want none", d)
	}
}
