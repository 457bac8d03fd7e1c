package scheduler

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/meridianhq/meridian"
)

// staticReason says why a workload is unplaceable whatever the others do.
type staticReason uint8

const (
	staticNone        staticReason = iota
	staticPinUnknown               // pinned to an undeclared target
	staticPinSpread                // pinned, but spread needs several targets
	staticNoCompliant              // every target violates a deny rule
	staticNoPrice                  // no compliant target has a finite price
	staticTooBig                   // no compliant target is large enough
	staticSpread                   // fewer distinct compliant targets than spread needs
)

// Pseudo rule IDs for rejections that are not policy violations.
const (
	RuleCapacity   = "capacity"
	RulePin        = "pin"
	RulePrice      = "price"
	RuleSpread     = "spread"
	RuleSpreadBy   = "spread_by"
	RuleHysteresis = "hysteresis"
)

// staticCause classifies a workload that has fewer than n usable spread
// groups; groups is how many it has.
func (m *model) staticCause(i, groups int) staticReason {
	if groups > 0 {
		return staticSpread
	}
	var tooBig, badCost bool
	for t := 0; t < m.T; t++ {
		switch m.pairState(i, t) {
		case pairTooBig:
			tooBig = true
		case pairBadCost:
			badCost = true
		}
	}
	switch {
	case tooBig:
		return staticTooBig
	case badCost:
		return staticNoPrice
	}
	return staticNoCompliant
}

// result turns the incumbent into placements with explanations.
func (s *solver) result() *Result {
	m := s.m
	p := m.p
	res := &Result{Placements: []meridian.Placement{}, Unplaceable: []meridian.Unplaceable{}}
	use := make([]float64, 2*s.K)
	for _, i := range s.active {
		s.addUse(i, s.selOf(s.inc, i), 1, use)
	}
	m.nameOrder()
	g := m.newGrouper(0)
	var cost meridian.Money
	dropped := 0
	for i := range p.Workloads {
		ws := &m.ws[i]
		if ws.static != staticNone {
			res.Unplaceable = append(res.Unplaceable, m.unplaceable(i, use))
			continue
		}
		o := s.selOf(s.inc, i)
		if o[0] < 0 {
			dropped++
			res.Unplaceable = append(res.Unplaceable, m.unplaceable(i, use))
			continue
		}
		chosen := make([]int, len(o))
		for q, j := range o {
			chosen[q] = int(ws.cands[j].t)
		}
		m.byNameOf(chosen)
		// The rejected targets are the same for every placement of the
		// workload: the groups are built once and shared.
		rej, n := m.rejected(g, i, chosen)
		for _, t := range chosen {
			pl := m.placement(i, t, chosen, use)
			pl.Explanation.Rejected, pl.Explanation.RejectedCount = rej, n
			cost += pl.MonthlyCost
			res.Placements = append(res.Placements, pl)
		}
	}
	st := meridian.SolverStats{Method: s.method, Optimal: s.optimal}
	// The bound is on the objective, drop penalties included; the gap in
	// money is the same for the cost of what is placed.
	absGap := 0.0
	if !s.optimal {
		absGap = max(0, s.incCost-s.lb)
		if math.IsInf(absGap, 0) || math.IsNaN(absGap) {
			absGap = float64(cost)
		}
	}
	st.LowerBound = meridian.Money(math.Floor((float64(cost)-absGap)*100) / 100)
	if s.optimal {
		st.LowerBound = cost
	}
	if cost > 0 {
		st.GapPercent = math.Ceil(absGap/float64(cost)*100*1e4) / 1e4
	}
	if dropped > 0 && !s.optimal {
		st.Method += fmt.Sprintf(" (%d workloads left out for capacity)", dropped)
	}
	res.Stats = st
	return res
}

// nameOrder ranks the targets by name, for the explanations' tie-breaks.
func (m *model) nameOrder() {
	byName := make([]int, m.T)
	for t := range byName {
		byName[t] = t
	}
	slices.SortStableFunc(byName, func(a, b int) int { return strings.Compare(m.p.Targets[a].Name, m.p.Targets[b].Name) })
	m.rank = make([]int32, m.T)
	for r, t := range byName {
		m.rank[t] = int32(r)
	}
}

