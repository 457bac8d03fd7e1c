package forecast

import "math"

// theta is the Theta method of Assimakopoulos and Nikolopoulos in the
// state-space form of Hyndman and Billah: simple exponential smoothing with
// a fixed drift of half the slope of a straight line through the
// seasonally adjusted fitting data. The seasonal indices come from the
// classical decomposition that initStates runs and stay fixed. It won the
// M3 competition with a trend that neither chases the last few points nor
// stops dead, which makes it a steady member of the default combination.
type theta struct{ m int }

func (theta) name() string { return "theta" }

// fit implements model. Only α is optimised; the drift and the seasonal
// indices are estimated once, in O(N).
func (t theta) fit(y []float64, warm []float64) fitted {
	spec := ets{trend: true, m1: t.m}
	st := spec.initStates(y)
	st.b = halfSlope(y, st)
	limit := outlierLimit(y)
	f := &etsFit{spec: spec, init: st, limit: limit}
	sc := etsState{s1: make([]float64, len(st.s1)), s2: make([]float64, len(st.s2))}
	params := func(u []float64) etsParams {
		// β = γ = 0 and φ = 1: the drift and the seasons stay as estimated.
		return etsParams{alpha: paramEps + (1-2*paramEps)*logistic(u[0]), phi: 1}
	}
	obj := func(u []float64) float64 {
		return spec.run(y, params(u), st, limit, &sc, nil, 0, nil)
	}
	x0, simplex := []float64{logit(0.2)}, 1.0
	if len(warm) == 1 {
		x0, simplex = warm, 0.3
	}
	u, _ := minimize(obj, x0, simplex, defaultMaxEval)
	f.u, f.p = u, params(u)
	return f
}

// halfSlope is half the least-squares slope of y minus its initial
// seasonal indices: the Theta method's drift.
func halfSlope(y []float64, st etsState) float64 {
	var sx, sy, sxx, sxy float64
	for t, v := range y {
		z := v - st.s1[t%len(st.s1)] - st.s2[t%len(st.s2)]
		x := float64(t)
		sx += x
		sy += z
		sxx += x * x
		sxy += x * z
	}
	n := float64(len(y))
	den := n*sxx - sx*sx
	if len(y) < 3 || den == 0 {
		return 0
	}
	s := (n*sxy - sx*sy) / den
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return 0
	}
	return s / 2
}
