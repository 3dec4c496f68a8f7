// Package dag is the one dependency graph of nettest: the order of a
// suite's checks, the scheduling of a run, and the order locals are
// evaluated in all walk it. A Graph orders its nodes (Kahn's algorithm,
// taking ready nodes in the order they were given, so an order reads like
// the files) and names every cycle; a Walker hands out the nodes whose
// dependencies are done, as a run finishes them.
package dag

// Graph is a set of nodes and, for each, the nodes it depends on.
type Graph[N comparable] struct {
	nodes      []N
	index      map[N]int
	deps       [][]int // node → the nodes it depends on
	dependents [][]int // node → the nodes that depend on it
}

// New makes the graph of nodes, in their order, where deps(n) are the nodes
// n depends on. A dependency that is not among nodes is left out: a check
// the selection left out, a local that does not exist (reported elsewhere).
func New[N comparable](nodes []N, deps func(N) []N) *Graph[N] {
	g := &Graph[N]{nodes: nodes, index: make(map[N]int, len(nodes)), deps: make([][]int, len(nodes)), dependents: make([][]int, len(nodes))}
	for i, n := range nodes {
		g.index[n] = i
	}
	for i, n := range nodes {
		for _, d := range deps(n) {
			if j, ok := g.index[d]; ok {
				g.deps[i] = append(g.deps[i], j)
				g.dependents[j] = append(g.dependents[j], i)
			}
		}
	}
	return g
}

// Len is the number of nodes.
func (g *Graph[N]) Len() int { return len(g.nodes) }

// Dependents are the nodes that depend on n directly.
func (g *Graph[N]) Dependents(n N) []N {
	i, ok := g.index[n]
	if !ok {
		return nil
	}
	out := make([]N, len(g.dependents[i]))
	for k, j := range g.dependents[i] {
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
	for {
		n, ok := w.Next()
		if !ok {
			break
		}
		order = append(order, n)
		w.Done(n, true)
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
		for _, w := range g.deps[v] {
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
		for _, d := range g.deps[first] {
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
			for _, d := range g.deps[cur] {
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
		for j := i; j > 0 && g.index[out[j][0]] < g.index[out[j-1][0]]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Walker hands out the nodes of a graph as their dependencies finish: the
// scheduling of a run. It is not safe for concurrent use; the runner calls
// it from its one scheduling goroutine.
type Walker[N comparable] struct {
	g       *Graph[N]
	pending []int // dependencies not done yet
	blocker []int // the first dependency that did not pass, +1; 0 for none
	ready   []int
	done    []bool
}

// Walk starts a walk: the nodes without dependencies are ready.
func (g *Graph[N]) Walk() *Walker[N] {
	w := &Walker[N]{g: g, pending: make([]int, len(g.nodes)), blocker: make([]int, len(g.nodes)), done: make([]bool, len(g.nodes))}
	for i := range g.nodes {
		w.pending[i] = len(g.deps[i])
		if w.pending[i] == 0 {
			w.ready = append(w.ready, i)
		}
	}
	return w
}

// Next takes the next ready node, in the order they became ready; ok is
// false when none is ready now.
func (w *Walker[N]) Next() (n N, ok bool) {
	if len(w.ready) == 0 {
		return n, false
	}
	i := w.ready[0]
	w.ready = w.ready[1:]
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
	if i, ok := w.g.index[n]; ok && len(w.g.dependents[i]) == 0 {
		w.done[i] = true // most nodes of a large suite: nothing waits for them
		return nil
	}
	var skipped []Skipped[N]
	var finish func(i int, passed bool)
	finish = func(i int, passed bool) {
		w.done[i] = true
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
	if i, ok := w.g.index[n]; ok && !w.done[i] {
		finish(i, passed)
	}
	return skipped
}