// byNameOf sorts target indices ts by name.
func (m *model) byNameOf(ts []int) {
	slices.SortFunc(ts, func(a, b int) int { return cmp.Compare(m.rank[a], m.rank[b]) })
}

// nearer orders workload i's targets for explanations: by its monthly cost
// there, cheapest first and unpriced last, then by name.
func (m *model) nearer(i, a, b int) int {
	ca, cb := m.pairCost(i, a), m.pairCost(i, b)
	fa, fb := finite(ca), finite(cb)
	switch {
	case fa != fb:
		if fa {
			return -1
		}
		return 1
	case fa && ca != cb:
		return cmp.Compare(ca, cb)
	}
	return cmp.Compare(m.rank[a], m.rank[b])
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// hasRoom reports whether workload i could be added to target t given
// usage use (i not on t).
func (m *model) hasRoom(i, t int, use []float64) bool {
	k := m.capOf[t]
	if k < 0 {
		return true
	}
	ws := &m.ws[i]
	c := m.caps[k]
	return use[2*k]+share(ws.dv, c.cv) <= 1+capEps && use[2*k+1]+share(ws.dm, c.cm) <= 1+capEps
}

// room reports whether workload i could be added to target t given usage
// use (i not on t), and describes the shortfall if not.
func (m *model) room(i, t int, use []float64) (bool, string) {
	if m.hasRoom(i, t, use) {
		return true, ""
	}
	k := m.capOf[t]
	ws := &m.ws[i]
	c := m.caps[k]
	if !m.fitsEmpty(i, int(k)) {
		return false, "needs " + amount(ws.dv, ws.dm) + " per target, more than its total capacity of " + amount(c.cv, c.cm)
	}
	if m.free == nil {
		m.free = make([]string, len(m.caps))
	}
	if m.free[k] == "" {
		left := func(cap, u float64) float64 { return max(0, cap*(1-u)) }
		m.free[k] = amount(left(c.cv, use[2*k]), left(c.cm, use[2*k+1]))
	}
	return false, "needs " + amount(ws.dv, ws.dm) + ", only " + m.free[k] + " left"
}

func amount(v, mem float64) string {
	f := func(x float64) string {
		if math.IsInf(x, 1) {
			return "unlimited"
		}
		return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(x, 'f', 2, 64), "0"), ".")
	}
	return f(v) + " vCPU / " + f(mem) + " GiB"
}

func blockedReason(saving float64, tooBig bool, why string) string {
	if tooBig {
		return "would be " + usd(saving) + " cheaper but is too small: it " + why
	}
	return "would be " + usd(saving) + " cheaper but has no capacity left after higher-value workloads: it " + why
}

func usd(v float64) string { return "$" + strconv.FormatFloat(v, 'f', 2, 64) + "/mo" }

// rejection lists the deny rules of workload i on t, each once and sorted,
// and their distinct messages; ok is false if the pair is compliant.
func (m *model) rejection(i, t int) (rules, reasons []string, ok bool) {
	vs := m.violations(i, t)
	if len(vs) == 0 {
		return nil, nil, false
	}
	if len(vs) == 1 {
		if vs[0].Message != "" {
			reasons = []string{vs[0].Message}
		}
		return []string{vs[0].Rule}, reasons, true
	}
	vs = slices.Clone(vs)
	slices.SortFunc(vs, func(a, b meridian.Violation) int {
		return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Message, b.Message))
	})
	for _, v := range vs {
		if !slices.Contains(rules, v.Rule) {
			rules = append(rules, v.Rule)
		}
		if v.Message != "" && !slices.Contains(reasons, v.Message) {
			reasons = append(reasons, v.Message)
		}
	}
	return rules, reasons, true
}

// spreadWord names what the spread targets of workload i must differ in.
func (m *model) spreadWord(i int) string {
	switch m.p.Workloads[i].Requires.SpreadBy {
	case meridian.SpreadByProvider:
		return "providers"
	case meridian.SpreadByRegion:
		return "regions"
	}
	return "targets"
}

// swapOK reports whether replacing target out by in keeps workload i's
// chosen targets in distinct spread groups.
func (m *model) swapOK(i int, chosen []int, out, in int) bool {
	g := m.group(i, in)
	for _, c := range chosen {
		if c != out && m.group(i, c) == g {
			return false
		}
	}
	return true
}

