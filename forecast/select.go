package forecast

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"time"
)

// The automatic method's fixed choices. They follow from principles rather
// than tuning: a week of validation covers every weekday once.
const (
	// validationDays is the rolling-origin validation window, in days.
	validationDays = 7
	// weeklyMinDays is the fitting data the daily-plus-weekly model needs,
	// so that each weekly state starts from at least two observations and
	// the fit sees the weekly pattern repeat.
	weeklyMinDays = 21
	// maxHistory caps the points used, bounding the work per fit (it is
	// about seven weeks at 5 minutes, which keeps fit and forecast well
	// inside 50 ms of CPU). Older load says little about the next four
	// hours that seven weeks do not. The cap holds even where it leaves
	// less than the daily-plus-weekly model needs, which happens only at
	// steps under three minutes: four weeks at 1 minute are 40,320
	// points and cost about 90 ms per forecast, for a MASE about 4 %
	// better on a weekly synthetic series.
	maxHistory = 14000
	// originsPerHorizon sets the validation origins' spacing to h/8 steps:
	// dense enough for stable per-step error quantiles, sparse enough to
	// keep the validation O(N).
	originsPerHorizon = 8
)

// component is one model's contribution to the combined forecast.
type component struct {
	name   string
	f      []float64 // forecasts at every origin, row-major by origin
	mae    float64   // validation mean absolute error
	weight float64
	// members are the models a pseudo-component such as the robust default
	// is made of.
	members []string
}

// result is a forecast before it is put on the clock.
type result struct {
	components []Component
	p50        []float64
	quantiles  [][]float64
	// errors are the calibrated errors per horizon step (see calibrate).
	errors [][]float64
}

// seasons are the seasonal periods for a step, in steps.
type seasons struct {
	// day is the number of steps in a day (fractional for coarse or odd
	// steps).
	day float64
	// m1 is the daily period, or for steps too coarse to resolve a day the
	// weekly one; 0 when neither can be resolved. m2 is the weekly period
	// on top of a daily m1, else 0.
	m1, m2 int
}

// seasonsFor derives the seasons for a grid step. Load follows the clock:
// a daily cycle, often modulated by the day of the week.
func seasonsFor(step time.Duration) seasons {
	s := seasons{day: float64(24*time.Hour) / float64(step)}
	switch d := int(math.Round(s.day)); {
	case d >= 4:
		s.m1, s.m2 = d, 7*d
	case int(math.Round(7*s.day)) >= 4:
		s.m1 = int(math.Round(7 * s.day))
	}
	return s
}

// candidates returns the models to fit on nFit points. Every
// exponential-smoothing model also enters on the log scale, where
// multiplicative seasonality and level-proportional noise, both common in
// load, become additive; validation decides which scale fits.
func candidates(nFit int, s seasons) []model {
	ms := []model{naive{}}
	m := s.m1
	if m > 0 && nFit >= m {
		ms = append(ms, seasonalNaive{m: m})
	}
	es := []ets{{}, {trend: true}}
	if m > 0 && nFit >= 2*m {
		es = append(es, ets{trend: true, m1: m})
		if s.m2 > 0 && float64(nFit) >= weeklyMinDays*s.day {
			es = append(es, ets{trend: true, m1: m, m2: s.m2})
		}
	}
	for _, e := range es {
		ms = append(ms, e)
	}
	for _, e := range es {
		ms = append(ms, logModel{e})
	}
	if m > 0 && nFit >= 2*m {
		ms = append(ms, theta{m: m})
	} else {
		ms = append(ms, theta{})
	}
	return ms
}

