// Package dag is the one dependency graph of nettest: the order of a
// suite's checks, the scheduling of a run, and the order locals are
// evaluated in all walk it. A Graph orders its nodes (Kahn's algorithm,
// taking ready nodes in the order they were given, so an order reads like
// the files) and names every cycle; a Walker hands out the nodes whose
// dependencies are done, as a run finishes them.
package dag

import "sync"

// Graph is a set of nodes and, for each, the nodes it depends on.
type Graph[N comparable] struct {
	nodes []N
	// index maps a node to its position, made at the first look-up by
	// node (see indexOf): ordering a suite's checks needs none unless some
	// check depends on another, and a map of 100,000 checks costs more
	// than the rest of the ordering. Made once, so that walks of one
	// graph may run side by side.
	index     map[N]int
	indexOnce sync.Once
	// deps maps a node to the nodes it depends on, and dependents to the
	// nodes depending on it; both are nil when no node depends on another.
	deps       [][]int
	dependents [][]int
}

// New makes the graph of nodes, in their order, where deps(n) are the nodes
// n depends on. A dependency that is not among nodes is left out: a check
// the selection left out, a local that does not exist (reported elsewhere).
func New[N comparable](nodes []N, deps func(N) []N) *Graph[N] {
	g := &Graph[N]{nodes: nodes}
	for i, n := range nodes {
		for _, d := range deps(n) {
			j, ok := g.indexOf(d)
			if !ok {
				continue
			}
			if g.deps == nil {
				g.deps, g.dependents = make([][]int, len(nodes)), make([][]int, len(nodes))
			}
			g.deps[i] = append(g.deps[i], j)
			g.dependents[j] = append(g.dependents[j], i)
		}
	}
	return g
}

// indexOf is the position of n among the nodes (the last, if given twice).
func (g *Graph[N]) indexOf(n N) (int, bool) {
	g.indexOnce.Do(func() {
		g.index = make(map[N]int, len(g.nodes))
		for i, n := range g.nodes {
			g.index[n] = i
		}
	})
	i, ok := g.index[n]
	return i, ok
}

// depsOf and dependentsOf are g.deps[i] and g.dependents[i], also when the
// graph has no edges.
func (g *Graph[N]) depsOf(i int) []int {
	if g.deps == nil {
		return nil
	}
	return g.deps[i]
}

func (g *Graph[N]) dependentsOf(i int) []int {
	if g.dependents == nil {
		return nil
	}
	return g.dependents[i]
}

// Len is the number of nodes.
func (g *Graph[N]) Len() int { return len(g.nodes) }

// Dependents are the nodes that depend on n directly.
func (g *Graph[N]) Dependents(n N) []N {
	i, ok := g.indexOf(n)
	if !ok {
		return nil
	}
	out := make([]N, len(g.dependentsOf(i)))
	for k, j := range g.dependentsOf(i) {
		out[k] = g.nodes[j]
	}
	return out
}

// Order lists the nodes dependencies first, otherwise in the order they
// were given. Nodes in a cycle, and the nodes that depend on one, are left
// out; cycles names each cycle once (one per strongly connected group of
// nodes), each from the node given first, in the direction of the
// dependencies.
func (g *Graph[N]) Order() (order []N, cycles [][]N) {
	w := g.Walk()
	order = make([]N, 0, len(g.nodes))
	for w.head < len(w.ready) {
		i := w.ready[w.head]
		w.head++
		order = append(order, g.nodes[i])
		w.done(i, true)
	}
	if len(order) < len(g.nodes) {
		cycles = g.cycles(w.pending)
	}
	return order, cycles
}

