package runner

import (
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/nettest/nettest/schema"
)

// ShardSpec names part K of N parts of a suite, 1 ≤ K ≤ N, as Playwright
// and Jest spell --shard.
type ShardSpec struct {
	K, N int
}

// String is the K/N form.
func (s ShardSpec) String() string {
	return strconv.Itoa(s.K) + "/" + strconv.Itoa(s.N)
}

// Valid reports whether the part exists.
func (s ShardSpec) Valid() error {
	if s.N < 1 || s.K < 1 || s.K > s.N {
		return fmt.Errorf("shard %d/%d does not exist: write K/N with 1 ≤ K ≤ N", s.K, s.N)
	}
	return nil
}

// Shard selects the instances of part spec of the suite. The N parts are
// disjoint and together the whole suite, and each is chosen so that CI jobs
// running one part each need nothing from one another:
//
//   - A connected group of dependent checks (references, depends_on) stays
//     in one part, so no part needs another's results and a check is never
//     skipped for a dependency that ran elsewhere.
//   - The part of a group is a hash of the smallest address in it, not of
//     its position, so a check stays in its part when unrelated checks are
//     added or removed, and every job computes the same split.
//   - The groups of one vantage go to one part together, so one job starts
//     that vantage's agent, unless the vantage holds more than a part's
//     fair share (total/N) of the checks: then keeping it together would
//     unbalance the parts, and its groups are spread like the others.
//
// A hash balances many groups well and few groups roughly: with fewer
// groups than parts some parts are empty.
func Shard(s *schema.Suite, spec ShardSpec) Selection {
	part := ShardOf(s, spec.N)
	return func(i *schema.Instance) bool { return part[i] == spec.K }
}

// ShardOf maps every instance of the suite to its part, 1 to n, as Shard
// splits it.
func ShardOf(s *schema.Suite, n int) map[*schema.Instance]int {
	// Union-find over the dependency edges: the connected groups.
	parent := make(map[*schema.Instance]*schema.Instance, len(s.Instances))
	var find func(*schema.Instance) *schema.Instance
	find = func(i *schema.Instance) *schema.Instance {
		p, ok := parent[i]
		if !ok || p == i {
			parent[i] = i
			return i
		}
		root := find(p)
		parent[i] = root
		return root
	}
	for _, i := range s.Instances {
		for _, d := range i.Deps {
			a, b := find(i), find(d)
			if a != b {
				// The smaller address becomes the root, so a group's root
				// is its smallest address whatever the order of union.
				if b.Address < a.Address {
					a, b = b, a
				}
				parent[b] = a
			}
		}
	}
	type group struct {
		key     string // the smallest address
		size    int
		vantage string // the one vantage of all its checks, or ""
		mixed   bool
	}
	groups := map[*schema.Instance]*group{}
	var order []*group
	for _, i := range s.Instances {
		root := find(i)
		g := groups[root]
		if g == nil {
			g = &group{key: root.Address, vantage: i.Vantage}
			groups[root] = g
			order = append(order, g)
		}
		if i.Address < g.key {
			g.key = i.Address
		}
		g.size++
		if i.Vantage != g.vantage {
			g.mixed = true
		}
	}
	perVantage := map[string]int{}
	for _, g := range order {
		if !g.mixed && g.vantage != "" {
			perVantage[g.vantage] += g.size
		}
	}
	fair := (len(s.Instances) + n - 1) / n
	partOf := map[*group]int{}
	for _, g := range order {
		key := "check " + g.key
		if !g.mixed && g.vantage != "" && perVantage[g.vantage] <= fair {
			key = "vantage " + g.vantage
		}
		h := fnv.New64a()
		h.Write([]byte(key))
		partOf[g] = int(h.Sum64()%uint64(n)) + 1
	}
	out := make(map[*schema.Instance]int, len(s.Instances))
	for _, i := range s.Instances {
		out[i] = partOf[groups[find(i)]]
	}
	return out
}
