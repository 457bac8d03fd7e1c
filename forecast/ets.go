package forecast

import (
	"fmt"
	"math"
	"slices"
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
// objective evaluation is one O(N) pass. Outliers are clipped on the way in
// (see guard), which keeps rare spikes from pulling the forecast up.
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
	limit := outlierLimit(y)
	f := &etsFit{spec: e, init: st, limit: limit}
	sc := etsState{s1: make([]float64, len(st.s1)), s2: make([]float64, len(st.s2))}
	obj := func(u []float64) float64 {
		return e.run(y, e.decode(u), st, limit, &sc, nil, 0, nil)
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
func (e ets) run(y []float64, p etsParams, init etsState, limit float64, sc *etsState, origins []int, h int, out []float64) float64 {
	copy(sc.s1, init.s1)
	copy(sc.s2, init.s2)
	f := filter{l: init.l, b: init.b, s1: sc.s1, s2: sc.s2, p: p, guard: guard{limit: limit}}
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
	guard  guard
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
// (guarded) one-step errors. It is the hot loop of every fit, so it has one
// variant per number of seasons and walks the seasonal states in runs whose
// bounds the compiler checks once. The seasonal terms are read a season
// after they were written.
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
	lim, up, down := f.guard.limit, f.guard.up, f.guard.down
	var sse float64
	for _, v := range y {
		pred := l + phi*b
		e := v - pred
		if e > lim || e < -lim {
			e, up, down = clip(e, lim, up, down)
		} else {
			up, down = 0, 0
		}
		sse += e * e
		l, b = pred+alpha*e, phi*b+beta*e
	}
	f.l, f.b, f.guard.up, f.guard.down = l, b, up, down
	return sse
}

func (f *filter) step1(y []float64) float64 {
	l, b := f.l, f.b
	alpha, beta, phi, g1 := f.p.alpha, f.p.beta, f.p.phi, f.p.g1
	lim, up, down := f.guard.limit, f.guard.up, f.guard.down
	s1, p1 := f.s1, f.p1
	var sse float64
	for len(y) > 0 {
		n := min(len(s1)-p1, len(y))
		ys, ss := y[:n], s1[p1:p1+n]
		for j, v := range ys {
			pred := l + phi*b
			e := v - ss[j] - pred
			if e > lim || e < -lim {
				e, up, down = clip(e, lim, up, down)
			} else {
				up, down = 0, 0
			}
			sse += e * e
			l, b = pred+alpha*e, phi*b+beta*e
			ss[j] += g1 * e
		}
		y = y[n:]
		if p1 += n; p1 == len(s1) {
			p1 = 0
		}
	}
	f.l, f.b, f.p1, f.guard.up, f.guard.down = l, b, p1, up, down
	return sse
}

func (f *filter) step2(y []float64) float64 {
	l, b := f.l, f.b
	alpha, beta, phi, g1, g2 := f.p.alpha, f.p.beta, f.p.phi, f.p.g1, f.p.g2
	lim, up, down := f.guard.limit, f.guard.up, f.guard.down
	s1, s2, p1, p2 := f.s1, f.s2, f.p1, f.p2
	var sse float64
	for len(y) > 0 {
		n := min(len(s1)-p1, len(s2)-p2, len(y))
		ys, ss1, ss2 := y[:n], s1[p1:p1+n], s2[p2:p2+n]
		for j, v := range ys {
			pred := l + phi*b
			e := v - ss1[j] - ss2[j] - pred
			if e > lim || e < -lim {
				e, up, down = clip(e, lim, up, down)
			} else {
				up, down = 0, 0
			}
			sse += e * e
			l, b = pred+alpha*e, phi*b+beta*e
			ss1[j] += g1 * e
			ss2[j] += g2 * e
		}
		y = y[n:]
		if p1 += n; p1 == len(s1) {
			p1 = 0
		}
		if p2 += n; p2 == len(s2) {
			p2 = 0
		}
	}
	f.l, f.b, f.p1, f.p2, f.guard.up, f.guard.down = l, b, p1, p2, up, down
	return sse
}

// guard makes the recursions robust to outliers without missing level
// shifts. A one-step error beyond ±limit is clipped to the limit before it
// updates the states (and before it enters the fitting objective, which
// turns least squares into a Huber loss), so an isolated spike moves the
// level by at most α·limit. But shiftRun consecutive errors beyond the limit
// on the same side are no spike: from the shiftRun-th on they pass
// unclipped, so the level catches up with a shift within a few steps. A
// limit of +Inf disables the guard.
type guard struct {
	limit    float64
	up, down int
}

// shiftRun is how many consecutive same-side outliers make a level shift:
// two can be one burst, three in a row at five robust standard deviations
// have a chance below 1e-15 under any noise the limit is scaled to.
const shiftRun = 3

// clip is the guard's slow path, for an error e beyond ±lim after up
// (down) consecutive errors beyond +lim (−lim): it returns the error to
// use and the new run lengths. The filters keep the run lengths in
// registers and call it only for outliers, which keeps the hot loop to two
// compares.
func clip(e, lim float64, up, down int) (float64, int, int) {
	if e > 0 {
		if up++; up < shiftRun {
			return lim, up, 0
		}
		return e, up, 0
	}
	if down++; down < shiftRun {
		return -lim, 0, down
	}
	return e, 0, down
}

// etsFit is a fitted ets model.
type etsFit struct {
	spec  ets
	init  etsState
	limit float64
	u     []float64
	p     etsParams
}

func (f *etsFit) params() []float64 { return f.u }

func (f *etsFit) forecast(y []float64, origins []int, h int, out []float64) {
	sc := etsState{s1: make([]float64, len(f.init.s1)), s2: make([]float64, len(f.init.s2))}
	f.spec.run(y, f.p, f.init, f.limit, &sc, origins, h, out)
}

// String describes the fitted parameters, for logs and tests.
func (f *etsFit) String() string {
	return fmt.Sprintf("%s α=%.3g β=%.3g φ=%.3g γ1=%.3g γ2=%.3g", f.spec.name(), f.p.alpha, f.p.beta, f.p.phi, f.p.g1, f.p.g2)
}

// outlierZ is the guard's limit in robust standard deviations of the
// one-step noise: far enough out that Gaussian noise almost never trips it
// (about one point in two million), close enough that a spike of a few
// times the usual variation does.
const outlierZ = 5

// outlierLimit scales the guard to y: outlierZ robust standard deviations
// of the noise, estimated from the median absolute lag-1 difference (which
// is √2 times the noise's for white noise, and which a season or a trend
// barely moves at the steps load is sampled at). About 1024 evenly spaced
// differences keep it O(1) in the series length. A series that mostly
// does not move (median 0) falls back to the mean absolute difference; one
// that never moves gets no guard.
func outlierLimit(y []float64) float64 {
	if len(y) < 3 {
		return math.Inf(1)
	}
	stride := max(1, (len(y)-1)/1024)
	d := make([]float64, 0, (len(y)-1)/stride+1)
	for t := 1; t < len(y); t += stride {
		d = append(d, math.Abs(y[t]-y[t-1]))
	}
	slices.Sort(d)
	scale := 1.4826 * d[len(d)/2] / math.Sqrt2
	if scale == 0 {
		var sum float64
		for _, v := range d {
			sum += v
		}
		scale = math.Sqrt(math.Pi/2) * sum / float64(len(d)) / math.Sqrt2
	}
	if scale == 0 || math.IsNaN(scale) {
		return math.Inf(1)
	}
	return outlierZ * scale
}
