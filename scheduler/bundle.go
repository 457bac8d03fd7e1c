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

// bundle maximizes the Lagrangian dual from lam for at most maxIter
// evaluations, turning a centre into a feasible placement every
// primalEvery serious steps. On return lam holds the best prices found and
// s.lb their bound.
func (s *solver) bundle(lam []float64, maxIter, primalEvery int) {
	R := 2 * s.K
	sel := s.newSel()
	use := make([]float64, R)
	c := slices.Clone(lam)
	fc := s.lagrange(c, sel, use)
	s.lb = max(s.lb, fc)
	cuts := []*cut{{e: fc, g: supergradient(use, nil)}}
	G := make([]float64, R)
	d := make([]float64, R)
	y := make([]float64, R)
	// The proximal weight starts where one step along the supergradient
	// would be predicted to close the gap to the incumbent (as a Polyak
	// step would), and adapts to how well the model predicts.
	u := 1.0
	if n2 := dot(cuts[0].g, cuts[0].g); n2 > 0 && s.incCost > fc && !math.IsInf(s.incCost, 1) {
		u = n2 / (2 * (s.incCost - fc))
	}
	serious := 0
	for it := 0; it < maxIter && !s.stop(); it++ {
		prox(cuts, c, u, G, d)
		for r := range y {
			y[r] = c[r] + d[r]
		}
		model := math.Inf(1)
		for _, ct := range cuts {
			model = min(model, ct.e+dot(ct.g, d))
		}
		delta := model - fc
		if delta <= 1e-9*(1+math.Abs(fc)) {
			break // the model promises nothing more: the centre is (nearly) optimal
		}
		fy := s.lagrange(y, sel, use)
		gy := supergradient(use, nil)
		if fy-fc >= 0.1*delta {
			serious++
			// Serious step: move the centre and shift every cut to it.
			for _, ct := range cuts {
				ct.e += dot(ct.g, d)
			}
			if fy-fc >= 0.5*delta {
				u /= 2
			}
			copy(c, y)
			fc = fy
			copy(lam, c)
			s.lb = max(s.lb, fc)
			cuts = append(cuts, &cut{e: fy, g: gy})
			if serious%primalEvery == 0 {
				s.primal(sel, lam, false)
			}
		} else {
			// Null step: the cut from y, at the centre.
			cuts = append(cuts, &cut{e: fy - dot(gy, d), g: gy})
			u *= 1.25
		}
		if s.gap() <= s.tol {
			break
		}
		cuts = pruneCuts(cuts, max(bundleMinCuts, R+2))
	}
	copy(lam, c)
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
// warm-start from the previous call. It writes G and the step d.
func prox(cuts []*cut, c []float64, u float64, G, d []float64) {
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
	for iter := 0; iter < 200; iter++ {
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
}
