package scheduler

import (
	"cmp"
	"math"
	"slices"
	"time"
)

var debugTrace = true
var debugStart = time.Now()

// noSkip disables the skip arguments of pricedBest.
const noSkip = -2

// lagrangeOne picks workload i's cheapest option under lam into o and
// returns its priced cost; leaving the workload out is an option at the
// drop penalty.
func (s *solver) lagrangeOne(i int, lam []float64, o []int32) float64 {
	v := s.pricedBest(i, lam, s.m.ws[i].n, noSkip, noSkip, o)
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
// cannot improve on what is chosen.
func (s *solver) pricedBest(i int, lam []float64, need int, skipK, skipG int32, o []int32) float64 {
	ws := &s.m.ws[i]
	if need == 1 {
		best, bj := math.Inf(1), int32(-1)
		for j := range ws.cands {
			c := &ws.cands[j]
			if c.cost >= best {
				break
			}
			if c.k == skipK || c.g == skipG {
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
	top := s.top[:0]
	for j := range ws.cands {
		c := &ws.cands[j]
		if len(top) == need && c.cost >= top[need-1].v {
			break
		}
		if c.k == skipK || c.g == skipG {
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
	s.top = top
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

// clearRow sets lam[r] to the value maximizing the Lagrangian along that
// coordinate, all other prices fixed: the market-clearing price of row r.
// Every workload that can use the row's target k has a breakpoint price
// below which its best option uses k; the row is priced at the breakpoint
// where the demand of the workloads still using k first exceeds capacity.
func (s *solver) clearRow(r int, lam []float64, bps []breakpoint, tmp []int32) []breakpoint {
	k := int32(r / 2)
	bps = bps[:0]
	for _, pr := range s.onK[k] {
		ws := &s.m.ws[pr.i]
		c := &ws.cands[pr.j]
		a, other := c.nv, lam[2*k+1]*c.nm
		if r%2 == 1 {
			a, other = c.nm, lam[2*k]*c.nv
		}
		if a <= 0 {
			continue
		}
		alt := min(s.m.penalty, s.pricedBest(pr.i, lam, ws.n, k, noSkip, tmp))
		on := c.cost + other
		if ws.n > 1 {
			on += s.pricedBest(pr.i, lam, ws.n-1, k, c.g, tmp)
		}
		if beta := (alt - on) / a; beta > 0 {
			bps = append(bps, breakpoint{beta, a, pr.i})
		}
	}
	slices.SortFunc(bps, func(x, y breakpoint) int {
		return cmp.Or(cmp.Compare(y.beta, x.beta), x.i-y.i)
	})
	lam[r] = 0
	acc := 0.0
	for _, b := range bps {
		if acc += b.a; acc > 1+capEps {
			lam[r] = b.beta
			break
		}
	}
	return bps
}

// breakpoint is the price of a capacity row below which a workload wants
// the row's target, and the share of the row it then takes.
type breakpoint struct {
	beta, a float64
	i       int
}

// ascend runs cyclic coordinate ascent (market clearing, one row at a time)
// from lam until a full cycle gains less than a relative 1e-9, and returns
// the final bound.
func (s *solver) ascend(lam []float64, maxCycles int) float64 {
	sel := s.newSel()
	use := make([]float64, 2*s.K)
	tmp := make([]int32, s.maxSpread())
	var bps []breakpoint
	L := s.lagrange(lam, sel, use)
	for cycle := 0; cycle < maxCycles && !s.stop(); cycle++ {
		for r := range lam {
			bps = s.clearRow(r, lam, bps, tmp)
		}
		next := s.lagrange(lam, sel, use)
		if debugTrace {
			println("cycle", cycle, "L", int64(next))
		}
		if next <= L+1e-9*math.Abs(L) {
			L = max(L, next)
			break
		}
		L = next
	}
	return L
}

// subgradient maximizes the Lagrangian dual from lam with a projected
// subgradient method and Polyak steps towards the incumbent, turning
// iterates into feasible placements along the way. On return lam holds the
// best multipliers found and s.lb their bound.
func (s *solver) subgradient(lam []float64, maxIter int, theta float64) {
	sel := s.newSel()
	use := make([]float64, 2*s.K)
	dir := make([]float64, 2*s.K)
	bestLam := slices.Clone(lam)
	best := math.Inf(-1)
	stall := 0
	for it := 0; it < maxIter; it++ {
		if s.stop() {
			break
		}
		L := s.lagrange(lam, sel, use)
		improved := it == 0 || L > best+eps(best)
		if improved {
			best = L
			copy(bestLam, lam)
			stall = 0
		} else if stall++; stall >= 10 {
			theta /= 2
			stall = 0
		}
		if it%8 == 0 {
			s.primal(sel, lam, false)
		}
		s.lb = max(s.lb, best)
		if debugTrace && (it < 10 || it%25 == 0) {
			println("it", it, "L", int64(L), "best", int64(best), "ub", int64(s.incCost), "theta", theta, "time", time.Since(debugStart).Milliseconds())
		}
		if s.gap() <= 0 || theta < 1e-4 {
			break
		}
		norm := 0.0
		for r := range dir {
			g := use[r] - 1
			if lam[r] <= 0 && g < 0 {
				g = 0
			}
			dir[r] = g
			norm += g * g
		}
		if norm == 0 {
			break
		}
		step := theta * (s.incCost - L) / norm
		for r := range lam {
			lam[r] = max(0, lam[r]+step*dir[r])
		}
	}
	copy(lam, bestLam)
	s.lb = max(s.lb, best)
}
