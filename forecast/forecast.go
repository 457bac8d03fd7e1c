package forecast

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// Options configure a Forecaster. Zero values mean the defaults.
type Options struct {
	// Horizon is how far ahead to forecast; default 4 hours.
	Horizon time.Duration
	// Quantiles are the predictive quantiles to compute besides the median,
	// each in (0, 1); default {0.95}.
	Quantiles []float64
	// Tuning overrides the automatic method's constants; the zero value
	// keeps the defaults.
	Tuning Tuning
}

// Forecast is a probabilistic forecast on the series' grid.
type Forecast struct {
	// Start is the time of the first step, one step after the history.
	Start time.Time
	Step  time.Duration
	// Model summarises the combination: its three heaviest components with
	// their weights, e.g. "ensemble: log-hw-damped 41%, hw-damped 30%,
	// ses 9%".
	Model string
	// Components are the combined models, heaviest first.
	Components []Component
	// P50 is the point forecast, one value per step: the weighted
	// combination of the models, which estimates the median.
	P50 []float64
	// Quantiles holds the requested quantiles, ascending by Q.
	Quantiles []Band
	// Errors is the calibrated distribution of the error (actual − P50),
	// per step: ascending samples, one per validation origin. Empty when
	// the history was too short to validate.
	Errors [][]float64
}

// Component is one model in the combined forecast.
type Component struct {
	Model string
	// Weight is the model's share of the point forecast; weights sum to 1.
	Weight float64
	// MAE is the model's mean absolute error over the validation origins.
	MAE float64
}

// modelName renders the heaviest components.
func modelName(cs []Component) string {
	if len(cs) == 1 {
		return cs[0].Model
	}
	parts := make([]string, 0, 3)
	for _, c := range cs[:min(3, len(cs))] {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", c.Model, 100*c.Weight))
	}
	return "ensemble: " + strings.Join(parts, ", ")
}

// Band is one predictive quantile over the horizon.
type Band struct {
	Q      float64
	Values []float64
}

// Quantile returns the forecast at quantile q, if it was computed. q = 0.5
// is always available.
func (f *Forecast) Quantile(q float64) ([]float64, bool) {
	if q == 0.5 {
		return f.P50, true
	}
	for _, b := range f.Quantiles {
		if math.Abs(b.Q-q) < 1e-9 {
			return b.Values, true
		}
	}
	return nil, false
}

// Forecaster fits, validates and combines models for one series. It
// remembers the parameters of its last fits and starts the optimiser from
// them on the next call, which makes repeated forecasts of a growing series
// (a rolling evaluation, or a planner re-running every few minutes) about
// twice as cheap. Only the start point carries over, never data, so a
// forecast depends on the series it is given and not on earlier calls
// beyond the optimiser's tolerance. A Forecaster is not safe for concurrent
// use; use one per series.
type Forecaster struct {
	opts Options
	warm map[string][]float64
}

// NewForecaster returns a Forecaster with opts, defaults filled in.
func NewForecaster(opts Options) *Forecaster {
	if opts.Horizon <= 0 {
		opts.Horizon = 4 * time.Hour
	}
	if len(opts.Quantiles) == 0 {
		opts.Quantiles = []float64{0.95}
	}
	qs := slices.Clone(opts.Quantiles)
	slices.Sort(qs)
	opts.Quantiles = slices.Compact(qs)
	return &Forecaster{opts: opts, warm: map[string][]float64{}}
}

// Predict forecasts s over the settings' horizon with the settings'
// quantile (0.95 when unset), from a cold start. It is what a planner calls
// once per workload.
func Predict(ctx context.Context, s Series, fs meridian.ForecastSettings) (*Forecast, error) {
	q := fs.Quantile
	if q <= 0 || q >= 1 {
		q = 0.95
	}
	return NewForecaster(Options{Horizon: fs.Horizon, Quantiles: []float64{q}}).Forecast(ctx, s)
}

// Forecast fits the candidate models to s, picks or combines them by
// rolling-origin validation on s itself, and returns the forecast for the
// horizon after s's last value.
func (f *Forecaster) Forecast(ctx context.Context, s Series) (*Forecast, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.Step <= 0 {
		return nil, fmt.Errorf("forecast: series step must be positive, got %s", s.Step)
	}
	for i, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("forecast: value %d is %g", i, v)
		}
	}
	if len(s.Values) < 2 {
		return nil, fmt.Errorf("forecast: need at least 2 values, got %d", len(s.Values))
	}
	for _, q := range f.opts.Quantiles {
		if !(q > 0 && q < 1) {
			return nil, fmt.Errorf("forecast: quantile %g is not in (0, 1)", q)
		}
	}
	h := int(math.Ceil(float64(f.opts.Horizon) / float64(s.Step)))
	r, err := autoForecast(ctx, s.Values, seasonsFor(s.Step), h, f.opts.Quantiles, f.warm, f.opts.Tuning)
	if err != nil {
		return nil, err
	}
	fc := &Forecast{Start: s.End(), Step: s.Step, Model: modelName(r.components), Components: r.components, P50: r.p50, Errors: r.errors}
	for i, q := range f.opts.Quantiles {
		fc.Quantiles = append(fc.Quantiles, Band{Q: q, Values: r.quantiles[i]})
	}
	return fc, nil
}
