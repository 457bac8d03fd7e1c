package scheduler

import (
	"math"
	"slices"
)

// Special skipK arguments of pricedBest.
const (
	noSkip     = -2 // skip nothing
	skipCapped = -3 // skip every capacitated target
)

// lagrangeOne picks workload i's cheapest option under lam into o and
// returns its priced cost; leaving the workload out is an option at the
// drop penalty.
func (s *solver) lagrangeOne(i int, lam []float64, o []int32, top []pick) float64 {
	v := s.pricedBest(i, lam, s.m.ws[i].n, noSkip, noSkip, o, top)
	if v >= s.m.penalty {
		o[0] = -1
		return s.m.penalty
	}
	return v
}

// pricedBest returns the least priced cost of need candidates of workload i
// in distinct spread groups, skipping candidates on capacitated target
// skipK and in group skipG, and writes their indices into o. It returns
// +Inf if there are not enough. Candidates come sorted by cost and pricing
// only adds, so the scan stops at the first candidate whose bare cost
// cannot improve on what is chosen. top is scratch of capacity at least
// need.
func (s *solver) pricedBest(i int, lam []float64, need int, skipK, skipG int32, o []int32, top []pick) float64 {
	ws := &s.m.ws[i]
	if need == 1 {
		best, bj := math.Inf(1), int32(-1)
		for j := range ws.cands {
			c := &ws.cands[j]
			if c.cost >= best {
				break
			}
			if c.k == skipK || c.g == skipG || skipK == skipCapped && c.k >= 0 {
				continue
			}
			v := c.cost
			if c.k >= 0 {
				v += lam[2*c.k]*c.nv + lam[2*c.k+1]*c.nm
			}
			if v < best {
				best, bj = v, int32(j)
			}
		}
		o[0] = bj
		return best
	}
	top = top[:0]
	for j := range ws.cands {
		c := &ws.cands[j]
		if len(top) == need && c.cost >= top[need-1].v {
			break
		}
		if c.k == skipK || c.g == skipG || skipK == skipCapped && c.k >= 0 {
			continue
		}
		v := c.cost
		if c.k >= 0 {
			v += lam[2*c.k]*c.nv + lam[2*c.k+1]*c.nm
		}
		q := -1
		for x := range top {
			if top[x].g == c.g {
				q = x
				break
			}
		}
		switch {
		case q >= 0:
			if v >= top[q].v {
				continue
			}
			top[q] = pick{v, int32(j), c.g}
		case len(top) < need:
			top = append(top, pick{v, int32(j), c.g})
			q = len(top) - 1
		case v < top[need-1].v:
			top[need-1] = pick{v, int32(j), c.g}
			q = need - 1
		default:
			continue
		}
		for ; q > 0 && top[q].v < top[q-1].v; q-- {
			top[q], top[q-1] = top[q-1], top[q]
		}
	}
	if len(top) < need {
		o[0] = -1
		return math.Inf(1)
	}
	sum := 0.0
	for x, t := range top {
		sum += t.v
		o[x] = t.j
	}
	slices.Sort(o[:need])
	return sum
}

// clearTarget re-prices the two capacity rows of target k to maximize the
// Lagrangian along them, all other prices fixed: their market-clearing
// prices. Every workload that can use k has, for given prices, a cost alt
// of its best option avoiding k and a cost base of its best option using
// k before k's own prices; it wants k while base + lam·share < alt. The
// vCPU and memory prices are cleared alternately, which needs alt and
// base only once.
func (s *solver) clearTarget(k int32, lam []float64, sc *clearScratch) {
	s.clearPrices(k, k, lam, sc)
}

// seedPrices sets lam to the clearing prices each capacitated target would
// have if the workloads' only alternatives were unlimited targets. That
// overprices targets that compete with each other, which the ascent then
// corrects from above; starting from zero takes it longer from below. A
// workload without an unlimited alternative (pinned by hysteresis to
// limited targets, say) counts its other limited targets at their bare
// cost instead: priced at the drop penalty it would price k at the
// penalty's scale, far from where the ascent can correct it.
func (s *solver) seedPrices(lam []float64) {
	sc := &clearScratch{}
	for k := int32(0); int(k) < s.K; k++ {
		s.clearPrices(k, skipCapped, lam, sc)
	}
}

// refChunk is how many of a target's workloads one task of a parallel
// loop over them takes.
const refChunk = 256

