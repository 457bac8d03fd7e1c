package scheduler

import (
	"cmp"
	"math"
	"slices"
)

// quick turns a (possibly over-capacity) selection into a feasible one by
// repair and best-response sweeps, offers it as incumbent and returns it
// with its usage.
func (s *solver) quick(from []int32, lam []float64) ([]int32, []float64) {
	x := slices.Clone(from)
	use := s.usage(x)
	s.repair(x, use, lam)
	s.sweep(x, use)
	s.offer(x, s.total(x))
	return x, use
}

// primal is quick followed by re-packing the limited targets (refill)
// when the gap is still open, as that costs more; full re-packs whatever
// the gap and adds the swap neighbourhood, which costs more again.
func (s *solver) primal(from []int32, lam []float64, full bool) {
	x, use := s.quick(from, lam)
	if !full && s.gap() <= s.tol {
		return
	}
	s.refillAll(x, use, maxRefillPasses)
	if full {
		for range 4 {
			if !s.swaps(x, use) || s.stop() {
				break
			}
			s.sweep(x, use)
		}
	}
	s.offer(x, s.total(x))
}

// repack runs one refill pass over the incumbent and reports whether it
// improved.
func (s *solver) repack() bool {
	x := slices.Clone(s.inc)
	before := s.incCost
	s.refillAll(x, s.usage(x), 1)
	s.offer(x, s.total(x))
	return s.incCost < before-eps(before)
}

// warmStart offers the placement the applied-state ledger records, as far
// as it is still possible: every workload on its current targets when they
// are all still among its options, the others at their choice under lam,
// then repaired and improved like any start. Re-planning a repo that
// changed little thereby starts from the plan that was applied, which
// hysteresis mostly keeps.
func (s *solver) warmStart(lam []float64) {
	x := s.newSel()
	found := false
	for _, i := range s.active {
		o := s.selOf(x, i)
		if s.fromCurrent(i, o) {
			found = true
			continue
		}
		s.lagrangeOne(i, lam, o, s.top)
	}
	s.spend(s.nCand)
	if found {
		s.quick(x, lam)
	}
}

// fromCurrent writes into o workload i's current targets as a selection,
// if they are all among its candidates and make a valid spread.
func (s *solver) fromCurrent(i int, o []int32) bool {
	ws := &s.m.ws[i]
	if !ws.hasCur || len(ws.current) != ws.n {
		return false
	}
	for q, t := range ws.current {
		j := slices.IndexFunc(ws.cands, func(c cand) bool { return c.t == t })
		if j < 0 || groupTaken(ws, o[:q], ws.cands[j].g) {
			o[0] = -1
			return false
		}
		o[q] = int32(j)
	}
	slices.Sort(o)
	return true
}

// pricedCost is the cost of workload i's selection o with the capacity it
// takes priced at lam.
func (s *solver) pricedCost(i int, o []int32, lam []float64) float64 {
	if o[0] < 0 {
		return s.m.penalty
	}
	ws := &s.m.ws[i]
	v := 0.0
	for _, j := range o[:ws.n] {
		c := &ws.cands[j]
		v += c.cost
		if c.k >= 0 {
			v += lam[2*c.k]*c.nv + lam[2*c.k+1]*c.nm
		}
	}
	return v
}

// maxSpread is the largest spread of any workload, for scratch buffers.
func (s *solver) maxSpread() int {
	n := 1
	for _, i := range s.active {
		n = max(n, s.m.ws[i].n)
	}
	return n
}

// onTarget reports whether selection o of workload i uses capacitated
// target k, and how much of its two rows.
func (s *solver) onTarget(i int, o []int32, k int32) (nv, nm float64, ok bool) {
	if o[0] < 0 {
		return 0, 0, false
	}
	ws := &s.m.ws[i]
	for _, j := range o[:ws.n] {
		if c := &ws.cands[j]; c.k == k {
			return c.nv, c.nm, true
		}
	}
	return 0, 0, false
}

