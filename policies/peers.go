package policies

import (
	"context"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meridianhq/meridian"
)

// Directions of a landed pair, as input.peer.direction gives them.
const (
	// PeerTo: the workload starts the flow to the peer (network.peers).
	PeerTo = "to"
	// PeerFrom: the peer starts the flow to the workload (a workload its
	// network.ingress admits).
	PeerFrom = "from"
)

// readsPeer reports whether a rule package reads input.peer: such a
// placement rule also judges landed pairs (CheckPeers).
func readsPeer(mods []*ast.Module) bool {
	found := false
	for _, m := range mods {
		walkInputRefs(m, func(ref ast.Ref, _ *ast.Location) {
			if len(ref) >= 2 && ref[1].Value.Compare(ast.String("peer")) == 0 {
				found = true
			}
		})
	}
	return found
}

// landedPair is one flow between two workloads on different targets.
type landedPair struct {
	w, peer   *meridian.Workload
	t, peerT  *meridian.Target
	direction string
	// field is the workload's field that asks for the flow.
	field string
}

// CheckPeers judges every flow between two workloads where both ends
// landed: for each placement of a workload, each placement of its
// network.peers (direction "to") and of the workloads its network.ingress
// admits (direction "from") on another target. Flows inside one target
// need no path and are not judged. The placement rules that read
// input.peer run on each pair with input.workload and input.target the
// placement, and input.peer {workload, target, direction, field}; their
// violations become findings on the workload and its target. Other
// placement rules are not run again.
func (e *Engine) CheckPeers(ctx context.Context, ws []meridian.Workload, ts []meridian.Target, landed []meridian.Placement) ([]meridian.Finding, error) {
	var units []*unit
	for _, u := range e.placement {
		if u.peer {
			units = append(units, u)
		}
	}
	if len(units) == 0 {
		return nil, nil
	}
	pairs := landedPairs(ws, ts, landed)
	if len(pairs) == 0 {
		return nil, nil
	}
	ctx, cancel := e.opts.withDeadline(ctx)
	defer cancel()
	wdocs, tdocs := map[string]ast.Value{}, map[string]ast.Value{}
	value := func(cache map[string]ast.Value, name string, doc func() (map[string]any, error)) (ast.Value, error) {
		if v, ok := cache[name]; ok {
			return v, nil
		}
		d, err := doc()
		if err != nil {
			return nil, err
		}
		v, err := ast.InterfaceToValue(d)
		cache[name] = v
		return v, err
	}
	inputs := make([]ast.Value, len(pairs))
	for i, p := range pairs {
		var vals [4]ast.Value
		var err error
		for j, x := range []struct {
			cache map[string]ast.Value
			name  string
			doc   func() (map[string]any, error)
		}{
			{wdocs, p.w.Name, func() (map[string]any, error) { return workloadDoc(p.w) }},
			{tdocs, p.t.Name, func() (map[string]any, error) { return targetDoc(p.t) }},
			{wdocs, p.peer.Name, func() (map[string]any, error) { return workloadDoc(p.peer) }},
			{tdocs, p.peerT.Name, func() (map[string]any, error) { return targetDoc(p.peerT) }},
		} {
			if vals[j], err = value(x.cache, x.name, x.doc); err != nil {
				return nil, err
			}
		}
		in := inputObject(vals[0], vals[1], e.settings).(ast.Object)
		in.Insert(ast.StringTerm("peer"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("workload"), ast.NewTerm(vals[2])),
			ast.Item(ast.StringTerm("target"), ast.NewTerm(vals[3])),
			ast.Item(ast.StringTerm("direction"), ast.StringTerm(p.direction)),
			ast.Item(ast.StringTerm("field"), ast.StringTerm(p.field)),
		))
		inputs[i] = in
	}
	results := make([][]meridian.Violation, len(pairs)*len(units))
	err := parallel(ctx, e.workers, len(results), func(ctx context.Context, i int) error {
		vs, err := units[i%len(units)].eval(ctx, inputs[i/len(units)])
		results[i] = vs
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []meridian.Finding
	seen := map[meridian.Finding]bool{}
	for i, vs := range results {
		p := pairs[i/len(units)]
		for _, v := range vs {
			f := PlacementFinding(v, p.w, p.t)
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// landedPairs lists the cross-target flows between landed workloads, in
// placement order, then the workload's peers, then its ingress rules.
func landedPairs(ws []meridian.Workload, ts []meridian.Target, landed []meridian.Placement) []landedPair {
	wl := make(map[string]*meridian.Workload, len(ws))
	for i := range ws {
		wl[ws[i].Name] = &ws[i]
	}
	tg := make(map[string]*meridian.Target, len(ts))
	for i := range ts {
		tg[ts[i].Name] = &ts[i]
	}
	on := map[string][]*meridian.Target{}
	for _, p := range landed {
		if t := tg[p.Target]; t != nil {
			on[p.Workload] = append(on[p.Workload], t)
		}
	}
	var out []landedPair
	add := func(w *meridian.Workload, t *meridian.Target, other, direction, field string) {
		peer := wl[other]
		if peer == nil {
			return
		}
		for _, pt := range on[other] {
			if pt.Name != t.Name {
				out = append(out, landedPair{w: w, t: t, peer: peer, peerT: pt, direction: direction, field: field})
			}
		}
	}
	for _, p := range landed {
		w, t := wl[p.Workload], tg[p.Target]
		if w == nil || t == nil {
			continue
		}
		for _, ref := range w.PeerRefs() {
			direction := PeerTo
			if ref.Ingress {
				direction = PeerFrom
			}
			add(w, t, ref.Workload, direction, ref.Field)
		}
	}
	return out
}
