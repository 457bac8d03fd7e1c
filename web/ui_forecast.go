package web

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/dashboard"
	"github.com/meridianhq/meridian/forecast"
)

// Forecast chart bounds: how much recent load it shows, how many points
// at most a line has (longer series are thinned), and how long reading
// and forecasting one workload's load may take.
const (
	forecastRecent    = 7 * 24 * time.Hour
	forecastMaxPoints = 400
	forecastTimeout   = 10 * time.Second
	forecastCacheSize = 64
)

// forecastChart is a workload's load and forecast, as charted.
type forecastChart struct {
	Chart dashboard.Chart
	Model string
	// Quantile is the upper band's quantile, e.g. 0.95.
	Quantile float64
	// Err says why there is no chart ("" with one, or without load
	// history).
	Err string
}

// workloadForecast charts the workload's recent load (from the config at
// the plan's commit) against the forecast over the horizon: P50 and the
// band up to the quantile the plan sized it for. It is computed again
// from the same inputs the planner used, once per plan and workload.
func (s *Server) workloadForecast(ctx context.Context, d *planDoc, name string, sizing *meridian.Sizing) forecastChart {
	if s.opts.Configs == nil || sizing == nil || sizing.Method != "forecast" {
		return forecastChart{}
	}
	fc, _ := s.ui.forecasts.Get(d.rec.ID+"\x00"+name, func() (forecastChart, error) {
		ctx, cancel := context.WithTimeout(ctx, forecastTimeout)
		defer cancel()
		fc, err := s.buildForecast(ctx, d.rec.Commit, name, sizing)
		if err != nil {
			logger(ctx, s.log).WarnContext(ctx, "dashboard: forecast", "workload", name, "err", err)
			// Not kept: the next view tries again.
			return forecastChart{Err: "the load history could not be read or forecast"}, err
		}
		return fc, nil
	})
	return fc
}

func (s *Server) buildForecast(ctx context.Context, commit, name string, sizing *meridian.Sizing) (forecastChart, error) {
	snap, err := s.opts.Configs.Load(ctx, commit)
	if err != nil {
		return forecastChart{}, fmt.Errorf("read the config at %s: %w", shortSHA(commit), err)
	}
	var w *meridian.Workload
	for i := range snap.Config.Workloads {
		if snap.Config.Workloads[i].Name == name {
			w = &snap.Config.Workloads[i]
		}
	}
	if w == nil {
		return forecastChart{}, meridian.Errorf(meridian.ENOTFOUND, "workload %q is not in the config at %s", name, shortSHA(commit))
	}
	src, ok, err := forecast.SourceFor(w, snap.Config.Settings, snap.FS, forecast.SourceOptions{})
	if err != nil || !ok {
		return forecastChart{}, fmt.Errorf("load history of %s: %w", name, err)
	}
	series, err := src.History(ctx)
	if err != nil {
		return forecastChart{}, fmt.Errorf("load history of %s: %w", name, err)
	}
	settings := snap.Config.Settings.Forecast
	if sizing.Quantile > 0 {
		settings.Quantile = sizing.Quantile
	}
	f, err := forecast.Predict(ctx, series, settings)
	if err != nil {
		return forecastChart{}, fmt.Errorf("forecast %s: %w", name, err)
	}
	upper, ok := f.Quantile(settings.Quantile)
	if !ok && len(f.Quantiles) > 0 {
		b := f.Quantiles[len(f.Quantiles)-1]
		upper, settings.Quantile = b.Values, b.Q
	}
	from := 0
	if n := int(forecastRecent / series.Step); n < len(series.Values) {
		from = len(series.Values) - n
	}
	actual := thin(series.Start, series.Step, series.Values, from)
	p50 := thin(f.Start, f.Step, f.P50, 0)
	band := []dashboard.Band{}
	if upper != nil {
		band = append(band, dashboard.Band{Name: "forecast P50 to P" + strconv.FormatFloat(100*settings.Quantile, 'f', -1, 64),
			Class: "band-forecast", Low: p50, High: thin(f.Start, f.Step, upper, 0)})
	}
	chart := dashboard.LineChart(720, 220, []dashboard.Series{
		{Name: "actual load", Class: "line-applied", Points: actual},
		{Name: "forecast P50", Class: "line-p50", Points: p50},
	}, band, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	return forecastChart{Chart: chart, Model: f.Model, Quantile: settings.Quantile}, nil
}

// thin turns values[from:] on a grid into at most forecastMaxPoints
// points, keeping each stride's maximum: a chart of load must not hide
// its peaks.
func thin(start time.Time, step time.Duration, values []float64, from int) []dashboard.Point {
	n := len(values) - from
	if n <= 0 {
		return nil
	}
	stride := max(1, (n+forecastMaxPoints-1)/forecastMaxPoints)
	var out []dashboard.Point
	for i := from; i < len(values); i += stride {
		peak, at := values[i], i
		for j := i + 1; j < min(i+stride, len(values)); j++ {
			if values[j] > peak {
				peak, at = values[j], j
			}
		}
		out = append(out, dashboard.Point{Time: start.Add(time.Duration(at) * step), Value: peak})
	}
	return out
}
