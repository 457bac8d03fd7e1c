package scheduler

import (
	"math"
	"runtime"
	"slices"

	"github.com/meridianhq/meridian"
)

// pairState says whether a workload may use a target and, if not, why.
type pairState uint8

const (
	pairAllowed         pairState = iota
	pairViolation                 // a deny-severity placement rule fails
	pairPinnedElsewhere           // the workload is pinned to another target
	pairBadCost                   // the price is not a finite number
	pairTooBig                    // one share of the workload exceeds the target's total capacity
	pairHysteresis                // moving there saves less than the hysteresis threshold
)

// capEps is the relative slack allowed on capacity rows, so that a target
// filled exactly to its capacity by float sums is not reported as overfull.
const capEps = 1e-9

// cand is one target a workload may use, as the optimizer sees it.
type cand struct {
	t    int32   // target index
	k    int32   // capacitated-target index, or -1
	g    int32   // spread group: target, provider or region id
	cost float64 // monthly cost on t, including migration
	// nv and nm are the shares of k's vCPU and memory capacity one placement
	// takes.
	nv, nm float64
}

// work is the optimizer's view of one workload.
type work struct {
	n      int     // spread: number of distinct targets
	per    int     // replicas per target
	dv, dm float64 // vCPU and memory per target
	// cands are the options worth considering, by cost then target: every
	// allowed capacitated target, and the cheapest allowed uncapacitated
	// ones (per spread group, or the n cheapest). An uncapacitated target
	// outside this list is dominated by one inside it.
	cands   []cand
	current []int32 // current targets that still exist, by index
	known   []bool  // current name resolved (parallel to Current[name])
	mig     float64 // migration cost onto a target outside current
	hasCur  bool    // the workload has a current placement
	held    bool    // hysteresis removed at least one target
	lift    lift    // why hysteresis does not apply, if it does not
	liftAt  string  // the current target that lifts it
	// static is set when the workload is unplaceable whatever the others
	// do; it is the reason code.
	static staticReason
	// mayDrop is set when no option set avoids capacitated targets, so that
	// capacity can force the workload out; the MILP gets a slack for it.
	mayDrop bool
	maxCost float64 // costliest allowed option set, for the drop penalty
}

// capTarget is a target with limited capacity.
type capTarget struct {
	t      int
	cv, cm float64 // vCPU and memory capacity; +Inf if that dimension is unlimited
}

// model is a preprocessed Problem.
type model struct {
	p     *Problem
	T     int
	ws    []work
	caps  []capTarget
	capOf []int32 // target -> capacitated index, or -1
	state []pairState
	cost  []float64 // [i*T+t], monthly cost including migration; NaN if bad
	// penalty is the cost of leaving a workload out. It exceeds the cost of
	// any complete placement, so the solver leaves out as few workloads as
	// possible before it looks at money.
	penalty float64
	pin     []int32 // pinned target per workload, -1 if none, -2 if unknown
	provID  []int32 // target -> provider id
	regID   []int32 // target -> region id
	idx     map[string]int32
	rank    []int32  // target -> its position by name, for explanations
	free    []string // per capacitated target, capacity left, for explanations
	// release marks the workloads whose hysteresis is lifted because
	// moving them makes room for moves that pay jointly (see SolveJoint); nil
	// for none.
	release []bool
}

func (m *model) pairState(i, t int) pairState { return m.state[i*m.T+t] }
func (m *model) pairCost(i, t int) float64    { return m.cost[i*m.T+t] }

// build validates p and derives the optimizer's model.
func build(p *Problem) (*model, error) { return buildReleasing(p, nil) }

