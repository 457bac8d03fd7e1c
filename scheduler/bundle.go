package scheduler

import (
	"math"
	"slices"
)

// A proximal bundle method for the Lagrangian dual.
//
// The dual L(lam) is concave and piecewise linear in the 2K capacity
// prices, and each evaluation yields a supergradient: the relaxed usage
// minus the capacity. Block-coordinate ascent stops where only a joint move
// of several targets' prices gains (workloads trading one limited target
// for another), and subgradient steps approach the maximum slowly; the
// bundle method keeps the supergradients as cutting planes
//
//	L(y) <= e_j + g_j·(y - c)   (e_j: cut j's value at the centre c)
//
// and steps to the maximizer of that model minus a proximal term
// u/2·|y - c|² over y >= 0. It moves the centre when the true gain is a
// fair share of the model's prediction (a serious step) and otherwise only
// adds the cut (a null step). The predicted gain bounds how far the centre
// is from the maximum, so it also says when to stop.

// bundleMinCuts is the least number of cuts kept. The model's maximizer
// is carried by at most one more cut than there are prices, so the bundle
// keeps that many too; inactive cuts go first, the longest idle first.
const bundleMinCuts = 48

type cut struct {
	e     float64   // value of the cutting plane at the centre
	g     []float64 // supergradient
	alpha float64   // weight in the last quadratic subproblem
	idle  int       // consecutive subproblems with zero weight
}

// bundle is the state of the proximal bundle method, kept between the
// solver's rounds so that each round resumes where the last one stopped.
type bundle struct {
	s       *solver
	centre  []float64 // the prices of the best bound found
	fc      float64   // the bound at centre
	cuts    []*cut
	u       float64 // proximal weight
	serious int     // serious steps so far
	// scratch: the model's step and trial point, and the Lagrangian
	// selection and usage at the trial point
	G, d, y []float64
	sel     []int32
	use     []float64
}

// newBundle starts the bundle method at lam.
func (s *solver) newBundle(lam []float64) *bundle {
	R := 2 * s.K
	b := &bundle{
		s: s, centre: slices.Clone(lam), sel: s.newSel(), use: make([]float64, R),
		G: make([]float64, R), d: make([]float64, R), y: make([]float64, R),
	}
	b.fc = s.lagrange(b.centre, b.sel, b.use)
	s.lb = max(s.lb, b.fc)
	b.cuts = []*cut{{e: b.fc, g: supergradient(b.use, nil)}}
	// The proximal weight starts where one step along the supergradient
	// would be predicted to close the gap to the incumbent (as a Polyak
	// step would), and adapts to how well the model predicts. An
	// incumbent that leaves workloads out says nothing about the scale.
	b.u = 1
	if n2 := dot(b.cuts[0].g, b.cuts[0].g); n2 > 0 && s.incCost > b.fc && s.drops == 0 && !math.IsInf(s.incCost, 1) {
		b.u = n2 / (2 * (s.incCost - b.fc))
	}
	return b
}

// run performs at most maxIter evaluations of the dual, turning the centre
// into a placement (quick) every primalEvery serious steps, and stops early
// when the gap closes. It reports whether the model predicts no further
// gain, which means the centre's bound is (nearly) the LP bound. s.lb
// holds the best bound found.
func (b *bundle) run(maxIter, primalEvery int) bool {
	s := b.s
	for it := 0; it < maxIter && !s.stop(); it++ {
		work := prox(b.cuts, b.centre, b.u, b.G, b.d)
		s.spend(int64(work * len(b.d)))
		for r := range b.y {
			b.y[r] = b.centre[r] + b.d[r]
		}
		model := math.Inf(1)
		for _, ct := range b.cuts {
			model = min(model, ct.e+dot(ct.g, b.d))
		}
		delta := model - b.fc
		if delta <= 1e-9*(1+math.Abs(b.fc)) {
			return true // the model promises nothing more: the centre is (nearly) optimal
		}
		fy := s.lagrange(b.y, b.sel, b.use)
		gy := supergradient(b.use, nil)
		if fy-b.fc >= 0.1*delta {
			b.serious++
			// Serious step: move the centre and shift every cut to it.
			for _, ct := range b.cuts {
				ct.e += dot(ct.g, b.d)
			}
			if fy-b.fc >= 0.5*delta {
				b.u /= 2
			}
			copy(b.centre, b.y)
			b.fc = fy
			s.lb = max(s.lb, b.fc)
			b.cuts = append(b.cuts, &cut{e: fy, g: gy})
			if b.serious%primalEvery == 0 {
				s.quick(b.sel, b.centre)
			}
		} else {
			// Null step: the cut from y, at the centre.
			b.cuts = append(b.cuts, &cut{e: fy - dot(gy, b.d), g: gy})
			b.u *= 1.25
		}
		if s.gap() <= s.tol {
			return false
		}
		b.cuts = pruneCuts(b.cuts, max(bundleMinCuts, len(b.d)+2))
	}
	return false
}

