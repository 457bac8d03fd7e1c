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
	m.byName = make([]int, m.T)
	for t := range m.byName {
		m.byName[t] = t
	}
	slices.SortStableFunc(m.byName, func(a, b int) int { return strings.Compare(p.Targets[a].Name, p.Targets[b].Name) })
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
		slices.SortFunc(chosen, func(a, b int) int { return strings.Compare(p.Targets[a].Name, p.Targets[b].Name) })
		for _, t := range chosen {
			pl := m.placement(i, t, chosen, use)
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

// rejection lists the deny rules of workload i on t; ok is false if the
// pair is compliant.
func (m *model) rejection(i, t int) (r meridian.Rejection, ok bool) {
	vs := m.violations(i, t)
	if len(vs) == 0 {
		return r, false
	}
	r.Target = m.p.Targets[t].Name
	if len(vs) == 1 {
		r.Rules = []string{vs[0].Rule}
		if vs[0].Message != "" {
			r.Reasons = []string{vs[0].Message}
		}
		return r, true
	}
	vs = slices.Clone(vs)
	slices.SortFunc(vs, func(a, b meridian.Violation) int {
		return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Message, b.Message))
	})
	r.Rules = []string{}
	for _, v := range vs {
		if !slices.Contains(r.Rules, v.Rule) {
			r.Rules = append(r.Rules, v.Rule)
		}
		if v.Message != "" && !slices.Contains(r.Reasons, v.Message) {
			r.Reasons = append(r.Reasons, v.Message)
		}
	}
	return r, true
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

// placement builds the placement of workload i on target t, one of chosen.
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
	ex := meridian.Explanation{CapacityBlocked: []meridian.CapacityBlocked{}, Rejected: []meridian.Rejection{}}
	var runner int = -1
	var held int = -1 // cheapest hysteresis-blocked target with room
	for _, u := range m.byName {
		if slices.Contains(chosen, u) {
			continue
		}
		if r, ok := m.rejection(i, u); ok {
			ex.Rejected = append(ex.Rejected, r)
			continue
		}
		st := m.pairState(i, u)
		cu := m.pairCost(i, u)
		if st == pairBadCost || math.IsNaN(cu) || math.IsInf(cu, 0) || !m.swapOK(i, chosen, t, u) {
			continue
		}
		if !m.hasRoom(i, u, use) {
			if m.pin[i] < 0 && cu < my-eps(my) {
				_, why := m.room(i, u, use)
				ex.CapacityBlocked = append(ex.CapacityBlocked, meridian.CapacityBlocked{
					Target: name(u),
					Saving: meridian.Money(my - cu).Round(),
					Reason: blockedReason(my-cu, st == pairTooBig, why),
				})
			}
			continue
		}
		if runner < 0 || cu < m.pairCost(i, runner) || cu == m.pairCost(i, runner) && name(u) < name(runner) {
			runner = u
		}
		if st == pairHysteresis && cu < my && (held < 0 || cu < m.pairCost(i, held)) {
			held = u
		}
	}
	if runner >= 0 {
		ex.RunnerUp = &meridian.RunnerUp{Target: name(runner), ExtraCost: meridian.Money(m.pairCost(i, runner) - my).Round()}
	}
	slices.SortFunc(ex.CapacityBlocked, func(a, b meridian.CapacityBlocked) int {
		return cmp.Or(cmp.Compare(b.Saving, a.Saving), strings.Compare(a.Target, b.Target))
	})
	if cur := p.Current[w.Name]; len(cur) > 0 {
		ex.Current = m.currentFor(i, t, chosen)
	}
	ex.Reason = m.reason(i, t, chosen, held, len(ex.CapacityBlocked) > 0)
	return meridian.Placement{
		Workload:    w.Name,
		Target:      name(t),
		Replicas:    ws.per,
		MonthlyCost: cb.Total(),
		Cost:        cb,
		Explanation: ex,
	}
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
		if r, ok := m.rejection(i, t); ok {
			return fmt.Sprintf("pinned to %s; the pin overrides deny rules %s", name, strings.Join(r.Rules, ", "))
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
		if r, ok := m.rejection(i, c); ok {
			return fmt.Sprintf("moves from %s, which violates %s", ws.liftAt, strings.Join(r.Rules, ", "))
		}
		return fmt.Sprintf("moves from %s, which can no longer host it", ws.liftAt)
	case liftCapacity:
		return fmt.Sprintf("moves from %s, which cannot hold every workload running or pinned there", ws.liftAt)
	case liftSpread:
		return fmt.Sprintf("moves because its current targets no longer make %d distinct %s", ws.n, m.spreadWord(i))
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
	u := meridian.Unplaceable{Workload: w.Name, Targets: []meridian.Rejection{}}
	var full, roomy []string
	roomyGroups := map[int32]bool{}
	for t := 0; t < m.T; t++ {
		name := p.Targets[t].Name
		rj := meridian.Rejection{Target: name}
		if r, ok := m.rejection(i, t); ok && m.pin[i] < 0 {
			rj = r
		} else {
			switch m.pairState(i, t) {
			case pairPinnedElsewhere:
				rj.Rules, rj.Reasons = []string{RulePin}, []string{"the workload is pinned to " + w.Pin}
			case pairBadCost:
				rj.Rules, rj.Reasons = []string{RulePrice}, []string{"the monthly cost is not a finite number"}
			case pairTooBig:
				_, why := m.room(i, t, use)
				rj.Rules, rj.Reasons = []string{RuleCapacity}, []string{why}
			case pairHysteresis:
				rj.Rules, rj.Reasons = []string{RuleHysteresis}, []string{"moving here saves less than the hysteresis threshold"}
			default:
				if ok, why := m.room(i, t, use); !ok {
					rj.Rules, rj.Reasons = []string{RuleCapacity}, []string{why}
					full = append(full, name)
					break
				}
				roomy = append(roomy, name)
				roomyGroups[m.group(i, t)] = true
				rule := RuleSpread
				if w.Requires.SpreadBy != meridian.SpreadByTarget {
					rule = RuleSpreadBy
				}
				if m.pin[i] >= 0 {
					rule = RulePin
				}
				rj.Rules = []string{rule}
				rj.Reasons = []string{fmt.Sprintf("requires.spread: %d needs %d distinct %s", ws.n, ws.n, m.spreadWord(i))}
			}
		}
		if rj.Rules == nil {
			rj.Rules = []string{}
		}
		u.Targets = append(u.Targets, rj)
	}
	slices.SortFunc(u.Targets, func(a, b meridian.Rejection) int { return strings.Compare(a.Target, b.Target) })
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
				ws.n, ws.n, m.spreadWord(i), len(roomyGroups), strings.Join(roomy, ", "))
		default:
			slices.Sort(full)
			u.Reason = fmt.Sprintf("capacity: every compliant target is full (%s)", strings.Join(full, ", "))
		}
	}
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
