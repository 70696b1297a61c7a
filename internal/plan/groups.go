package plan

import (
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// normalizeGroups checks every group, flattens nested groups and returns the usable ones sorted by
// externalId. Flattening runs over the strongly connected components of the nesting graph (Tarjan), children
// before parents, so each component's member set is built once from its direct members and its children's
// sets: the cost is the size of the result, never groups x groups, and cycles are safe.
func normalizeGroups(in []directory.Group, d *Desired, pairs []idKey, usersNotRead bool) []DesiredGroup {
	// Intern user keys in sorted order so member sets sort as ints, and map every user ID straight to
	// its key's index (one map lookup per membership). Without a user read, member IDs are the keys.
	if usersNotRead {
		pairs = slices.Clone(pairs)
		for i := range in {
			for _, id := range in[i].Users {
				pairs = append(pairs, idKey{key: id, id: id})
			}
		}
		sortPairs(pairs)
	}
	idIndex := make(map[string]int32, len(pairs))
	keys := make([]string, 0, len(pairs))
	for _, p := range pairs {
		if len(keys) == 0 || keys[len(keys)-1] != p.key {
			keys = append(keys, p.key)
		}
		idIndex[p.id] = int32(len(keys) - 1)
	}
	d.keys = keys

	// Index groups by ID; a duplicated ID makes both records unusable (references to it are ambiguous).
	idCount := make(map[string]int, len(in))
	for i := range in {
		idCount[in[i].ID]++
	}
	node := make(map[string]int32, len(in))
	var nodes []*directory.Group
	for i := range in {
		g := &in[i]
		switch {
		case strings.TrimSpace(g.ID) == "":
			d.skipGroup(g, "the record has no id")
			continue
		case idCount[g.ID] > 1:
			d.skipGroup(g, "another directory record has the same id")
			continue
		}
		node[g.ID] = int32(len(nodes))
		nodes = append(nodes, g)
	}
	direct := make([][]int32, len(nodes))
	edges := make([][]int32, len(nodes))
	for n, g := range nodes {
		for _, id := range g.Users {
			if u, ok := idIndex[id]; ok {
				direct[n] = append(direct[n], u)
			}
		}
		for _, id := range g.Groups {
			if c, ok := node[id]; ok {
				edges[n] = append(edges[n], c)
			}
		}
	}
	sets := flatten(direct, edges, len(keys))

	out := make([]DesiredGroup, 0, len(nodes))
	for n, g := range nodes {
		key := g.Key()
		name := strings.TrimSpace(g.Name)
		switch {
		case name == "":
			d.skipGroup(g, "it has no name")
			continue
		case len(name) > MaxGroupNameLen:
			d.skipGroup(g, "its name is longer than 100 characters")
			continue
		case strings.TrimSpace(key) == "":
			d.skipGroup(g, "the record has no external id")
			continue
		case len(key) > MaxExternalIDLen:
			d.skipGroup(g, "its id is longer than 300 characters")
			continue
		}
		dg := DesiredGroup{ExternalID: key, Name: name, members: sets[n], direct: direct[n]}
		for _, c := range edges[n] {
			dg.Nested = append(dg.Nested, strings.TrimSpace(nodes[c].Name))
		}
		slices.Sort(dg.Nested)
		dg.Nested = slices.Compact(dg.Nested)
		out = append(out, dg)
	}
	slices.SortFunc(out, func(a, b DesiredGroup) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	return out
}

func (d *Desired) skipGroup(g *directory.Group, reason string) {
	key := g.Key()
	is := directory.Issue{Kind: "group", ID: g.ID, Name: strings.TrimSpace(g.Name), Reason: reason}
	if key != g.ID {
		is.ExternalID = key
	}
	d.Skipped = append(d.Skipped, is)
	if key != "" {
		d.SkippedGroups[key] = true
	}
}

// flatten returns, for every node, the sorted set of users reachable through direct membership and
// nesting. direct[n] are node n's user indices, edges[n] its child nodes; nUsers bounds user indices.
func flatten(direct, edges [][]int32, nUsers int) [][]int32 {
	n := len(direct)
	comp := make([]int32, n) // node -> component
	var comps [][]int32      // component -> nodes, in the order Tarjan completes them (children first)

	// Iterative Tarjan.
	const unvisited = -1
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = unvisited
	}
	var stack []int32
	type frame struct{ v, next int32 }
	var call []frame
	var counter int32
	for root := range n {
		if index[root] != unvisited {
			continue
		}
		call = append(call, frame{v: int32(root)})
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if int(f.next) < len(edges[v]) {
				w := edges[v][f.next]
				f.next++
				if index[w] == unvisited {
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w})
				} else if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				if low[v] < low[p] {
					low[p] = low[v]
				}
			}
			if low[v] == index[v] {
				c := int32(len(comps))
				var members []int32
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = c
					members = append(members, w)
					if w == v {
						break
					}
				}
				comps = append(comps, members)
			}
		}
	}

	compSets := make([][]int32, len(comps))
	seen := make([]int32, nUsers) // generation stamps: seen[u] == gen means u is already in buf
	seenComp := make([]int32, len(comps))
	var buf []int32
	for c, members := range comps {
		gen := int32(c + 1)
		buf = buf[:0]
		add := func(u int32) {
			if seen[u] != gen {
				seen[u] = gen
				buf = append(buf, u)
			}
		}
		for _, v := range members {
			for _, u := range direct[v] {
				add(u)
			}
			for _, w := range edges[v] {
				cw := comp[w]
				if int(cw) == c || seenComp[cw] == gen {
					continue
				}
				seenComp[cw] = gen
				for _, u := range compSets[cw] {
					add(u)
				}
			}
		}
		set := slices.Clone(buf)
		slices.Sort(set)
		compSets[c] = set
	}
	out := make([][]int32, n)
	for v := range n {
		out[v] = compSets[comp[v]]
	}
	return out
}