// supergradient returns use - 1, the slope of L along each price.
func supergradient(use, out []float64) []float64 {
	out = slices.Grow(out[:0], len(use))
	for _, u := range use {
		out = append(out, u-1)
	}
	return out
}

func dot(a, b []float64) float64 {
	v := 0.0
	for i := range a {
		v += a[i] * b[i]
	}
	return v
}

// pruneCuts drops cuts beyond limit, the one idle longest first (the
// oldest among equals); cuts in use are kept.
func pruneCuts(cuts []*cut, limit int) []*cut {
	for len(cuts) > limit {
		worst := -1
		for j, ct := range cuts {
			if ct.alpha == 0 && (worst < 0 || ct.idle > cuts[worst].idle) {
				worst = j
			}
		}
		if worst < 0 {
			break
		}
		cuts = slices.Delete(cuts, worst, worst+1)
	}
	return cuts
}

// prox solves the bundle subproblem
//
//	max_{d >= -c}  min_j (e_j + g_j·d) - u/2·|d|²
//
// through its dual over the cut weights alpha (a simplex):
//
//	min_alpha  sum_j alpha_j e_j + sum_r psi_r(G_r),  G = sum_j alpha_j g_j,
//
// where psi_r(G) = max_{d_r >= -c_r} G·d_r - u/2·d_r² is smooth and convex,
// with maximizer d_r = max(-c_r, G/u). It runs pairwise (SMO) steps: mass
// moves from the active cut with the largest partial derivative to the
// cut with the smallest, as far as the one-dimensional convex function
// along that move decreases (bisection on its derivative), until the two
// derivatives are within a relative tolerance. Weights
// warm-start from the previous call. It writes G and the step d, and
// returns the work done in passes over the cuts' rows.
func prox(cuts []*cut, c []float64, u float64, G, d []float64) int {
	sum := 0.0
	for _, ct := range cuts {
		sum += ct.alpha
	}
	if sum <= 0 {
		// First call or lost weights: all on the newest cut.
		for _, ct := range cuts {
			ct.alpha = 0
		}
		cuts[len(cuts)-1].alpha = 1
	} else {
		for _, ct := range cuts {
			ct.alpha /= sum
		}
	}
	step := func() {
		clear(G)
		for _, ct := range cuts {
			if ct.alpha > 0 {
				for r, g := range ct.g {
					G[r] += ct.alpha * g
				}
			}
		}
		for r := range d {
			d[r] = max(-c[r], G[r]/u)
		}
	}
	step()
	scale := 1.0
	for _, ct := range cuts {
		scale = max(scale, math.Abs(ct.e))
	}
	grad := make([]float64, len(cuts))
	delta := make([]float64, len(G))
	work := 2 * len(cuts)
	for iter := 0; iter < 200; iter++ {
		work += 2*len(cuts) + 50
		hi, lo := -1, -1
		for j, ct := range cuts {
			grad[j] = ct.e + dot(ct.g, d)
			if ct.alpha > 0 && (hi < 0 || grad[j] > grad[hi]) {
				hi = j
			}
			if lo < 0 || grad[j] < grad[lo] {
				lo = j
			}
		}
		if hi == lo || grad[hi]-grad[lo] <= 1e-10*scale {
			break
		}
		// Along t (mass moved from hi to lo) G moves by t·delta and the
		// derivative is de + sum_r delta_r·d_r(G + t·delta), increasing in t.
		de := cuts[lo].e - cuts[hi].e
		for r := range delta {
			delta[r] = cuts[lo].g[r] - cuts[hi].g[r]
		}
		deriv := func(t float64) float64 {
			v := de
			for r, dr := range delta {
				v += dr * max(-c[r], (G[r]+t*dr)/u)
			}
			return v
		}
		a, b := 0.0, cuts[hi].alpha
		if deriv(b) > 0 {
			for range 50 {
				m := 0.5 * (a + b)
				if deriv(m) > 0 {
					b = m
				} else {
					a = m
				}
			}
		} else {
			a = b
		}
		if a <= 0 {
			break
		}
		cuts[hi].alpha -= a
		cuts[lo].alpha += a
		if cuts[hi].alpha < 1e-15 {
			cuts[lo].alpha += cuts[hi].alpha
			cuts[hi].alpha = 0
		}
		step()
	}
	for _, ct := range cuts {
		if ct.alpha > 0 {
			ct.idle = 0
		} else {
			ct.idle++
		}
	}
	return work
}