// autoForecast is the automatic method:
//
//  1. Validation origins every h/8 steps over the last week of y (at most
//     half of y), plus the final origin len(y).
//  2. Every candidate is fitted once, on the data before the first
//     validation origin, and then re-filtered over all of y, which yields
//     its h-step forecasts at every origin in one O(N) pass. Validation is
//     thereby out of sample for both parameters and initial states.
//  3. The validation origins fall into validationWindows consecutive
//     windows (days, for the default week). In each window the models get
//     weights ∝ 1/MAE², the inverse-MSE weighting of Bates and Granger with
//     the MAE as a scale that single bursts cannot dominate, and the
//     weights are averaged over the windows, so that one odd window moves
//     at most its share. The result is shrunk toward a robust default, the
//     median of damped Holt-Winters, damped-trend smoothing and Theta,
//     which needs no validation to be good; see combine.
//  4. The intervals are conformal: the combination's validation errors at
//     each horizon step, each window's errors made with weights learnt on
//     the other windows (cross-fitting, so that they are as honest as the
//     final forecast's), with an adaptive scale that follows drift; see
//     calibrate.
func autoForecast(ctx context.Context, y []float64, s seasons, h int, qs []float64, warm map[string][]float64, tune Tuning) (result, error) {
	y = y[max(0, len(y)-maxHistory):]
	n := len(y)
	w := min(int(math.Round(validationDays*s.day)), n/2)
	if m := s.m1; m > 0 && n-w < 2*m && n-2*m >= 2*h {
		// A short history (under four days at the daily season): half of
		// it for validation would leave the seasonal smoothing models less
		// than the two seasons they need, and only seasonal naive would
		// model the season. Validate on what is left after two seasons
		// instead, as long as that still holds two horizons.
		w = n - 2*m
	}
	stride := max(1, h/originsPerHorizon)
	var origins []int
	for t := max(n-w, 1); t+h <= n; t += stride {
		origins = append(origins, t)
	}
	nv := len(origins)
	nFit := n
	if nv > 0 {
		nFit = origins[0]
	}
	origins = append(origins, n)

	var comps []component
	for _, mod := range candidates(nFit, s) {
		if err := ctx.Err(); err != nil {
			return result{}, err
		}
		start, ok := warm[mod.name()]
		if !ok {
			start = seed(mod, warm)
		}
		fit := mod.fit(y[:nFit], start)
		if p := fit.params(); p != nil {
			warm[mod.name()] = slices.Clone(p)
		}
		out := make([]float64, len(origins)*h)
		fit.forecast(y, origins, h, out)
		if !allFinite(out) {
			continue
		}
		comps = append(comps, component{name: mod.name(), f: out})
	}
	if len(comps) == 0 {
		// Naive is finite on finite data, so this takes values near the
		// float64 limits; report it rather than forecast garbage.
		return result{}, errors.New("forecast: no model gave a finite forecast")
	}
	if d, ok := robustDefault(comps, len(origins)*h); ok {
		comps = append(comps, d)
	}
	c := combine(comps, y, origins[:nv], h, tune.shrink())

	res := result{p50: slices.Clone(c.final[nv*h:]), quantiles: make([][]float64, len(qs))}
	for _, c := range comps {
		res.components = append(res.components, Component{Model: c.name, Weight: c.weight, MAE: c.mae})
	}
	slices.SortStableFunc(res.components, func(a, b Component) int { return cmp.Compare(b.Weight, a.Weight) })
	for j := range qs {
		res.quantiles[j] = make([]float64, h)
	}
	if nv == 0 {
		// No room to validate: fall back to a random-walk spread.
		sigma := rmsDiff(y)
		for i := range h {
			for j, q := range qs {
				res.quantiles[j][i] = res.p50[i] + normalQuantile(q)*sigma*math.Sqrt(float64(i+1))
			}
		}
		return res, nil
	}
	cal := calibrate(y, origins[:nv], h, max(2, int(math.Round(s.day))), c.crossFit, qs, tune.adaptRate())
	for i := range h {
		for j, q := range qs {
			v := res.p50[i] + cal.offsets[j][i]
			// Keep the quantiles on the right side of the median even when
			// the validation errors were one-sided.
			if q > 0.5 {
				v = max(v, res.p50[i])
			} else {
				v = min(v, res.p50[i])
			}
			res.quantiles[j][i] = v
		}
	}
	res.errors = cal.errors
	return res, nil
}

// seed returns a start point for a model that has no warm start of its
// own, from a related model fitted earlier in the same call: a log model
// starts where its additive twin ended, the daily-plus-weekly model where
// the daily one ended, the damped trend where simple smoothing ended. This
// roughly halves the optimiser's work on a cold start; nil means the
// model's default start.
func seed(mod model, fitted map[string][]float64) []float64 {
	switch m := mod.(type) {
	case logModel:
		return fitted[m.inner.name()]
	case ets:
		var parent ets
		switch {
		case m.m2 > 0:
			parent = ets{trend: m.trend, m1: m.m1}
		case m.m1 == 0 && m.trend:
			parent = ets{}
		default:
			return nil
		}
		u, ok := fitted[parent.name()]
		if !ok {
			return nil
		}
		p := parent.decode(u)
		q := m.decode(m.start())
		q.alpha = p.alpha
		if parent.trend {
			q.beta, q.phi = p.beta, p.phi
		}
		if parent.m1 > 0 {
			q.g1 = p.g1
		}
		return m.encode(q)
	}
	return nil
}

func allFinite(xs []float64) bool {
	for _, v := range xs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// rmsDiff is the root mean square of the lag-1 differences of y.
func rmsDiff(y []float64) float64 {
	if len(y) < 2 {
		return 0
	}
	var s float64
	for t := 1; t < len(y); t++ {
		d := y[t] - y[t-1]
		s += d * d
	}
	return math.Sqrt(s / float64(len(y)-1))
}

// normalQuantile is the standard normal quantile function.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// quantileSorted is the type-7 (linear interpolation) sample quantile of
// sorted xs.
func quantileSorted(xs []float64, q float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	pos := q * float64(n-1)
	i := int(math.Floor(pos))
	if i >= n-1 {
		return xs[n-1]
	}
	if i < 0 {
		return xs[0]
	}
	f := pos - float64(i)
	return xs[i] + f*(xs[i+1]-xs[i])
}