// buildReleasing is build with hysteresis lifted for the workloads release
// marks (liftJoint).
func buildReleasing(p *Problem, release []bool) (*model, error) {
	if p == nil {
		return nil, meridian.Errorf(meridian.EINVALID, "scheduler: nil problem")
	}
	W, T := len(p.Workloads), len(p.Targets)
	if len(p.Rates) != T {
		return nil, meridian.Errorf(meridian.EINVALID, "scheduler: %d rates for %d targets", len(p.Rates), T)
	}
	if p.Replicas != nil && len(p.Replicas) != W {
		return nil, meridian.Errorf(meridian.EINVALID, "scheduler: %d replica counts for %d workloads", len(p.Replicas), W)
	}
	if p.Violations != nil {
		if len(p.Violations) != W {
			return nil, meridian.Errorf(meridian.EINVALID, "scheduler: violations for %d workloads, want %d", len(p.Violations), W)
		}
		for i, row := range p.Violations {
			if row != nil && len(row) != T {
				return nil, meridian.Errorf(meridian.EINVALID, "scheduler: workload %s: violations for %d targets, want %d", p.Workloads[i].Name, len(row), T)
			}
		}
	}
	m := &model{
		p: p, T: T,
		ws:      make([]work, W),
		capOf:   make([]int32, T),
		state:   make([]pairState, W*T),
		cost:    make([]float64, W*T),
		pin:     make([]int32, W),
		idx:     make(map[string]int32, T),
		release: release,
	}
	m.provID, m.regID = make([]int32, T), make([]int32, T)
	provs, regs := map[string]int32{}, map[string]int32{}
	for t := range p.Targets {
		tg := &p.Targets[t]
		if _, dup := m.idx[tg.Name]; !dup {
			m.idx[tg.Name] = int32(t)
		}
		m.provID[t] = intern(provs, string(tg.Provider))
		m.regID[t] = intern(regs, tg.Region)
		m.capOf[t] = -1
		if c := tg.Capacity; c.Limited() {
			m.capOf[t] = int32(len(m.caps))
			m.caps = append(m.caps, capTarget{t: t, cv: limit(c.VCPU), cm: limit(c.MemoryGiB)})
		}
	}
	// Workloads are independent until hysteresis, which looks at what is
	// held on each target, and again after it; each parallel step writes
	// only its own workload's data.
	g, n := runtime.GOMAXPROCS(0), chunks(W, buildChunk)
	each := func(fn func(i, q int)) {
		parallel(n, g, func(c, q int) {
			for i := c * buildChunk; i < min(W, (c+1)*buildChunk); i++ {
				fn(i, q)
			}
		})
	}
	each(func(i, _ int) { m.pass1(i) })
	m.hysteresis()
	scratch := make([][]cand, g)
	each(func(i, q int) { scratch[q] = m.candidates(i, scratch[q][:0]) })
	m.penalty = 1
	for i := range m.ws {
		m.penalty += m.ws[i].maxCost
	}
	return m, nil
}

// buildChunk is how many workloads one task of the parallel model build
// takes.
const buildChunk = 256

// limit turns a declared capacity into a bound: a dimension left at zero on
// a limited target is unlimited, so that "capacity: {vcpu: 64}" does not
// forbid all memory.
func limit(v float64) float64 {
	if v > 0 {
		return v
	}
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return math.Inf(1)
}

func intern(ids map[string]int32, s string) int32 {
	id, ok := ids[s]
	if !ok {
		id = int32(len(ids))
		ids[s] = id
	}
	return id
}

// demand sanitizes one replica-share dimension: anything not a finite
// non-negative number cannot fit a limited target.
func demand(v float64) float64 {
	if v >= 0 && !math.IsInf(v, 1) {
		return v
	}
	return math.Inf(1)
}

// pass1 sizes workload i and classifies every target by policy, pin, price
// and total capacity.
func (m *model) pass1(i int) {
	p, T := m.p, m.T
	w := &p.Workloads[i]
	ws := &m.ws[i]
	want := 0
	if p.Replicas != nil {
		want = p.Replicas[i]
	}
	ws.n = w.SpreadCount()
	_, ws.per = w.SplitReplicas(want)
	if ws.per < 0 {
		ws.per = 0
	}
	ws.dv = demand(float64(ws.per) * w.PerReplica.VCPU)
	ws.dm = demand(float64(ws.per) * w.PerReplica.MemoryGiB)

	m.pin[i] = -1
	if w.Pin != "" {
		m.pin[i] = -2
		if t, ok := m.idx[w.Pin]; ok {
			m.pin[i] = t
		}
	}
	if cur := p.Current[w.Name]; len(cur) > 0 {
		ws.hasCur = true
		ws.known = make([]bool, len(cur))
		ws.mig = math.Inf(1)
		for j, name := range cur {
			t, ok := m.idx[name]
			if !ok || slices.Contains(ws.current, t) {
				ws.known[j] = ok
				continue
			}
			ws.known[j] = true
			ws.current = append(ws.current, t)
			mc := float64(meridian.MigrationCost(w, p.Rates[t], p.Settings.MigrationAmortizeMonths))
			if mc < ws.mig {
				ws.mig = mc
			}
		}
		slices.Sort(ws.current)
		// With no known source the move's egress cannot be priced; it is
		// counted as free rather than guessed.
		if math.IsInf(ws.mig, 1) || !(ws.mig >= 0) {
			ws.mig = 0
		}
	}
	for t := 0; t < T; t++ {
		st := pairAllowed
		switch {
		case m.pin[i] != -1 && int32(t) != m.pin[i]:
			st = pairPinnedElsewhere
		case m.pin[i] == -1 && m.violations(i, t) != nil:
			st = pairViolation
		}
		c := float64(meridian.MonthlyCost(w, ws.per, p.Rates[t]).Total())
		if ws.hasCur && !slices.Contains(ws.current, int32(t)) {
			c += ws.mig
		}
		m.cost[i*T+t] = c
		if st == pairAllowed {
			if math.IsNaN(c) || math.IsInf(c, 0) {
				st = pairBadCost
			} else if k := m.capOf[t]; k >= 0 && !m.fitsEmpty(i, int(k)) {
				st = pairTooBig
			}
		}
		m.state[i*T+t] = st
	}
}

