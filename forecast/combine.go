package forecast

import (
	"math"
	"slices"
)

// validationWindows is how many consecutive windows the validation origins
// are split into: with a week of validation, one per day, so that each
// weekday weighs the same and no single day decides.
const validationWindows = 7

// defaultShrink is the share of the combination that goes to the robust
// default whatever the validation says: a week of validation is noisy
// evidence, and the default is a combination that holds up without it.
// `meridian forecast eval --folds 3` chose it in every fold of the dev set
// (docs/forecast.md); it is also the floor of that grid, since below it the
// default stops anchoring the combination against one odd week.
const defaultShrink = 0.15

// RobustDefault names the robust default combination among a forecast's
// components.
const RobustDefault = "robust-default"

// isDefaultMember says whether a model belongs to the robust default:
// damped Holt-Winters for the season, damped-trend smoothing for series
// whose season is noise, and Theta in between. Their median follows
// whichever two agree, so one model that goes astray on a series cannot
// take the forecast with it.
func isDefaultMember(name string) bool {
	switch name {
	case "hw-damped", "hw-damped-weekly", "holt-damped", "theta":
		return true
	}
	return false
}

// Tuning holds the automatic method's tunable constants, for leave-series-
// out evaluation (`meridian forecast eval --folds`). Zero values mean the
// defaults, which are what planning uses.
type Tuning struct {
	// Shrink is the weight, in (0, 1], of the robust default in the
	// combination; default 0.15.
	Shrink float64
	// AdaptRate is the adaptive conformal step size (see calibrate);
	// default 0.1.
	AdaptRate float64
}

func (t Tuning) shrink() float64 {
	if t.Shrink <= 0 || t.Shrink > 1 {
		return defaultShrink
	}
	return t.Shrink
}

func (t Tuning) adaptRate() float64 {
	if t.AdaptRate <= 0 {
		return defaultAdaptRate
	}
	return t.AdaptRate
}

// robustDefault is the median, per origin and step, of the default members
// among cs; false if none of them is there.
func robustDefault(cs []component, size int) (component, bool) {
	var fs [][]float64
	var names []string
	for _, c := range cs {
		if isDefaultMember(c.name) {
			fs = append(fs, c.f)
			names = append(names, c.name)
		}
	}
	if len(fs) == 0 {
		return component{}, false
	}
	out := make([]float64, size)
	v := make([]float64, len(fs))
	for j := range out {
		for k, f := range fs {
			v[k] = f[j]
		}
		out[j] = median(v)
	}
	return component{name: RobustDefault, f: out, members: names}, true
}

// combination is the weighted forecast at every origin.
type combination struct {
	// final is the combination with the final weights, at every origin
	// (validation origins, then the last one), row-major.
	final []float64
	// crossFit holds, at each validation origin, the combination made with
	// weights learnt on the other validation windows: errors of the final
	// weights on the data they were learnt from would be optimistic.
	crossFit []float64
}

// combine sets each component's weight and MAE from the validation origins
// vo (see autoForecast) and returns the combined forecasts. The weights are
// the mean over validation windows of per-window inverse-MSE weights,
// shrunk by rho toward the robust default.
func combine(cs []component, y []float64, vo []int, h int, rho float64) combination {
	nv := len(vo)
	k := min(validationWindows, nv)
	def := slices.IndexFunc(cs, func(c component) bool { return c.name == RobustDefault })
	perWindow := make([][]float64, k)
	for j := range k {
		lo, hi := j*nv/k, (j+1)*nv/k
		mae := make([]float64, len(cs))
		for ci, c := range cs {
			mae[ci] = meanAbsError(y, c.f, vo, lo, hi, h)
		}
		perWindow[j] = inverseMSE(mae, y)
	}
	for ci := range cs {
		cs[ci].mae = meanAbsError(y, cs[ci].f, vo, 0, nv, h)
	}
	// weights averages the per-window weights over all windows but skip
	// (−1: none) and shrinks them.
	weights := func(skip int) []float64 {
		w := make([]float64, len(cs))
		used := 0
		for j, pw := range perWindow {
			if j == skip && k > 1 {
				continue
			}
			used++
			for ci := range w {
				w[ci] += pw[ci]
			}
		}
		switch {
		case used == 0 && def >= 0:
			w[def] = 1
		case used == 0:
			for ci := range w {
				w[ci] = 1 / float64(len(w))
			}
		default:
			for ci := range w {
				w[ci] /= float64(used)
			}
		}
		if def >= 0 {
			for ci := range w {
				w[ci] *= 1 - rho
			}
			w[def] += rho
		}
		return w
	}
	mix := func(w []float64, from, to int, out []float64) {
		for ci, c := range cs {
			if w[ci] == 0 {
				continue
			}
			for j := from; j < to; j++ {
				out[j] += w[ci] * c.f[j]
			}
		}
	}
	final := weights(-1)
	for ci := range cs {
		cs[ci].weight = final[ci]
	}
	out := combination{final: make([]float64, len(cs[0].f)), crossFit: make([]float64, nv*h)}
	mix(final, 0, len(out.final), out.final)
	for j := range k {
		lo, hi := j*nv/k, (j+1)*nv/k
		mix(weights(j), lo*h, hi*h, out.crossFit)
	}
	return out
}

// meanAbsError is c's mean absolute error at validation origins vo[lo:hi].
func meanAbsError(y, f []float64, vo []int, lo, hi, h int) float64 {
	var ae float64
	for k := lo; k < hi; k++ {
		for i := range h {
			ae += math.Abs(y[vo[k]+i] - f[k*h+i])
		}
	}
	return ae / float64(max(1, (hi-lo)*h))
}

// inverseMSE returns weights ∝ 1/MAE², normalised to sum 1. MAEs are
// floored at a billionth of the series' mean absolute value so that exact
// fits (a constant series) keep finite weights; on an all-zero series the
// exact models share the weight.
func inverseMSE(mae []float64, y []float64) []float64 {
	var scale float64
	for _, v := range y {
		scale += math.Abs(v)
	}
	floor := 1e-9 * scale / float64(len(y))
	best := math.Inf(1)
	for _, m := range mae {
		best = min(best, max(m, floor))
	}
	w := make([]float64, len(mae))
	var sum float64
	for i, m := range mae {
		switch {
		case best == 0 && m == 0:
			w[i] = 1
		case best == 0:
			w[i] = 0
		default:
			// Relative to the best model, so nothing overflows.
			r := best / max(m, floor)
			w[i] = r * r
		}
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}
