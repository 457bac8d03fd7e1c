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
// the fitting data (see initStates) and are not optimised, so each
// objective evaluation is one O(N) pass.
type ets struct {
	trend  bool
	m1, m2 int
	// maxEval bounds the optimiser's objective evaluations; zero means
	// defaultMaxEval.
	maxEval int
}

// defaultMaxEval is far above what the optimiser needs (a cold fit of the
// five-parameter model takes about 200 evaluations); it only bounds the
// work on pathological data.
const defaultMaxEval = 600

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

// fit implements model.
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
	maxEval := e.maxEval
	if maxEval <= 0 {
		maxEval = defaultMaxEval
	}
	u, _ := minimize(obj, x0, simplex, maxEval)
	f.u = u
	f.p = e.decode(u)
	return f
}

// run filters y from the initial state with parameters p and returns the
// sum of squared one-step errors. For every origin t in origins it writes
// the h-step forecast from y[:t] to out (see fitted.forecast). sc is scratch
// space for the seasonal states.
func (e ets) run(y []float64, p etsParams, init etsState, sc *etsState, origins []int, h int, out []float64) float64 {
	copy(sc.s1, init.s1)
	copy(sc.s2, init.s2)
	f := filter{l: init.l, b: init.b, s1: sc.s1, s2: sc.s2, p: p}
	var sse float64
	t := 0
	for k, o := range origins {
		sse += f.step(y[t:o])
		t = o
		f.forecast(out[k*h : (k+1)*h])
	}
	sse += f.step(y[t:])
	if math.IsNaN(sse) || math.IsInf(sse, 0) {
		return math.Inf(1)
	}
	return sse
}

// filter is the running state of the recursions. Seasonal state s1[p1] is
// the one for the next observation.
type filter struct {
	l, b   float64
	s1, s2 []float64
	p1, p2 int
	p      etsParams
}

// forecast writes the forecasts for the next len(row) observations.
func (f *filter) forecast(row []float64) {
	m1, m2 := len(f.s1), len(f.s2)
	damp, pow := 0.0, 1.0
	for i := range row {
		pow *= f.p.phi
		damp += pow
		row[i] = f.l + damp*f.b + f.s1[(f.p1+i)%m1] + f.s2[(f.p2+i)%m2]
	}
}

// step feeds y through the recursions and returns the sum of squared
// one-step errors. It is the hot loop of every fit, so it has one variant
// per number of seasons and walks the seasonal states in runs whose bounds
// the compiler checks once. Each variant updates (l, b) in the transition
// form of transition, which keeps the loop-carried dependency chain to a
// multiply and two adds; the error and the seasonal updates hang off it.
// The seasonal terms are read a season after they were written.
func (f *filter) step(y []float64) float64 {
	switch {
	case len(f.s2) > 1:
		return f.step2(y)
	case len(f.s1) > 1:
		return f.step1(y)
	}
	return f.step0(y)
}

func (f *filter) step0(y []float64) float64 {
	l, b := f.l, f.b
	alpha, beta, phi := f.p.alpha, f.p.beta, f.p.phi
	a11, a12, a21, a22 := f.p.transition()
	var sse float64
	for _, v := range y {
		err := v - (l + phi*b)
		sse += err * err
		l, b = a11*l+a12*b+alpha*v, a21*l+a22*b+beta*v
	}
	f.l, f.b = l, b
	return sse
}

func (f *filter) step1(y []float64) float64 {
	l, b := f.l, f.b
	alpha, beta, phi, g1 := f.p.alpha, f.p.beta, f.p.phi, f.p.g1
	a11, a12, a21, a22 := f.p.transition()
	s1, p1 := f.s1, f.p1
	var sse float64
	for len(y) > 0 {
		n := min(len(s1)-p1, len(y))
		ys, ss := y[:n], s1[p1:p1+n]
		for j, v := range ys {
			d := v - ss[j]
			err := d - (l + phi*b)
			sse += err * err
			l, b = a11*l+a12*b+alpha*d, a21*l+a22*b+beta*d
			ss[j] += g1 * err
		}
		y = y[n:]
		if p1 += n; p1 == len(s1) {
			p1 = 0
		}
	}
	f.l, f.b, f.p1 = l, b, p1
	return sse
}

func (f *filter) step2(y []float64) float64 {
	l, b := f.l, f.b
	alpha, beta, phi, g1, g2 := f.p.alpha, f.p.beta, f.p.phi, f.p.g1, f.p.g2
	a11, a12, a21, a22 := f.p.transition()
	s1, s2, p1, p2 := f.s1, f.s2, f.p1, f.p2
	var sse float64
	for len(y) > 0 {
		n := min(len(s1)-p1, len(s2)-p2, len(y))
		ys, ss1, ss2 := y[:n], s1[p1:p1+n], s2[p2:p2+n]
		for j, v := range ys {
			d := v - ss1[j] - ss2[j]
			err := d - (l + phi*b)
			sse += err * err
			l, b = a11*l+a12*b+alpha*d, a21*l+a22*b+beta*d
			ss1[j] += g1 * err
			ss2[j] += g2 * err
		}
		y = y[n:]
		if p1 += n; p1 == len(s1) {
			p1 = 0
		}
		if p2 += n; p2 == len(s2) {
			p2 = 0
		}
	}
	f.l, f.b, f.p1, f.p2 = l, b, p1, p2
	return sse
}

// transition returns the matrix A of the level/slope update written as
//
//	(l, b) ← A·(l, b) + (α, β)·d,  d = y − seasonal terms,
//
// which is the error-correction form l ← l + φb + αe, b ← φb + βe with
// e = d − l − φb substituted.
func (p etsParams) transition() (a11, a12, a21, a22 float64) {
	return 1 - p.alpha, (1 - p.alpha) * p.phi, -p.beta, p.phi * (1 - p.beta)
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
