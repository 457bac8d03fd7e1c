package forecast

import (
	"math"
	"slices"
)

// defaultAdaptRate is the step size of the adaptive conformal scale: after
// an origin whose forecasts all fell outside a band the band widens by
// about 10 %, after one fully inside it narrows by 10 % of the nominal miss
// rate. Consecutive origins share most of their horizon, so a day of
// systematic misses widens a band severalfold, enough to follow drift
// within the week of validation. `meridian forecast eval --folds 3` chose
// 0.2, 0.1 and 0.05 in its three folds; this is the middle one.
const defaultAdaptRate = 0.1

// calibration is what calibrate learns from the validation errors.
type calibration struct {
	// offsets holds, for each requested quantile and horizon step, the
	// calibrated quantile of the error (actual − forecast).
	offsets [][]float64
	// errors holds, per horizon step, the validation errors in ascending
	// order, each tail stretched by its adaptive scale: the calibrated
	// error distribution that SLA sizing integrates over.
	errors [][]float64
}

// calibrate turns the errors of forecasts f made at validation origins vo
// into calibrated quantiles, one set per horizon step (split conformal
// prediction over rolling origins: the errors at step i are exchangeable
// scores for step i of the next forecast).
//
// On their own these quantiles assume the validation week looks like the
// coming hours. Adaptive conformal inference (Gibbs and Candès, 2021)
// drops that assumption: each band has a scale s, applied to its distance
// from the step's median error, and walking through the validation origins
// in time order log s grows by rate·(miss − α) after each, where miss is the
// share of the origin's steps outside the band and α the nominal miss rate.
// The scale after the last origin is used, so bands follow the recent
// error level while their shape over the horizon comes from the whole week.
//
// Before either, each error is divided by the series' volatility at its
// origin and multiplied by the volatility now (normalised conformal
// scores), so that a series whose noise halved last Tuesday gets intervals
// for the noise it has now; span is the volatility's window, in steps.
func calibrate(y []float64, vo []int, h, span int, f []float64, qs []float64, rate float64) calibration {
	nv := len(vo)
	vol := localVolatility(y, span)
	now := vol(len(y))
	steps := make([][]float64, h)
	for i := range h {
		steps[i] = make([]float64, nv)
		for k, o := range vo {
			steps[i][k] = (y[o+i] - f[k*h+i]) / vol(o) * now
		}
	}
	raw := make([][]float64, h) // unsorted copies, in origin order
	centre := make([]float64, h)
	for i := range h {
		raw[i] = slices.Clone(steps[i])
		slices.Sort(steps[i])
		centre[i] = quantileSorted(steps[i], 0.5)
	}
	cal := calibration{offsets: make([][]float64, len(qs)), errors: make([][]float64, h)}
	up, down := 1.0, 1.0
	for j, q := range qs {
		base := make([]float64, h)
		for i := range h {
			base[i] = quantileSorted(steps[i], conformalLevel(q, nv)) - centre[i]
		}
		s := adaptiveScale(raw, centre, base, q, rate)
		cal.offsets[j] = make([]float64, h)
		for i := range h {
			cal.offsets[j][i] = centre[i] + s*base[i]
		}
		// The tails of the error distribution take the scale of the most
		// extreme band asked for on their side, the closest to what sizing
		// integrates.
		if q > 0.5 {
			up = s
		} else if q < 0.5 && down == 1 {
			down = s
		}
	}
	for i := range h {
		e := make([]float64, nv)
		for k, v := range steps[i] {
			d := v - centre[i]
			if d > 0 {
				d *= up
			} else {
				d *= down
			}
			e[k] = centre[i] + d
		}
		cal.errors[i] = e
	}
	return cal
}

// conformalLevel is the empirical level that gives coverage q with n
// exchangeable scores: ⌈(n+1)q⌉/n for an upper band, mirrored for a lower
// one.
func conformalLevel(q float64, n int) float64 {
	fn := float64(n)
	if q >= 0.5 {
		return min(1, math.Ceil((fn+1)*q)/fn)
	}
	return max(0, 1-math.Ceil((fn+1)*(1-q))/fn)
}

// adaptiveScale runs the adaptive update for the band at quantile q with
// offsets centre + s·base over the origins (raw[i][k] is the error of
// origin k at step i) and returns the final s.
func adaptiveScale(raw [][]float64, centre, base []float64, q, rate float64) float64 {
	if q == 0.5 || len(raw) == 0 {
		return 1
	}
	alpha := 1 - q
	if q < 0.5 {
		alpha = q
	}
	h, nv := len(raw), len(raw[0])
	logS := 0.0
	for k := range nv {
		s := math.Exp(logS)
		miss := 0
		for i := range h {
			bound := centre[i] + s*base[i]
			if (q > 0.5 && raw[i][k] > bound) || (q < 0.5 && raw[i][k] < bound) {
				miss++
			}
		}
		logS += rate * (float64(miss)/float64(h) - alpha)
		// A band may shrink to a tenth or grow tenfold, no further: beyond
		// that the scores say more about a broken series than about drift.
		logS = min(max(logS, -math.Ln10), math.Ln10)
	}
	return math.Exp(logS)
}

// localVolatility returns vol(t): the mean absolute lag-1 difference of y
// over the span steps before t, a scale for the noise at t. Differences
// are capped at the outlier guard's limit, so that one spike does not make
// the next day's intervals wide. It is O(1) per call after an O(N) pass,
// floored at a millionth of the series' overall mean absolute difference
// so that a flat stretch cannot divide by zero.
func localVolatility(y []float64, span int) func(t int) float64 {
	limit := outlierLimit(y)
	cum := make([]float64, len(y)+1)
	for t := 1; t < len(y); t++ {
		cum[t+1] = cum[t] + min(math.Abs(y[t]-y[t-1]), limit)
	}
	floor := 1e-6 * cum[len(y)] / float64(max(1, len(y)-1))
	if floor == 0 {
		floor = 1
	}
	span = max(span, 2)
	return func(t int) float64 {
		lo := max(1, t-span)
		if t <= lo {
			return floor
		}
		return max((cum[t]-cum[lo])/float64(t-lo), floor)
	}
}
