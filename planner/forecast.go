package planner

import (
	"context"
	"errors"
	"net/http"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/forecast"
)

// RuleLoadHistory is the finding raised when a workload's load history is
// unusable; the workload then falls back to replicas.min.
const RuleLoadHistory = "MER-LOAD-001"

// ForecastSizer sizes workloads that declare load history for the upper
// quantile of their forecast over the settings' horizon, and the rest at
// replicas.min.
type ForecastSizer struct {
	// Client queries Prometheus; nil uses a client with no timeout beyond
	// the context's.
	Client *http.Client
}

// Size implements Sizer. Bad history never fails the plan: it becomes a
// warn finding at the file and line of the problem.
func (s ForecastSizer) Size(ctx context.Context, in *Input, w *meridian.Workload) (meridian.Sizing, []meridian.Finding) {
	fc, series, err := s.forecast(ctx, in, w)
	if err != nil {
		sz, _ := MinSizer{}.Size(ctx, in, w)
		return sz, []meridian.Finding{loadFinding(w, err)}
	}
	sz := forecast.Size(w, fc, in.Config.Settings.Forecast)
	if fc != nil {
		sz.StaticPeakReplicas = forecast.StaticPeakReplicas(w, series.Values, in.Config.Settings.Forecast)
	}
	return sz, nil
}

// Forecast returns w's load forecast, or nil when w declares no history.
func (s ForecastSizer) Forecast(ctx context.Context, in *Input, w *meridian.Workload) (*forecast.Forecast, error) {
	fc, _, err := s.forecast(ctx, in, w)
	return fc, err
}

// forecast returns w's load forecast and the history it was made from, or
// nil when w declares no history.
func (s ForecastSizer) forecast(ctx context.Context, in *Input, w *meridian.Workload) (*forecast.Forecast, forecast.Series, error) {
	src, ok, err := forecast.SourceFor(w, in.Config.Settings, in.FS, forecast.SourceOptions{Client: s.Client})
	if err != nil || !ok {
		return nil, forecast.Series{}, err
	}
	series, err := src.History(ctx)
	if err != nil {
		return nil, forecast.Series{}, err
	}
	fc, err := forecast.Predict(ctx, series, in.Config.Settings.Forecast)
	return fc, series, err
}

func loadFinding(w *meridian.Workload, err error) meridian.Finding {
	f := meridian.Finding{
		Rule:        RuleLoadHistory,
		Severity:    meridian.SeverityWarn,
		Workload:    w.Name,
		Field:       "load",
		File:        w.Origin.File,
		Line:        w.Origin.LineOf("load"),
		Message:     "load history unusable, sized at replicas.min: " + err.Error(),
		Remediation: "Fix the load history (timestamp,value rows, at least two days) or remove load from the workload.",
	}
	var ce meridian.ConfigError
	if errors.As(err, &ce) {
		f.File, f.Line, f.Field = ce.File, ce.Line, ce.Field
		f.Message = "load history unusable, sized at replicas.min: " + ce.Message
	}
	return f
}