// violations returns the deny violations of workload i on target t.
func (m *model) violations(i, t int) []meridian.Violation {
	if m.p.Violations == nil || m.p.Violations[i] == nil || len(m.p.Violations[i][t]) == 0 {
		return nil
	}
	return m.p.Violations[i][t]
}

// fitsEmpty reports whether one share of workload i fits capacitated target
// k when k hosts nothing else.
func (m *model) fitsEmpty(i, k int) bool {
	c := m.caps[k]
	ws := &m.ws[i]
	return ws.dv <= c.cv*(1+capEps) && ws.dm <= c.cm*(1+capEps)
}

// threshold is the hysteresis threshold for leaving a target that costs c.
func (m *model) threshold(c float64) float64 {
	s := m.p.Settings
	return max(s.MinSavingPercent/100*c, s.MinSavingUSD)
}

// hysteresis removes the moves that save less than the threshold. The rule
// is lifted for a workload when any of its current targets can no longer
// host it (gone, non-compliant, too small, unpriceable) or when the
// workloads that would be held on a capacitated current target, together
// with those pinned to it, no longer fit it: then some of them must move,
// and the optimizer picks which.
func (m *model) hysteresis() {
	T := m.T
	held := make([][2]float64, len(m.caps))
	for i := range m.ws {
		ws := &m.ws[i]
		var hosts []int32
		switch {
		case m.pin[i] >= 0 && ws.n == 1:
			hosts = []int32{m.pin[i]}
		case ws.hasCur:
			hosts = ws.current
		}
		for _, t := range hosts {
			if k := m.capOf[t]; k >= 0 && m.state[i*T+int(t)] == pairAllowed {
				held[k][0] += ws.dv
				held[k][1] += ws.dm
			}
		}
	}
	overfull := make([]bool, len(m.caps))
	for k, c := range m.caps {
		overfull[k] = held[k][0] > c.cv*(1+capEps) || held[k][1] > c.cm*(1+capEps)
	}
	for i := range m.ws {
		ws := &m.ws[i]
		if !ws.hasCur || m.pin[i] != -1 {
			continue
		}
		if ws.lift, ws.liftAt = m.stayable(i, overfull); ws.lift != liftNone {
			continue
		}
		// A released workload is still marked where hysteresis would hold
		// it, so that its explanation says why it stays; candidates lets
		// it go there at the price of its threshold.
		if m.release != nil && m.release[i] {
			ws.lift = liftJoint
		}
		for t := 0; t < T; t++ {
			if m.state[i*T+t] != pairAllowed || slices.Contains(ws.current, int32(t)) {
				continue
			}
			ct := m.cost[i*T+t]
			ok := false
			for _, c := range ws.current {
				cc := m.cost[i*T+int(c)]
				if ct < cc-m.threshold(cc) {
					ok = true
					break
				}
			}
			if !ok {
				m.state[i*T+t] = pairHysteresis
				ws.held = true
			}
		}
	}
}

// lift says why hysteresis does not hold a workload with a current
// placement.
type lift uint8

const (
	liftNone     lift = iota
	liftGone          // a current target is no longer declared
	liftPolicy        // a current target violates policy, is too small or has no price
	liftSpread        // the current targets no longer make a valid spread
	liftCapacity      // a limited current target cannot hold what runs and is pinned there
	liftJoint         // leaving a limited current target makes room for moves that pay jointly
)

