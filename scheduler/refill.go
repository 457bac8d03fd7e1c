package scheduler

import (
	"cmp"
	"math"
	"slices"
)

// refillNodes caps the branch-and-bound nodes of one target's knapsack.
// Past it the best packing found so far is used, which keeps refill
// deterministic and linear in the number of targets.
const refillNodes = 1 << 14

// refillScratch holds refill's buffers across targets.
type refillScratch struct {
	old   []int32 // saved selections of the workloads on s.onK[k], n each
	use   []float64
	items []knapItem
	// parts and occupied are the bids, and the occupants' share of their
	// value, per piece of the target's workloads.
	parts    [][]knapItem
	occupied []float64
	out      []knapItem // evicted occupants
	tmp      []int32
	ks       knapScratch
}

func (s *solver) newRefillScratch() *refillScratch {
	return &refillScratch{use: make([]float64, 2*s.K), tmp: make([]int32, s.maxSpread())}
}

// maxRefillPasses caps the refill passes of one primal call.
const maxRefillPasses = 8

// refillAll runs refill on every capacitated target, with a best-response
// sweep after each pass, for at most passes passes, until a pass improves
// nothing or x closes the gap (it is offered as incumbent after every
// improving pass). It reports whether anything improved.
func (s *solver) refillAll(x []int32, use []float64, passes int) bool {
	sc := s.newRefillScratch()
	improved := false
	for pass := 0; pass < passes && !s.stop(); pass++ {
		any := false
		for k := int32(0); int(k) < s.K && !s.stop(); k++ {
			if s.refill(x, use, k, sc) {
				any = true
			}
		}
		if !any {
			break
		}
		improved = true
		s.sweep(x, use)
		// Like the solver, stop as soon as the gap is closed.
		if s.offer(x, s.total(x)); s.gap() <= s.tol {
			break
		}
	}
	return improved
}

