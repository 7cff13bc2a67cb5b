package trace

import "sort"

// ClusterOf names the cluster (entity) an address belongs to, false when
// it has none beyond itself. Implementations are safe for concurrent use.
type ClusterOf func(chain, address string) (cluster string, ok bool)

// GroupByCluster turns an address flow graph into an entity flow graph:
// addresses of one cluster become one node "<chain>:cluster:<id>" (with
// the strongest role and lowest hop of its members, and their labels),
// edges are re-pointed and merged per (from, to, chain, asset, tx), and
// value moving inside a cluster (change, consolidation) is dropped from
// the edges, as it does not leave the entity. Endpoints, holdings and
// totals are left as they are: they are per address and already add up.
func GroupByCluster(r *Result, of ClusterOf) {
	if of == nil {
		return
	}
	rename := map[string]string{}
	byID := map[string]*Node{}
	var order []string
	for _, n := range r.Nodes {
		id := n.ID
		if c, ok := of(n.Chain, n.Address); ok {
			id = n.Chain + ":cluster:" + c
			rename[n.ID] = id
		}
		g, ok := byID[id]
		if !ok {
			cp := n
			cp.ID = id
			if id != n.ID {
				cp.Cluster = id[len(n.Chain)+len(":cluster:"):]
				cp.Address = n.Address // the first member stands for the cluster
			}
			byID[id] = &cp
			order = append(order, id)
			continue
		}
		if n.Hop < g.Hop {
			g.Hop = n.Hop
		}
		if roleRank(n.Role) < roleRank(g.Role) {
			g.Role = n.Role
		}
		g.Labels = append(g.Labels, n.Labels...)
	}
	nodes := make([]Node, 0, len(order))
	for _, id := range order {
		nodes = append(nodes, *byID[id])
	}
	r.Nodes = nodes

	type key struct{ from, to, chain, asset, tx string }
	merged := map[key]int{}
	edges := r.Edges[:0:0]
	for _, e := range r.Edges {
		if to, ok := rename[e.From]; ok {
			e.From = to
		}
		if to, ok := rename[e.To]; ok {
			e.To = to
		}
		if e.From == e.To {
			continue
		}
		k := key{e.From, e.To, e.Chain, e.Asset, e.Tx}
		if i, ok := merged[k]; ok {
			edges[i].Value, _ = edges[i].Value.Add(e.Value)
			edges[i].Tainted, _ = edges[i].Tainted.Add(e.Tainted)
			continue
		}
		merged[k] = len(edges)
		edges = append(edges, e)
	}
	r.Edges = edges
	for i := range r.Endpoints {
		if to, ok := rename[r.Endpoints[i].Node]; ok {
			r.Endpoints[i].Node = to
		}
	}
	for i := range r.Holdings {
		if to, ok := rename[r.Holdings[i].Node]; ok {
			r.Holdings[i].Node = to
		}
	}
	sort.SliceStable(r.Nodes, func(i, j int) bool { return r.Nodes[i].ID < r.Nodes[j].ID })
}

// roleRank orders roles by how much they tell an investigator: a source or
// an endpoint says more about an entity than a plain hop.
func roleRank(role string) int {
	for i, r := range []string{RoleSource, RoleEndpoint, RoleMixer, RoleBridge, RoleDEX, RoleHolding, RoleLimit, RoleHop} {
		if r == role {
			return i
		}
	}
	return 99
}