// placement builds the placement of workload i on target t, one of chosen
// (sorted by name), without its rejected targets (see rejected).
func (m *model) placement(i, t int, chosen []int, use []float64) meridian.Placement {
	p := m.p
	w := &p.Workloads[i]
	ws := &m.ws[i]
	name := func(t int) string { return p.Targets[t].Name }
	cb := meridian.MonthlyCost(w, ws.per, p.Rates[t])
	if ws.hasCur && !slices.Contains(ws.current, int32(t)) {
		cb.Migration = meridian.Money(ws.mig)
	}
	my := m.pairCost(i, t)
	ex := meridian.Explanation{CapacityBlocked: []meridian.CapacityBlocked{}, Rejected: []meridian.RejectionGroup{}}
	runner, held, blocked := m.alternatives(i, t, chosen, use)
	if runner >= 0 {
		ex.RunnerUp = &meridian.RunnerUp{Target: name(runner), ExtraCost: meridian.Money(m.pairCost(i, runner) - my).Round()}
	}
	ex.CapacityBlockedCount = blocked.n
	for _, u := range blocked.top {
		cu := m.pairCost(i, u)
		_, why := m.room(i, u, use)
		ex.CapacityBlocked = append(ex.CapacityBlocked, meridian.CapacityBlocked{
			Target: name(u),
			Saving: meridian.Money(my - cu).Round(),
			Reason: blockedReason(my-cu, m.pairState(i, u) == pairTooBig, why),
		})
	}
	if cur := p.Current[w.Name]; len(cur) > 0 {
		ex.Current = m.currentFor(i, t, chosen)
	}
	ex.Reason = m.reason(i, t, chosen, held, blocked.n > 0)
	return meridian.Placement{
		Workload:    w.Name,
		Target:      name(t),
		Replicas:    ws.per,
		MonthlyCost: cb.Total(),
		Cost:        cb,
		Explanation: ex,
	}
}

// capacityBlocked is what alternatives found of the compliant targets
// cheaper than a placement's that had no room: how many, and the
// NearestTargets of them with the largest saving.
type capacityBlocked struct {
	n   int
	top []int
}

// alternatives weighs the other targets of workload i placed on t, one of
// chosen: the runner-up (the cheapest compliant target with room, by name
// among equals), held (the cheapest target that hysteresis keeps it off
// and that has room) and the capacity-blocked ones. runner and held are
// -1 when there is none.
func (m *model) alternatives(i, t int, chosen []int, use []float64) (runner, held int, blocked capacityBlocked) {
	runner, held = -1, -1
	my := m.pairCost(i, t)
	// saving orders the capacity-blocked targets as the plan shows them:
	// by saving to the cent, then by name.
	saving := func(u int) meridian.Money { return meridian.Money(my - m.pairCost(i, u)).Round() }
	for u := 0; u < m.T; u++ {
		if slices.Contains(chosen, u) || m.violations(i, u) != nil {
			continue
		}
		st := m.pairState(i, u)
		cu := m.pairCost(i, u)
		if st == pairBadCost || !finite(cu) || !m.swapOK(i, chosen, t, u) {
			continue
		}
		if !m.hasRoom(i, u, use) {
			if m.pin[i] < 0 && cu < my-eps(my) {
				blocked.n++
				at, _ := slices.BinarySearchFunc(blocked.top, u, func(a, b int) int {
					return cmp.Or(cmp.Compare(saving(b), saving(a)), cmp.Compare(m.rank[a], m.rank[b]))
				})
				if at < meridian.NearestTargets {
					blocked.top = slices.Insert(blocked.top, at, u)
					blocked.top = blocked.top[:min(len(blocked.top), meridian.NearestTargets)]
				}
			}
			continue
		}
		if runner < 0 || cu < m.pairCost(i, runner) || cu == m.pairCost(i, runner) && m.rank[u] < m.rank[runner] {
			runner = u
		}
		if st == pairHysteresis && cu < my && (held < 0 || cu < m.pairCost(i, held) || cu == m.pairCost(i, held) && m.rank[u] < m.rank[held]) {
			held = u
		}
	}
	return runner, held, blocked
}

// currentFor is the current target shown on the placement of workload i on
// t: t itself if it runs there now, else the current target it leaves.
func (m *model) currentFor(i, t int, chosen []int) string {
	cur := slices.Clone(m.p.Current[m.p.Workloads[i].Name])
	slices.Sort(cur)
	name := m.p.Targets[t].Name
	if slices.Contains(cur, name) {
		return name
	}
	for _, c := range cur {
		if u, ok := m.idx[c]; !ok || !slices.Contains(chosen, int(u)) {
			return c
		}
	}
	return cur[0]
}