// refill re-packs capacitated target k as a whole: every workload that may
// use k bids what it saves by running there (for an occupant, the cost of
// its best option elsewhere minus its cost with k; for anyone else, its
// current cost minus its cost with k), and the most valuable set that fits
// k's two rows is chosen by an exact 0-1 knapsack. Occupants that lose their
// place move to their best response elsewhere. One-in-one-out moves and
// best-response sweeps cannot get there: filling k with the densest
// workloads usually means evicting several small ones for one large one or
// the reverse, and a sweep fills free room first come, first served. The
// move is kept only if the total cost falls, so refill never makes x worse;
// x must be feasible.
func (s *solver) refill(x []int32, use []float64, k int32, sc *refillScratch) bool {
	refs := s.onK[k]
	if len(refs) == 0 {
		return false
	}
	sc.old = sc.old[:0]
	for _, ref := range refs {
		sc.old = append(sc.old, s.selOf(x, ref.i)...)
	}
	copy(sc.use, use)
	restore := func() {
		at := 0
		for _, ref := range refs {
			n := s.m.ws[ref.i].n
			copy(s.selOf(x, ref.i), sc.old[at:at+n])
			at += n
		}
		copy(use, sc.use)
	}

	// Bids, each computed with the workload itself taken out of use, in
	// pieces of the target's workloads on every core.
	n := chunks(len(refs), refChunk)
	for len(sc.parts) < n {
		sc.parts, sc.occupied = append(sc.parts, nil), append(sc.occupied, 0)
	}
	s.forEach(n, func(c int, w *worker) {
		u := w.use
		copy(u, use)
		part, occupied := sc.parts[c][:0], 0.0
		for q := c * refChunk; q < min(len(refs), (c+1)*refChunk); q++ {
			ref := refs[q]
			o := s.selOf(x, ref.i)
			cur := s.selCost(ref.i, o)
			s.addUse(ref.i, o, -1, u)
			with := s.bestWith(ref.i, u, ref.j, w.tmp)
			_, _, on := s.onTarget(ref.i, o, k)
			alt := cur
			if on {
				alt = s.bestResponse(ref.i, u, k, w.tmp)
			}
			s.addUse(ref.i, o, 1, u)
			if v := alt - with; v > 0 {
				cd := &s.m.ws[ref.i].cands[ref.j]
				part = append(part, knapItem{v: v, a: cd.nv, b: cd.nm, id: q, on: on})
				if on {
					occupied += v
				}
			} else if on {
				// Occupants that would not lose by leaving count as evicted;
				// the packing that keeps them is worth no more.
				part = append(part, knapItem{v: 0, a: math.Inf(1), id: q, on: true})
			}
		}
		sc.parts[c], sc.occupied[c] = part, occupied
	})
	items := sc.items[:0]
	occupied := 0.0 // value of the current occupants, a packing to beat
	for c := range n {
		items = append(items, sc.parts[c]...)
		occupied += sc.occupied[c]
	}
	sc.items = items
	ok := sc.ks.solve(items, 1+capEps, 1+capEps, occupied, refillNodes)
	// Bids scan every candidate of every workload twice; the knapsack's
	// prices scan the items some thirty times.
	s.spend(2*s.candsOn(k) + 32*int64(len(items)) + int64(sc.ks.nodes))
	if !ok {
		return false
	}
	// Evict the occupants left out, then move the newcomers in, then give
	// the evicted their best response (largest loss first, as their
	// options elsewhere are contested).
	out := sc.out[:0]
	for _, it := range items {
		if it.on && !it.take {
			ref := refs[it.id]
			o := s.selOf(x, ref.i)
			s.addUse(ref.i, o, -1, use)
			o[0] = -1
			out = append(out, it)
		}
	}
	sc.out = out
	slices.SortStableFunc(out, func(a, b knapItem) int { return cmp.Compare(b.v, a.v) })
	for _, it := range items {
		if it.take && !it.on {
			ref := refs[it.id]
			o := s.selOf(x, ref.i)
			s.addUse(ref.i, o, -1, use)
			if s.bestWith(ref.i, use, ref.j, sc.tmp) < math.Inf(1) && s.fits(ref.i, sc.tmp, use) {
				copy(o, sc.tmp)
			}
			s.addUse(ref.i, o, 1, use)
		}
	}
	for _, it := range out {
		ref := refs[it.id]
		o := s.selOf(x, ref.i)
		s.bestResponse(ref.i, use, k, sc.tmp)
		copy(o, sc.tmp)
		s.addUse(ref.i, o, 1, use)
	}
	before, after, at := 0.0, 0.0, 0
	for _, ref := range refs {
		n := s.m.ws[ref.i].n
		before += s.selCost(ref.i, sc.old[at:at+n])
		after += s.selCost(ref.i, s.selOf(x, ref.i))
		at += n
	}
	if after < before-eps(before) && s.feasible(use) {
		return true
	}
	restore()
	return false
}

// bestWith writes into out workload i's cheapest option set that uses its
// candidate j, with the other n-1 targets fitting the capacity left in use
// (which must not include i), and returns its cost; +Inf if there is none.
// Candidate j itself is not checked against use: refill sizes its target
// by the knapsack.
func (s *solver) bestWith(i int, use []float64, j int32, out []int32) float64 {
	ws := &s.m.ws[i]
	c0 := &ws.cands[j]
	out[0] = j
	n, c := 1, c0.cost
	for q := range ws.cands {
		if n == ws.n {
			break
		}
		cd := &ws.cands[q]
		if int32(q) == j || cd.k >= 0 && (cd.k == c0.k || use[2*cd.k]+cd.nv > 1+capEps || use[2*cd.k+1]+cd.nm > 1+capEps) {
			continue
		}
		if groupTaken(ws, out[:n], cd.g) {
			continue
		}
		out[n] = int32(q)
		n++
		c += cd.cost
	}
	if n < ws.n {
		return math.Inf(1)
	}
	slices.Sort(out[:n])
	return c
}

// fits reports whether selection o of workload i fits the capacity left in
// use (which must not include i).
func (s *solver) fits(i int, o []int32, use []float64) bool {
	ws := &s.m.ws[i]
	for _, j := range o[:ws.n] {
		if c := &ws.cands[j]; c.k >= 0 && (use[2*c.k]+c.nv > 1+capEps || use[2*c.k+1]+c.nm > 1+capEps) {
			return false
		}
	}
	return true
}