// clearPrices sets target k's vCPU and memory prices to where the bids of
// the workloads that can use k clear its capacity. A workload's
// alternative is its best option avoiding skip: k itself when clearing
// against all other targets, skipCapped when only unlimited ones count.
func (s *solver) clearPrices(k, skip int32, lam []float64, sc *clearScratch) {
	refs := s.onK[k]
	n := chunks(len(refs), refChunk)
	for len(sc.parts) < n {
		sc.parts = append(sc.parts, nil)
	}
	s.forEach(n, func(c int, w *worker) {
		part := sc.parts[c][:0]
		// other is the least cost of need options avoiding skip and group g.
		other := func(i, need int, g int32) float64 {
			v := s.pricedBest(i, lam, need, skip, g, w.tmp, w.top)
			if skip == skipCapped && math.IsInf(v, 1) {
				v = s.pricedBest(i, s.zeroLam, need, k, g, w.tmp, w.top)
			}
			return v
		}
		for _, pr := range refs[c*refChunk : min(len(refs), (c+1)*refChunk)] {
			ws := &s.m.ws[pr.i]
			cd := &ws.cands[pr.j]
			alt := min(s.m.penalty, other(pr.i, ws.n, noSkip))
			base := cd.cost
			if ws.n > 1 {
				base += other(pr.i, ws.n-1, cd.g)
			}
			if alt > base {
				part = append(part, bid{alt - base, cd.nv, cd.nm})
			}
		}
		sc.parts[c] = part
	})
	sc.bids = sc.bids[:0]
	for _, part := range sc.parts[:n] {
		sc.bids = append(sc.bids, part...)
	}
	s.spend(2 * s.candsOn(k))
	for round := 0; round < 4; round++ {
		v := s.clearingPrice(sc, lam[2*k+1], false)
		m := s.clearingPrice(sc, v, true)
		changed := v != lam[2*k] || m != lam[2*k+1]
		lam[2*k], lam[2*k+1] = v, m
		if !changed {
			break
		}
	}
}

// candsOn is the number of candidates of the workloads that can use
// capacitated target k: the work of one pass over them.
func (s *solver) candsOn(k int32) int64 {
	n := int64(0)
	for _, pr := range s.onK[k] {
		n += int64(len(s.m.ws[pr.i].cands))
	}
	return n
}

// bid is what a workload would pay to run on a target (its saving over
// the best option elsewhere) and the shares of the two rows it takes.
type bid struct {
	save, nv, nm float64
}

type clearScratch struct {
	bids  []bid
	parts [][]bid // bids per chunk of the target's workloads
	bps   []breakpoint
}

// breakpoint is the price of a row below which a workload wants the row's
// target, and the share of the row it takes.
type breakpoint struct {
	beta, a float64
}

// clearingPrice returns the price of one row (memory if mem, else vCPU)
// given the price of the other: the largest breakpoint at which the
// demand of the workloads with a higher breakpoint, plus its own, exceeds
// the capacity; zero if all demand fits.
func (s *solver) clearingPrice(sc *clearScratch, other float64, mem bool) float64 {
	bps := sc.bps[:0]
	total := 0.0
	for _, b := range sc.bids {
		a, o := b.nv, b.nm
		if mem {
			a, o = b.nm, b.nv
		}
		if a <= 0 {
			continue
		}
		if beta := (b.save - other*o) / a; beta > 0 {
			bps = append(bps, breakpoint{beta, a})
			total += a
		}
	}
	sc.bps = bps
	if total <= 1+capEps {
		return 0
	}
	return weightedSelect(bps, 1+capEps)
}

// weightedSelect returns the breakpoint at which, going down from the
// highest, the cumulative share first exceeds budget. It partitions around
// a median-of-three pivot (deterministic, linear on average) and reorders
// bps.
func weightedSelect(bps []breakpoint, budget float64) float64 {
	for {
		n := len(bps)
		if n == 1 {
			return bps[0].beta
		}
		p := median3(bps[0].beta, bps[n/2].beta, bps[n-1].beta)
		// Three-way partition: > p, == p, < p.
		lt, i, gt := 0, 0, n
		for i < gt {
			switch b := bps[i].beta; {
			case b > p:
				bps[lt], bps[i] = bps[i], bps[lt]
				lt++
				i++
			case b < p:
				gt--
				bps[gt], bps[i] = bps[i], bps[gt]
			default:
				i++
			}
		}
		sg, se := 0.0, 0.0
		for _, b := range bps[:lt] {
			sg += b.a
		}
		for _, b := range bps[lt:gt] {
			se += b.a
		}
		switch {
		case sg > budget:
			bps = bps[:lt]
		case sg+se > budget:
			return p
		default:
			budget -= sg + se
			bps = bps[gt:]
			if len(bps) == 0 {
				return 0
			}
		}
	}
}

func median3(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}

// ascend runs cyclic block-coordinate ascent (market clearing, one target
// at a time) from lam for at most maxCycles cycles or until a cycle gains
// less than minGain, and returns the bound at lam.
func (s *solver) ascend(lam []float64, maxCycles int, minGain float64) float64 {
	sel := s.newSel()
	use := make([]float64, 2*s.K)
	sc := &clearScratch{}
	L := s.lagrange(lam, sel, use)
	for cycle := 0; cycle < maxCycles && !s.stop(); cycle++ {
		for k := int32(0); int(k) < s.K; k++ {
			s.clearTarget(k, lam, sc)
		}
		next := s.lagrange(lam, sel, use)
		gain := next - L
		L = max(L, next)
		if gain <= minGain {
			break
		}
	}
	return L
}