// repair makes x feasible. From every over-capacity target it evicts the
// set of workloads that covers the overload at least loss (a covering
// knapsack, loss priced at lam so that the capacity of other targets is
// valued); then it re-inserts the evicted workloads, the ones that cannot
// fall back to an unlimited target first, each at its best option that
// fits; a workload that still fits nowhere makes room by pushing out
// workloads that can fall back (insert).
func (s *solver) repair(x []int32, use []float64, lam []float64) {
	tmp := make([]int32, s.maxSpread())
	var items []coverItem
	var out []coverItem
	for k := int32(0); int(k) < s.K; k++ {
		overV, overM := use[2*k]-1, use[2*k+1]-1
		if overV <= capEps && overM <= capEps {
			continue
		}
		items = items[:0]
		s.spend(s.candsOn(k))
		for _, ref := range s.onK[k] {
			i := ref.i
			o := s.selOf(x, i)
			nv, nm, ok := s.onTarget(i, o, k)
			if !ok {
				continue
			}
			alt := min(s.m.penalty, s.pricedBest(i, lam, s.m.ws[i].n, k, noSkip, tmp, s.top))
			loss := alt - s.pricedCost(i, o, lam) + lam[2*k]*nv + lam[2*k+1]*nm
			items = append(items, coverItem{i: i, a: nv, b: nm, c: max(0, loss)})
		}
		for _, it := range cover(items, overV, overM) {
			o := s.selOf(x, it.i)
			if o[0] < 0 {
				continue
			}
			s.addUse(it.i, o, -1, use)
			o[0] = -1
			out = append(out, it)
		}
	}
	// Re-insert: workloads without an unlimited fallback first, then the
	// ones that lose most per unit of capacity.
	slices.SortFunc(out, func(a, b coverItem) int {
		da, db := s.m.ws[a.i].mayDrop, s.m.ws[b.i].mayDrop
		if da != db {
			if da {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.rate(), a.rate()), a.i-b.i)
	})
	for _, e := range out {
		o := s.selOf(x, e.i)
		s.bestResponse(e.i, use, noSkip, tmp)
		copy(o, tmp)
		s.addUse(e.i, o, 1, use)
	}
	for _, e := range out {
		if s.selOf(x, e.i)[0] < 0 {
			s.insert(x, use, e.i)
		}
	}
}

// coverItem is a workload that may be evicted from a target: its shares a
// and b of the target's two rows, and the loss c of evicting it.
type coverItem struct {
	i       int
	a, b, c float64
}

// rate is the loss per unit of capacity share.
func (it coverItem) rate() float64 { return it.c / max(it.a+it.b, 1e-12) }

// coverUnits is the resolution of the covering knapsack.
const coverUnits = 64

// cover picks items whose shares cover overloads needA and needB (either
// may be <= 0) at least total loss. It solves the knapsack for the scarcer
// row exactly over coverUnits units of overload, rounding shares down so
// that the pick truly covers, then tops up both rows greedily by loss per
// share.
func cover(items []coverItem, needA, needB float64) []coverItem {
	share := func(it coverItem) float64 { return it.a }
	need := needA
	if needB > needA {
		share, need = func(it coverItem) float64 { return it.b }, needB
	}
	n := len(items)
	taken := make([]bool, n)
	if need > capEps && n > 0 {
		// f[q][u]: least loss covering at least u units with items[:q].
		unit := need / coverUnits
		f := make([][coverUnits + 1]float64, n+1)
		for u := 1; u <= coverUnits; u++ {
			f[0][u] = math.Inf(1)
		}
		size := make([]int, n)
		for q, it := range items {
			size[q] = int(min(coverUnits, math.Floor(share(it)/unit)))
			for u := 0; u <= coverUnits; u++ {
				f[q+1][u] = f[q][u]
				if v := f[q][max(0, u-size[q])] + it.c; size[q] > 0 && v < f[q+1][u] {
					f[q+1][u] = v
				}
			}
		}
		if !math.IsInf(f[n][coverUnits], 1) {
			for q, u := n, coverUnits; q > 0; q-- {
				if f[q][u] != f[q-1][u] {
					taken[q-1] = true
					u = max(0, u-size[q-1])
				}
			}
		}
	}
	var out []coverItem
	var gotA, gotB float64
	for q, it := range items {
		if taken[q] {
			out = append(out, it)
			gotA += it.a
			gotB += it.b
		}
	}
	if gotA >= needA-capEps && gotB >= needB-capEps {
		return out
	}
	order := make([]int, 0, n)
	for q := range items {
		if !taken[q] {
			order = append(order, q)
		}
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(items[x].rate(), items[y].rate()) })
	for _, q := range order {
		if gotA >= needA-capEps && gotB >= needB-capEps {
			break
		}
		it := items[q]
		if gotA < needA-capEps && it.a > 0 || gotB < needB-capEps && it.b > 0 {
			out = append(out, it)
			gotA += it.a
			gotB += it.b
		}
	}
	return out
}

