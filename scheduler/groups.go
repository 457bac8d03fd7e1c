package scheduler

import (
	"cmp"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// maxReasonsPerRule is how many groups of one rule an explanation keeps;
// the targets of its further messages are folded into the last one. A
// rule whose message names each target (an org policy may word it so)
// would otherwise make a group per target, which is what grouping is for
// avoiding.
const maxReasonsPerRule = 5

// linearGroups is how many groups grouper.add compares one by one before
// it indexes them: a workload has a handful, and messages of the same
// verdict share their bytes (the policy engine evaluates equal pairs
// once), so comparing is cheaper than hashing.
const linearGroups = 16

// grouper groups the targets one workload cannot use by rule and reason.
// It is reused from workload to workload.
type grouper struct {
	m    *model
	i    int
	gs   []targetGroup
	at   map[cause]int // index of gs, once there are more than linearGroups
	seen []bool        // per target, for folding
}

// targetGroup is a group being built: its targets in the order added.
type targetGroup struct {
	cause
	targets []int
	// near are the NearestTargets nearest targets, nearest first; other
	// is how many groups were folded into this one.
	near  []int
	other int
}

func (m *model) newGrouper(i int) *grouper { return &grouper{m: m, i: i} }

// reset starts the groups of workload i, keeping the memory.
func (g *grouper) reset(i int) {
	g.i = i
	for k := range g.gs {
		g.gs[k].targets, g.gs[k].near = g.gs[k].targets[:0], g.gs[k].near[:0]
	}
	g.gs, g.at = g.gs[:0], nil
}

// add puts target t in the group of rule and reason.
func (g *grouper) add(rule, reason string, t int) {
	c := cause{rule, reason}
	k := -1
	if g.at != nil {
		if j, ok := g.at[c]; ok {
			k = j
		}
	} else {
		k = slices.IndexFunc(g.gs, func(tg targetGroup) bool { return tg.cause == c })
	}
	if k < 0 {
		k = len(g.gs)
		if k < cap(g.gs) {
			g.gs = g.gs[:k+1]
			g.gs[k].cause, g.gs[k].other = c, 0
		} else {
			g.gs = append(g.gs, targetGroup{cause: c})
		}
		switch {
		case g.at != nil:
			g.at[c] = k
		case len(g.gs) > linearGroups:
			g.at = make(map[cause]int, 2*len(g.gs))
			for j := range g.gs {
				g.at[g.gs[j].cause] = j
			}
		}
	}
	ts := g.gs[k].targets
	if n := len(ts); n > 0 && ts[n-1] == t {
		return // the same rule and message twice on one target
	}
	g.gs[k].targets = append(ts, t)
}

// groups returns the groups, the one with the nearest target first (by
// rule and reason among equals), a rule's groups beyond maxReasonsPerRule
// folded into its last.
func (g *grouper) groups() []meridian.RejectionGroup {
	for k := range g.gs {
		g.gs[k].near = g.nearest(g.gs[k].targets, g.gs[k].near[:0])
	}
	g.sort()
	g.fold()
	out := make([]meridian.RejectionGroup, len(g.gs))
	for k, tg := range g.gs {
		names := make([]string, len(tg.near))
		for q, t := range tg.near {
			names[q] = g.m.p.Targets[t].Name
		}
		out[k] = meridian.RejectionGroup{Rule: tg.rule, Reason: tg.reason, OtherReasons: tg.other, Count: len(tg.targets), Nearest: names}
	}
	return out
}

func (g *grouper) sort() {
	slices.SortFunc(g.gs, func(a, b targetGroup) int {
		return cmp.Or(g.m.nearer(g.i, a.near[0], b.near[0]), strings.Compare(a.rule, b.rule),
			cmp.Compare(a.other, b.other), strings.Compare(a.reason, b.reason))
	})
}

// nearest appends to near the NearestTargets of ts nearest to the
// workload, nearest first.
func (g *grouper) nearest(ts, near []int) []int {
	for _, t := range ts {
		at, _ := slices.BinarySearchFunc(near, t, func(a, b int) int { return g.m.nearer(g.i, a, b) })
		if at < meridian.NearestTargets {
			near = slices.Insert(near, at, t)
			near = near[:min(len(near), meridian.NearestTargets)]
		}
	}
	return near
}

// fold merges, for each rule with more than maxReasonsPerRule groups, the
// groups after its first maxReasonsPerRule-1 into one without a reason.
// The merged group counts each target once, though a target may fail the
// rule with several messages.
func (g *grouper) fold() {
	if len(g.gs) <= maxReasonsPerRule {
		return
	}
	per := map[string]int{}
	for _, tg := range g.gs {
		per[tg.rule]++
	}
	if !slices.ContainsFunc(g.gs, func(tg targetGroup) bool { return per[tg.rule] > maxReasonsPerRule }) {
		return
	}
	// A new array: reset reuses the groups' memory, which the folded
	// groups must not share.
	kept := make([]targetGroup, 0, len(g.gs))
	into := map[string]int{} // rule -> index in kept of its folded group
	seen := map[string]int{} // rule -> groups of it kept so far
	for _, tg := range g.gs {
		if per[tg.rule] <= maxReasonsPerRule || seen[tg.rule] < maxReasonsPerRule-1 {
			seen[tg.rule]++
			kept = append(kept, tg)
			continue
		}
		k, ok := into[tg.rule]
		if !ok {
			into[tg.rule] = len(kept)
			tg.reason, tg.other = "", 1
			tg.targets = slices.Clone(tg.targets)
			kept = append(kept, tg)
			continue
		}
		kept[k].other++
		kept[k].targets = append(kept[k].targets, tg.targets...)
	}
	g.gs = kept
	if g.seen == nil {
		g.seen = make([]bool, g.m.T)
	}
	for _, k := range into {
		tg := &g.gs[k]
		ts := tg.targets[:0]
		for _, t := range tg.targets {
			if !g.seen[t] {
				g.seen[t] = true
				ts = append(ts, t)
			}
		}
		for _, t := range ts {
			g.seen[t] = false
		}
		tg.targets = ts
		tg.near = g.nearest(ts, nil)
	}
	g.sort()
}

// rejected groups the targets that fail a deny rule for workload i, other
// than its chosen targets (a pin overrides the rules), and counts them.
func (m *model) rejected(g *grouper, i int, chosen []int) ([]meridian.RejectionGroup, int) {
	g.reset(i)
	n := 0
	for t := 0; t < m.T; t++ {
		vs := m.violations(i, t)
		if vs == nil || slices.Contains(chosen, t) {
			continue
		}
		n++
		for _, v := range vs {
			g.add(v.Rule, v.Message, t)
		}
	}
	return g.groups(), n
}
