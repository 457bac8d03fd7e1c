package forecast

import (
	"fmt"
	"math"
)

// ets is additive exponential smoothing in error-correction form, with an
// optional damped trend and up to two additive seasons (Taylor's double
// seasonal Holt-Winters when both are set):
//
//	f_t = l + φb + s1[t mod m1] + s2[t mod m2]
//	e_t = y_t − f_t
//	l  ← l + φb + α e_t
//	b  ← φb + β e_t
//	s1[t mod m1] ← s1[t mod m1] + γ1 e_t
//	s2[t mod m2] ← s2[t mod m2] + γ2 e_t
//
// The h-step forecast from time t is l + (φ + … + φ^h) b + s1[…] + s2[…].
// Parameters are fitted by minimising the in-sample one-step squared error
// with Nelder-Mead; initial states come from a classical decomposition of
// the first seasons (see initStates), so each objective evaluation is one
// O(N) pass.
type ets struct {
	trend  bool
	m1, m2 int
	// maxEval bounds the optimiser's objective evaluations.
	maxEval int
}

// Parameter bounds. φ is kept in the usual [0.8, 0.98] so that the trend
// damps out over a day or two instead of extrapolating for ever.
const (
	phiLo, phiHi = 0.8, 0.98
	paramEps     = 1e-4
)

func (e ets) name() string {
	switch {
	case e.m2 > 0 && e.trend:
		return "hw-damped-weekly"
	case e.m2 > 0:
		return "hw-weekly"
	case e.m1 > 0 && e.trend:
		return "hw-damped"
	case e.m1 > 0:
		return "hw"
	case e.trend:
		return "holt-damped"
	}
	return "ses"
}

// etsParams are the smoothing parameters.
type etsParams struct{ alpha, beta, phi, g1, g2 float64 }

// dim is the number of free parameters.
func (e ets) dim() int {
	d := 1
	if e.trend {
		d += 2
	}
	if e.m1 > 0 {
		d++
	}
	if e.m2 > 0 {
		d++
	}
	return d
}

// decode maps the optimiser's unconstrained vector onto admissible
// parameters: 0 < α < 1, 0 < β < α, 0 < γ < 1 − α (the usual region in
// which the recursions are forecastable), φ in [phiLo, phiHi].
func (e ets) decode(u []float64) etsParams {
	in := func(lo, hi, x float64) float64 { return lo + (hi-lo)*logistic(x) }
	p := etsParams{alpha: in(paramEps, 1-paramEps, u[0])}
	i := 1
	if e.trend {
		p.beta = p.alpha * in(paramEps, 1-paramEps, u[i])
		p.phi = in(phiLo, phiHi, u[i+1])
		i += 2
	}
	if e.m1 > 0 {
		p.g1 = (1 - p.alpha) * in(paramEps, 1-paramEps, u[i])
		i++
	}
	if e.m2 > 0 {
		p.g2 = (1 - p.alpha) * in(paramEps, 1-paramEps, u[i])
	}
	return p
}

// encode is the inverse of decode.
func (e ets) encode(p etsParams) []float64 {
	out := func(lo, hi, x float64) float64 { return logit((x - lo) / (hi - lo)) }
	a := min(max(p.alpha, paramEps), 1-paramEps)
	u := []float64{out(paramEps, 1-paramEps, a)}
	if e.trend {
		u = append(u, out(paramEps, 1-paramEps, p.beta/a), out(phiLo, phiHi, p.phi))
	}
	if e.m1 > 0 {
		u = append(u, out(paramEps, 1-paramEps, p.g1/(1-a)))
	}
	if e.m2 > 0 {
		u = append(u, out(paramEps, 1-paramEps, p.g2/(1-a)))
	}
	return u
}

// start is the cold-start point: α = 0.2, β = 0.05α, φ = 0.95, γ = 0.05(1−α).
func (e ets) start() []float64 {
	u := []float64{logit(0.2)}
	if e.trend {
		u = append(u, logit(0.05), logit((0.95-phiLo)/(phiHi-phiLo)))
	}
	if e.m1 > 0 {
		u = append(u, logit(0.05))
	}
	if e.m2 > 0 {
		u = append(u, logit(0.05))
	}
	return u
}

// etsState is the state vector before the first observation.
type etsState struct {
	l, b   float64
	s1, s2 []float64
}

func (e ets) fit(y []float64, warm []float64) fitted {
	st := e.initStates(y)
	f := &etsFit{spec: e, init: st}
	sc := etsState{s1: make([]float64, len(st.s1)), s2: make([]float64, len(st.s2))}
	obj := func(u []float64) float64 {
		return e.run(y, e.decode(u), st, &sc, nil, 0, nil)
	}
	x0, simplex := e.start(), 1.0
	if len(warm) == e.dim() {
		// Near the previous optimum a small simplex converges in far fewer
		// evaluations.
		x0, simplex = warm, 0.3
	}
	u, _ := minimize(obj, x0, simplex, e.maxEval)
	f.u = u
	f.p = e.decode(u)
	return f
}

// run filters y from the initial state with parameters p and returns the
// sum of squared one-step errors. For every origin t in origins it writes
// the h-step forecast from y[:t] to out (see fitted.forecast). sc is scratch
// space for the seasonal states.
func (e ets) run(y []float64, p etsParams, init etsState, sc *etsState, origins []int, h int, out []float64) float64 {
	l, b := init.l, init.b
	s1, s2 := sc.s1, sc.s2
	copy(s1, init.s1)
	copy(s2, init.s2)
	m1, m2 := len(s1), len(s2)
	alpha, beta, phi, g1, g2 := p.alpha, p.beta, p.phi, p.g1, p.g2
	p1, p2 := 0, 0
	k := 0
	var sse float64
	for t := 0; t <= len(y); t++ {
		for k < len(origins) && origins[k] == t {
			row := out[k*h : (k+1)*h]
			damp, pow := 0.0, 1.0
			for i := range row {
				pow *= phi
				damp += pow
				row[i] = l + damp*b + s1[(p1+i)%m1] + s2[(p2+i)%m2]
			}
			k++
		}
		if t == len(y) {
			break
		}
		// Written so that the loop-carried chain through l and b is short:
		// the seasonal terms are read m steps after they were written.
		d := y[t] - s1[p1] - s2[p2]
		lp := l + phi*b
		err := d - lp
		sse += err * err
		l = lp + alpha*err
		b = phi*b + beta*err
		s1[p1] += g1 * err
		s2[p2] += g2 * err
		if p1++; p1 == m1 {
			p1 = 0
		}
		if p2++; p2 == m2 {
			p2 = 0
		}
	}
	if math.IsNaN(sse) || math.IsInf(sse, 0) {
		return math.Inf(1)
	}
	return sse
}

// etsFit is a fitted ets model.
type etsFit struct {
	spec ets
	init etsState
	u    []float64
	p    etsParams
}

func (f *etsFit) params() []float64 { return f.u }

func (f *etsFit) forecast(y []float64, origins []int, h int, out []float64) {
	sc := etsState{s1: make([]float64, len(f.init.s1)), s2: make([]float64, len(f.init.s2))}
	f.spec.run(y, f.p, f.init, &sc, origins, h, out)
}

// String describes the fitted parameters, for logs and tests.
func (f *etsFit) String() string {
	return fmt.Sprintf("%s α=%.3g β=%.3g φ=%.3g γ1=%.3g γ2=%.3g", f.spec.name(), f.p.alpha, f.p.beta, f.p.phi, f.p.g1, f.p.g2)
}