// stayable says whether workload i could stay where it runs, so that the
// hysteresis rule applies to it, and if not why and because of which
// current target (by name).
func (m *model) stayable(i int, overfull []bool) (lift, string) {
	ws := &m.ws[i]
	cur := m.p.Current[m.p.Workloads[i].Name]
	for j, ok := range ws.known {
		if !ok {
			return liftGone, cur[j]
		}
	}
	for _, c := range ws.current {
		name := m.p.Targets[c].Name
		if m.state[i*m.T+int(c)] != pairAllowed {
			return liftPolicy, name
		}
		if k := m.capOf[c]; k >= 0 && overfull[k] {
			return liftCapacity, name
		}
	}
	var groups []int32
	for _, c := range ws.current {
		if g := m.group(i, int(c)); !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	if len(groups) < ws.n {
		return liftSpread, ""
	}
	return liftNone, ""
}

// group returns workload i's spread group of target t.
func (m *model) group(i, t int) int32 {
	switch m.p.Workloads[i].Requires.SpreadBy {
	case meridian.SpreadByProvider:
		return m.provID[t]
	case meridian.SpreadByRegion:
		return m.regID[t]
	}
	return int32(t)
}

// candidates builds workload i's optimizer options and decides whether it
// is unplaceable on its own. all is scratch; it returns it, grown.
func (m *model) candidates(i int, all []cand) []cand {
	ws := &m.ws[i]
	T := m.T
	switch {
	case m.pin[i] == -2:
		ws.static = staticPinUnknown
		return all
	case m.pin[i] >= 0 && ws.n > 1:
		ws.static = staticPinSpread
		return all
	}
	// A workload released for a joint move (SolveJoint) pays its
	// hysteresis threshold in the objective when it leaves, as SolveJoint
	// charges it when judging the result: otherwise the joint optimum
	// makes every move that saves a cent, and their thresholds add up to
	// refuse the few moves that pay.
	leave := 0.0
	if ws.lift == liftJoint {
		here := math.Inf(1)
		for _, c := range ws.current {
			here = min(here, m.cost[i*T+int(c)])
		}
		leave = m.threshold(here)
	}
	for t := 0; t < T; t++ {
		if st := m.state[i*T+t]; st != pairAllowed && (st != pairHysteresis || ws.lift != liftJoint) {
			continue
		}
		c := cand{t: int32(t), k: m.capOf[t], g: m.group(i, t), cost: m.cost[i*T+t]}
		if leave > 0 && !slices.Contains(ws.current, int32(t)) {
			c.cost += leave
		}
		if c.k >= 0 {
			cp := m.caps[c.k]
			c.nv, c.nm = share(ws.dv, cp.cv), share(ws.dm, cp.cm)
		}
		all = append(all, c)
	}
	// Keep every capacitated option; of the uncapacitated ones keep the
	// cheapest per group (enough for n distinct groups) or, without groups,
	// the n cheapest. groups collects distinct spread groups only up to n:
	// that is all feasibility needs.
	byGroup := ws.n > 1 && m.p.Workloads[i].Requires.SpreadBy != meridian.SpreadByTarget
	var groups []int32
	var uncap []cand
	var top []float64 // the n largest costs, for maxCost
	for _, c := range all {
		if len(groups) < ws.n && !slices.Contains(groups, c.g) {
			groups = append(groups, c.g)
		}
		if len(top) < ws.n {
			top = append(top, c.cost)
		} else if q := slices.Index(top, slices.Min(top)); c.cost > top[q] {
			top[q] = c.cost
		}
		if c.k >= 0 {
			ws.cands = append(ws.cands, c)
			continue
		}
		q := -1
		if byGroup {
			q = slices.IndexFunc(uncap, func(u cand) bool { return u.g == c.g })
		} else if len(uncap) >= ws.n {
			q = slices.IndexFunc(uncap, func(u cand) bool {
				return candLess(c, u) && !slices.ContainsFunc(uncap, func(v cand) bool { return candLess(u, v) })
			})
		}
		switch {
		case q < 0 && (byGroup || len(uncap) < ws.n):
			uncap = append(uncap, c)
		case q >= 0 && candLess(c, uncap[q]):
			uncap[q] = c
		}
	}
	for _, v := range top {
		ws.maxCost += v
	}
	ws.mayDrop = len(uncap) < ws.n
	if len(groups) < ws.n {
		ws.static = m.staticCause(i, len(groups))
		ws.cands = nil
		return all
	}
	ws.cands = append(ws.cands, uncap...)
	slices.SortFunc(ws.cands, func(a, b cand) int {
		switch {
		case candLess(a, b):
			return -1
		case candLess(b, a):
			return 1
		}
		return 0
	})
	return all
}

// candLess orders candidates by cost, then target.
func candLess(a, b cand) bool {
	if a.cost != b.cost {
		return a.cost < b.cost
	}
	return a.t < b.t
}

func share(d, c float64) float64 {
	if d == 0 || math.IsInf(c, 1) {
		return 0
	}
	if c <= 0 {
		return math.Inf(1)
	}
	return d / c
}
