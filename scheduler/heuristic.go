package scheduler

import (
	"cmp"
	"slices"
)

// primal turns a (possibly over-capacity) selection into a feasible one,
// improves it by local search and offers it as incumbent. full adds the
// swap neighbourhood, which costs more than the rest together.
func (s *solver) primal(from []int32, lam []float64, full bool) {
	x := slices.Clone(from)
	use := make([]float64, 2*s.K)
	for _, i := range s.active {
		s.addUse(i, s.selOf(x, i), 1, use)
	}
	s.repair(x, use, lam)
	s.sweep(x, use)
	if full {
		for range 4 {
			if !s.swaps(x, use) {
				break
			}
			s.sweep(x, use)
		}
	}
	s.offer(x, s.total(x))
}

// pricedCost is the cost of selection o of workload i with the capacity
// rows other than those of the targets in o priced at lam... (all rows).
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

// repair makes x feasible. It evicts workloads from every over-capacity
// target, those losing least per unit of the overfull rows first, until the
// target fits; then it re-inserts the evicted workloads, the ones that
// cannot fall back to an unlimited target first, each at its best option
// that fits; a workload that still fits nowhere makes room by pushing out
// workloads that can fall back (insert).
func (s *solver) repair(x []int32, use []float64, lam []float64) {
	tmp := make([]int32, s.maxSpread())
	type eviction struct {
		i    int
		rate float64
	}
	var evs, out []eviction
	for k := int32(0); int(k) < s.K; k++ {
		overV, overM := use[2*k] > 1+capEps, use[2*k+1] > 1+capEps
		if !overV && !overM {
			continue
		}
		evs = evs[:0]
		for _, ref := range s.onK[k] {
			i := ref.i
			o := s.selOf(x, i)
			nv, nm, ok := s.onTarget(i, o, k)
			if !ok {
				continue
			}
			w := 0.0
			if overV {
				w += nv
			}
			if overM {
				w += nm
			}
			// The loss is priced at lam, which values the capacity of the
			// other targets: they are repaired too, and re-insertion settles
			// who goes where.
			alt := min(s.m.penalty, s.pricedBest(i, lam, s.m.ws[i].n, k, noSkip, tmp))
			evs = append(evs, eviction{i, (alt - s.pricedCost(i, o, lam)) / max(w, 1e-12)})
		}
		slices.SortFunc(evs, func(a, b eviction) int {
			return cmp.Or(cmp.Compare(a.rate, b.rate), a.i-b.i)
		})
		for _, e := range evs {
			if use[2*k] <= 1+capEps && use[2*k+1] <= 1+capEps {
				break
			}
			o := s.selOf(x, e.i)
			if o[0] < 0 {
				continue // already evicted from another target
			}
			s.addUse(e.i, o, -1, use)
			if debugTrace {
				println("evict", e.i, "from", k, "rate", e.rate, "use now", use[2*k], use[2*k+1])
			}
			o[0] = -1
			out = append(out, e)
		}
	}
	// Re-insert: workloads without an unlimited fallback first, then the
	// ones that gain most per unit of capacity.
	slices.SortFunc(out, func(a, b eviction) int {
		da, db := s.m.ws[a.i].mayDrop, s.m.ws[b.i].mayDrop
		if da != db {
			if da {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.rate, a.rate), a.i-b.i)
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
	for k := int32(0); int(k) < s.K; k++ {
		on, wants = on[:0], wants[:0]
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