// insert places left-out workload i by pushing workloads that can fall back
// to unlimited targets off the cheapest targets it needs. It leaves x
// unchanged if no choice of evictions makes room.
func (s *solver) insert(x []int32, use []float64, i int) {
	ws := &s.m.ws[i]
	need := make([]int32, 0, ws.n) // chosen candidates
	for j := range ws.cands {
		c := &ws.cands[j]
		if groupTaken(ws, need, c.g) {
			continue
		}
		if c.k >= 0 {
			fv, fm := use[2*c.k]+c.nv, use[2*c.k+1]+c.nm
			for _, ref := range s.onK[c.k] {
				if v, m, ok := s.onTarget(ref.i, s.selOf(x, ref.i), c.k); ok && !s.m.ws[ref.i].mayDrop {
					fv -= v
					fm -= m
				}
			}
			if fv > 1+capEps || fm > 1+capEps {
				continue
			}
		}
		need = append(need, int32(j))
		if len(need) == ws.n {
			break
		}
	}
	if len(need) < ws.n {
		return
	}
	tmp := make([]int32, s.maxSpread())
	for _, j := range need {
		k := ws.cands[j].k
		if k < 0 {
			continue
		}
		c := &ws.cands[j]
		for _, ref := range s.onK[k] {
			if use[2*k]+c.nv <= 1+capEps && use[2*k+1]+c.nm <= 1+capEps {
				break
			}
			o := s.selOf(x, ref.i)
			if _, _, ok := s.onTarget(ref.i, o, k); ok && !s.m.ws[ref.i].mayDrop {
				s.addUse(ref.i, o, -1, use)
				s.bestResponse(ref.i, use, k, tmp)
				copy(o, tmp)
				s.addUse(ref.i, o, 1, use)
			}
		}
	}
	o := s.selOf(x, i)
	if s.bestResponse(i, use, noSkip, tmp) < s.m.penalty {
		copy(o, tmp)
		s.addUse(i, o, 1, use)
	}
}

// sweep moves each workload to its best response until none improves.
func (s *solver) sweep(x []int32, use []float64) {
	tmp := make([]int32, s.maxSpread())
	for range 20 {
		changed := false
		s.spend(s.nCand)
		for _, i := range s.active {
			o := s.selOf(x, i)
			cur := s.selCost(i, o)
			s.addUse(i, o, -1, use)
			if c := s.bestResponse(i, use, -1, tmp); c < cur-eps(cur) {
				copy(o, tmp)
				changed = true
			}
			s.addUse(i, o, 1, use)
		}
		if !changed {
			return
		}
	}
}

// swaps tries, on every capacitated target, to let a workload that would
// gain from it in by moving one of its occupants out to its best other
// option. It reports whether anything improved.
func (s *solver) swaps(x []int32, use []float64) bool {
	const maxWant = 48
	n := s.maxSpread()
	ti, tj := make([]int32, n), make([]int32, n)
	oi, oj := make([]int32, n), make([]int32, n)
	improved := false
	type want struct {
		j    int
		gain float64
	}
	var on []int
	var wants []want
	for k := int32(0); int(k) < s.K && !s.stop(); k++ {
		on, wants = on[:0], wants[:0]
		s.spend(s.nCand)
		for _, i := range s.active {
			o := s.selOf(x, i)
			if _, _, ok := s.onTarget(i, o, k); ok {
				on = append(on, i)
				continue
			}
			ws := &s.m.ws[i]
			worst := s.m.penalty
			if o[0] >= 0 {
				worst = 0
				for _, j := range o {
					worst = max(worst, ws.cands[j].cost)
				}
			}
			for _, c := range ws.cands {
				if c.k == k && c.cost < worst-eps(worst) {
					wants = append(wants, want{i, worst - c.cost})
					break
				}
			}
		}
		slices.SortFunc(wants, func(a, b want) int {
			return cmp.Or(cmp.Compare(b.gain, a.gain), a.j-b.j)
		})
		wants = wants[:min(len(wants), maxWant)]
		for _, w := range wants {
			j := w.j
			xj := s.selOf(x, j)
			for q, i := range on {
				xi := s.selOf(x, i)
				copy(oi, xi)
				copy(oj, xj)
				before := s.selCost(i, xi) + s.selCost(j, xj)
				s.spend(int64(len(s.m.ws[i].cands) + len(s.m.ws[j].cands)))
				s.addUse(i, xi, -1, use)
				s.addUse(j, xj, -1, use)
				cj := s.bestResponse(j, use, -1, tj)
				s.addUse(j, tj, 1, use)
				ci := s.bestResponse(i, use, k, ti)
				if ci+cj < before-eps(before) {
					copy(xi, ti)
					copy(xj, tj)
					s.addUse(i, xi, 1, use)
					on = slices.Delete(on, q, q+1)
					if _, _, ok := s.onTarget(j, xj, k); ok {
						on = append(on, j)
					}
					improved = true
					break
				}
				s.addUse(j, tj, -1, use)
				s.addUse(i, oi, 1, use)
				s.addUse(j, oj, 1, use)
			}
		}
	}
	return improved
}