// reason is the one-line explanation of placing workload i on t.
func (m *model) reason(i, t int, chosen []int, held int, blocked bool) string {
	p := m.p
	ws := &m.ws[i]
	name := p.Targets[t].Name
	if m.pin[i] >= 0 {
		if rules, _, ok := m.rejection(i, t); ok {
			return fmt.Sprintf("pinned to %s; the pin overrides deny rules %s", name, strings.Join(rules, ", "))
		}
		return "pinned to " + name
	}
	my := m.pairCost(i, t)
	isCur := slices.Contains(ws.current, int32(t))
	if isCur && held >= 0 {
		save := my - m.pairCost(i, held)
		return fmt.Sprintf("kept on current target %s by hysteresis: moving to %s would save %s, not more than the %s threshold",
			name, p.Targets[held].Name, usd(save), usd(m.threshold(my)))
	}
	var b strings.Builder
	if ws.n > 1 {
		fmt.Fprintf(&b, "part of the cheapest compliant set of %d distinct %s", ws.n, m.spreadWord(i))
	} else {
		b.WriteString("cheapest compliant target")
	}
	if blocked {
		b.WriteString(" with capacity")
	}
	if ws.hasCur && !isCur {
		b.WriteString("; ")
		b.WriteString(m.moveReason(i, t, chosen))
	}
	return b.String()
}

// moveReason says why workload i moves onto t, off a current target.
func (m *model) moveReason(i, t int, chosen []int) string {
	ws := &m.ws[i]
	switch ws.lift {
	case liftGone:
		return fmt.Sprintf("moves from %s, which is no longer a declared target", ws.liftAt)
	case liftPolicy:
		c := int(m.idx[ws.liftAt])
		if rules, _, ok := m.rejection(i, c); ok {
			return fmt.Sprintf("moves from %s, which violates %s", ws.liftAt, strings.Join(rules, ", "))
		}
		return fmt.Sprintf("moves from %s, which can no longer host it", ws.liftAt)
	case liftCapacity:
		return fmt.Sprintf("moves from %s, which cannot hold every workload running or pinned there", ws.liftAt)
	case liftSpread:
		return fmt.Sprintf("moves because its current targets no longer make %d distinct %s", ws.n, m.spreadWord(i))
	case liftJoint:
		from := m.currentFor(i, t, chosen)
		return fmt.Sprintf("moves from %s to make room there: with the moves that room allows, the plan saves more than the sum of their hysteresis thresholds", from)
	}
	from := m.currentFor(i, t, chosen)
	c, ok := m.idx[from]
	if !ok {
		return "moves from " + from
	}
	cc := m.pairCost(i, int(c))
	return fmt.Sprintf("moves from %s, saving %s after %s migration, more than the %s threshold",
		from, usd(cc-m.pairCost(i, t)), usd(ws.mig), usd(m.threshold(cc)))
}

