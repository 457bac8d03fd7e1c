package forecast

import "math"

// model is one forecasting method. Fitting is separate from forecasting so
// that one fit serves many forecast origins: validation re-filters the
// training data with the fitted parameters instead of refitting per origin,
// which keeps selection O(N) per model.
type model interface {
	// name identifies the method in forecasts and reports.
	name() string
	// fit estimates the model's parameters on y. warm, when it holds the
	// parameters of an earlier fit of the same model (for example at the
	// previous evaluation origin), is the optimiser's start point.
	fit(y []float64, warm []float64) fitted
}

// fitted is a model with its parameters fixed.
type fitted interface {
	// params returns the parameters in the form fit accepts as warm.
	params() []float64
	// forecast runs the model over y, the series it was fitted on or an
	// extension of it, and writes for each origin t of origins (ascending,
	// 1 ≤ t ≤ len(y)) the forecast of y[t], …, y[t+h−1] made from y[:t]
	// into out[k·h : (k+1)·h]. One pass serves all origins.
	forecast(y []float64, origins []int, h int, out []float64)
}

// naive forecasts the last value: f_h = y[t−1].
type naive struct{}

func (naive) name() string                    { return "naive" }
func (naive) fit([]float64, []float64) fitted { return naiveFit{} }

type naiveFit struct{}

func (naiveFit) params() []float64 { return nil }

func (naiveFit) forecast(y []float64, origins []int, h int, out []float64) {
	for k, t := range origins {
		row := out[k*h : (k+1)*h]
		for i := range row {
			row[i] = y[t-1]
		}
	}
}

// seasonalNaive forecasts the value one season earlier:
// f_h = y[t − m + ((h−1) mod m)].
type seasonalNaive struct{ m int }

func (seasonalNaive) name() string { return "seasonal-naive" }

func (s seasonalNaive) fit([]float64, []float64) fitted { return s }

func (seasonalNaive) params() []float64 { return nil }

func (s seasonalNaive) forecast(y []float64, origins []int, h int, out []float64) {
	for k, t := range origins {
		row := out[k*h : (k+1)*h]
		for i := range row {
			j := t - s.m + i%s.m
			if j < 0 {
				// Less than a season of data: repeat the last value.
				j = t - 1
			}
			row[i] = y[j]
		}
	}
}

// logModel fits its inner model to log(y + c) and forecasts exp(f) − c:
// multiplicative seasonality and level-proportional noise become additive,
// and the back-transformed forecast estimates the median.
type logModel struct{ inner model }

func (l logModel) name() string { return "log-" + l.inner.name() }

// fit implements model.
func (l logModel) fit(y []float64, warm []float64) fitted {
	c := logOffset(y)
	ly := make([]float64, len(y))
	for i, v := range y {
		ly[i] = math.Log(v + c)
	}
	return logFit{inner: l.inner.fit(ly, warm), c: c}
}

type logFit struct {
	inner fitted
	c     float64
}

func (l logFit) params() []float64 { return l.inner.params() }

func (l logFit) forecast(y []float64, origins []int, h int, out []float64) {
	ly := make([]float64, len(y))
	for i, v := range y {
		if v+l.c <= 0 {
			// The series has left the domain the offset was chosen for
			// (it fell below the fitted data's minimum by more than the
			// offset's margin). Clamping would feed a log of about −690
			// into the states, and a trend on that scale explodes on the
			// way back; the model cannot describe this series, so its
			// forecasts are undefined and validation drops it.
			for j := range out {
				out[j] = math.NaN()
			}
			return
		}
		ly[i] = math.Log(v + l.c)
	}
	l.inner.forecast(ly, origins, h, out)
	for i, v := range out {
		out[i] = math.Exp(min(v, 700)) - l.c
	}
}

// logOffset is the shift that makes y positive before taking logs: zero
// for a positive series, otherwise what lifts the minimum to 1 % of the
// mean absolute value (count series such as requests have zeros).
func logOffset(y []float64) float64 {
	lo, sum := math.Inf(1), 0.0
	for _, v := range y {
		lo = min(lo, v)
		sum += math.Abs(v)
	}
	if lo > 0 {
		return 0
	}
	return -lo + 0.01*sum/float64(len(y))
}