// cycles finds the strongly connected groups among the nodes still
// pending (Tarjan's algorithm) and, in each group that is a cycle, walks
// one cycle from its first node.
func (g *Graph[N]) cycles(pending []int) [][]N {
	const unseen = -1
	index := make([]int, len(g.nodes))
	low := make([]int, len(g.nodes))
	onStack := make([]bool, len(g.nodes))
	for i := range index {
		index[i] = unseen
	}
	var stack []int
	var groups [][]int
	next := 0
	var connect func(v int)
	connect = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range g.depsOf(v) {
			switch {
			case pending[w] == 0:
			case index[w] == unseen:
				connect(w)
				low[v] = min(low[v], low[w])
			case onStack[w]:
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var group []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			group = append(group, w)
			if w == v {
				break
			}
		}
		groups = append(groups, group)
	}
	for v := range g.nodes {
		if pending[v] > 0 && index[v] == unseen {
			connect(v)
		}
	}

	var out [][]N
	for _, group := range groups {
		in := map[int]bool{}
		first := group[0]
		for _, v := range group {
			in[v] = true
			first = min(first, v)
		}
		selfLoop := false
		for _, d := range g.depsOf(first) {
			selfLoop = selfLoop || d == first
		}
		if len(group) == 1 && !selfLoop {
			continue // waits on a cycle without being in one
		}
		// Follow dependencies inside the group, the first given first,
		// until a node repeats: that is a cycle.
		seen := map[int]int{}
		var path []int
		for cur := first; ; {
			if at, ok := seen[cur]; ok {
				path = path[at:]
				break
			}
			seen[cur] = len(path)
			path = append(path, cur)
			for _, d := range g.depsOf(cur) {
				if in[d] {
					cur = d
					break
				}
			}
		}
		cycle := make([]N, len(path))
		for k, v := range path {
			cycle[k] = g.nodes[v]
		}
		out = append(out, cycle)
	}
	// In the order of each cycle's first node.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && g.position(out[j][0]) < g.position(out[j-1][0]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// position is the index of a node known to be in the graph.
func (g *Graph[N]) position(n N) int {
	i, _ := g.indexOf(n)
	return i
}

// Walker hands out the nodes of a graph as their dependencies finish: the
// scheduling of a run. It is not safe for concurrent use; the runner calls
// it from its one scheduling goroutine.
type Walker[N comparable] struct {
	g *Graph[N]
	// pending counts each node's dependencies not done yet, blocker holds
	// the first dependency that did not pass, +1 (0 for none), and
	// finished marks the nodes done; all three are nil when the graph has
	// no edges, and every node is ready from the start.
	pending  []int
	blocker  []int
	finished []bool
	ready    []int // the nodes handed out or to hand out, in order
	head     int   // ready[head:] are still to hand out
}

// Walk starts a walk: the nodes without dependencies are ready.
func (g *Graph[N]) Walk() *Walker[N] {
	w := &Walker[N]{g: g, ready: make([]int, 0, len(g.nodes))}
	if g.deps != nil {
		w.pending, w.blocker, w.finished = make([]int, len(g.nodes)), make([]int, len(g.nodes)), make([]bool, len(g.nodes))
	}
	for i := range g.nodes {
		if w.pending != nil {
			w.pending[i] = len(g.deps[i])
		}
		if w.pending == nil || w.pending[i] == 0 {
			w.ready = append(w.ready, i)
		}
	}
	return w
}

// Next takes the next ready node, in the order they became ready; ok is
// false when none is ready now.
func (w *Walker[N]) Next() (n N, ok bool) {
	if w.head == len(w.ready) {
		return n, false
	}
	i := w.ready[w.head]
	w.head++
	return w.g.nodes[i], true
}

// Skipped is a node that will not run, because By, one of its
// dependencies, did not pass.
type Skipped[N comparable] struct {
	Node, By N
}

// Done records that n finished; passed says whether the nodes depending on
// it may run. A dependent whose last dependency this was becomes ready, or,
// when one of its dependencies did not pass, is done itself without
// running: it is returned, with the dependencies that it in turn stops, in
// the order they are reached (each before the ones it stops).
func (w *Walker[N]) Done(n N, passed bool) []Skipped[N] {
	if w.pending == nil {
		return nil // no node waits for another
	}
	i, ok := w.g.indexOf(n)
	if !ok {
		return nil
	}
	return w.done(i, passed)
}

// done is Done of the i-th node.
func (w *Walker[N]) done(i int, passed bool) []Skipped[N] {
	if w.pending == nil || w.finished[i] {
		return nil
	}
	if len(w.g.dependents[i]) == 0 {
		w.finished[i] = true // most nodes of a large suite: nothing waits for them
		return nil
	}
	var skipped []Skipped[N]
	var finish func(i int, passed bool)
	finish = func(i int, passed bool) {
		w.finished[i] = true
		for _, d := range w.g.dependents[i] {
			if !passed && w.blocker[d] == 0 {
				w.blocker[d] = i + 1
			}
			w.pending[d]--
			if w.pending[d] > 0 {
				continue
			}
			if b := w.blocker[d]; b != 0 {
				skipped = append(skipped, Skipped[N]{Node: w.g.nodes[d], By: w.g.nodes[b-1]})
				finish(d, false)
				continue
			}
			w.ready = append(w.ready, d)
		}
	}
	finish(i, passed)
	return skipped
}