// unplaceable explains why workload i has no placement.
func (m *model) unplaceable(i int, use []float64) meridian.Unplaceable {
	p := m.p
	w := &p.Workloads[i]
	ws := &m.ws[i]
	u := meridian.Unplaceable{Workload: w.Name}
	var full, roomy []int
	roomyGroups := map[int32]bool{}
	g := m.newGrouper(i)
	for t := 0; t < m.T; t++ {
		why := m.unusable(i, t, use)
		switch why.room {
		case roomFull:
			full = append(full, t)
		case roomLeft:
			roomy = append(roomy, t)
			roomyGroups[m.group(i, t)] = true
		}
		for _, c := range why.causes {
			g.add(c.rule, c.reason, t)
		}
	}
	u.Targets = g.groups()
	switch ws.static {
	case staticPinUnknown:
		u.Reason = fmt.Sprintf("pinned to %q, which is not a declared target", w.Pin)
	case staticPinSpread:
		u.Reason = fmt.Sprintf("pinned to %s, but requires.spread: %d needs %d distinct targets", w.Pin, ws.n, ws.n)
	case staticNoCompliant:
		u.Reason = "no compliant target: every target violates a deny placement rule"
		if m.T == 0 {
			u.Reason = "no compliant target: no targets are declared"
		}
	case staticNoPrice:
		u.Reason = "no compliant target has a valid price"
		if m.pin[i] >= 0 {
			u.Reason = fmt.Sprintf("pinned target %s has no valid price", w.Pin)
		}
	case staticTooBig:
		if m.pin[i] >= 0 {
			_, why := m.room(i, int(m.pin[i]), use)
			u.Reason = fmt.Sprintf("pinned target %s is too small: %s", w.Pin, why)
		} else {
			u.Reason = fmt.Sprintf("capacity: no compliant target is large enough for %s per target", amount(ws.dv, ws.dm))
		}
	case staticSpread:
		u.Reason = fmt.Sprintf("requires.spread: %d needs %d distinct compliant %s, only %d available", ws.n, ws.n, m.spreadWord(i), m.groupsAllowed(i))
	default:
		switch {
		case m.pin[i] >= 0:
			_, why := m.room(i, int(m.pin[i]), use)
			u.Reason = fmt.Sprintf("pinned target %s has no capacity left: %s", w.Pin, why)
		case ws.n > 1 && len(roomy) > 0:
			u.Reason = fmt.Sprintf("capacity: requires.spread: %d needs %d distinct %s with room, only %d have room left (%s)",
				ws.n, ws.n, m.spreadWord(i), len(roomyGroups), m.names(roomy))
		default:
			u.Reason = fmt.Sprintf("capacity: every compliant target is full (%s)", m.names(full))
		}
	}
	return u
}

// names joins the names of targets ts, sorted.
func (m *model) names(ts []int) string {
	m.byNameOf(ts)
	s := make([]string, len(ts))
	for k, t := range ts {
		s[k] = m.p.Targets[t].Name
	}
	return strings.Join(s, ", ")
}

// cause is one rule, with its message, that keeps a workload off a target.
type cause struct{ rule, reason string }

// roomState says whether an otherwise usable target had room.
type roomState uint8

const (
	roomNone roomState = iota // not usable for another reason
	roomFull                  // usable but full
	roomLeft                  // usable, with room, but spread cannot be met
)

// unusableTarget is why unplaceable workload i could not go to a target.
type unusableTarget struct {
	causes []cause
	room   roomState
}

// unusable says why unplaceable workload i could not use target t, given
// usage use: the deny rules that fail there (unless a pin overrides them)
// or the solver's own reason.
func (m *model) unusable(i, t int, use []float64) unusableTarget {
	w := &m.p.Workloads[i]
	if vs := m.violations(i, t); vs != nil && m.pin[i] < 0 {
		cs := make([]cause, len(vs))
		for k, v := range vs {
			cs[k] = cause{v.Rule, v.Message}
		}
		return unusableTarget{causes: cs}
	}
	one := func(rule, reason string) unusableTarget { return unusableTarget{causes: []cause{{rule, reason}}} }
	switch m.pairState(i, t) {
	case pairPinnedElsewhere:
		return one(RulePin, "the workload is pinned to "+w.Pin)
	case pairBadCost:
		return one(RulePrice, "the monthly cost is not a finite number")
	case pairTooBig:
		_, why := m.room(i, t, use)
		return one(RuleCapacity, why)
	case pairHysteresis:
		return one(RuleHysteresis, "moving here saves less than the hysteresis threshold")
	}
	if ok, why := m.room(i, t, use); !ok {
		u := one(RuleCapacity, why)
		u.room = roomFull
		return u
	}
	rule := RuleSpread
	if w.Requires.SpreadBy != meridian.SpreadByTarget {
		rule = RuleSpreadBy
	}
	if m.pin[i] >= 0 {
		rule = RulePin
	}
	n := m.ws[i].n
	u := one(rule, fmt.Sprintf("requires.spread: %d needs %d distinct %s", n, n, m.spreadWord(i)))
	u.room = roomLeft
	return u
}

// groupsAllowed counts workload i's distinct spread groups among the
// targets it may use.
func (m *model) groupsAllowed(i int) int {
	var gs []int32
	for t := 0; t < m.T; t++ {
		if m.pairState(i, t) == pairAllowed && !slices.Contains(gs, m.group(i, t)) {
			gs = append(gs, m.group(i, t))
		}
	}
	return len(gs)
}
