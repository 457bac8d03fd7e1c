package planner

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/forecast"
)

// Strategies compared by Simulate, in report order.
const (
	StrategyStatic   = "static-peak"
	StrategyReactive = "reactive"
	StrategyForecast = "forecast"
	StrategyOracle   = "oracle"
)

// SimulationInput is a config repo plus the load series to replay.
type SimulationInput struct {
	Input
	// Series maps workload name to its full load history.
	Series map[string]forecast.Series
	// Replan is the window between re-plans (default 4h).
	Replan time.Duration
}

// Simulation is the outcome of replaying load against four provisioning
// strategies.
type Simulation struct {
	Workloads []string `json:"workloads"`
	Windows   int      `json:"windows"`
	// Replan is the window length, e.g. "4h0m0s".
	Replan     string            `json:"replan"`
	Strategies []StrategyOutcome `json:"strategies"`
}

// StrategyOutcome is what one strategy paid and delivered.
type StrategyOutcome struct {
	Name string `json:"name"`
	// Cost is what the replayed workloads' placements cost over all windows,
	// at catalog prices, pro rata from the monthly cost (730 h).
	Cost meridian.Money `json:"cost"`
	// CostVsStatic is the relative change against static peak provisioning.
	CostVsStatic float64 `json:"cost_vs_static_percent"`
	// SLA is the share of slots in which provisioned capacity was at least
	// the actual load (served demand), in percent.
	SLA    float64 `json:"sla_percent"`
	Slots  int     `json:"slots"`
	Served int     `json:"served"`
	// MeanReplicas is the average total replicas per workload and window.
	MeanReplicas float64 `json:"mean_replicas"`
}

type simSeries struct {
	w      *meridian.Workload
	s      forecast.Series
	t0     int // first slot of the replayed region
	window int // slots per window
	fc     *forecast.Forecaster
}

// Simulate replays each series' final 20% in Replan windows. Every window,
// each strategy sizes the replayed workloads, the whole config is placed
// with the real catalog, and the strategy pays for what it provisioned;
// then the window's actual load is checked against that capacity.
//
//   - static-peak sizes once for the historical peak plus headroom;
//   - reactive sizes for the last observed value plus headroom;
//   - forecast sizes for the forecast's upper quantile plus headroom, as
//     `meridian plan` does;
//   - oracle sizes for the window's true peak with no headroom: the lower
//     limit of what any strategy could pay at 100% served demand.
func (p *Planner) Simulate(ctx context.Context, in SimulationInput) (*Simulation, error) {
	if in.Replan <= 0 {
		in.Replan = 4 * time.Hour
	}
	settings := in.Config.Settings.Forecast
	var series []*simSeries
	windows := math.MaxInt
	for i := range in.Config.Workloads {
		w := &in.Config.Workloads[i]
		s, ok := in.Series[w.Name]
		if !ok {
			continue
		}
		if w.PerReplica.Capacity <= 0 {
			return nil, fmt.Errorf("simulate %s: per_replica.capacity must be positive to turn load into replicas", w.Name)
		}
		n := len(s.Values)
		win := int(in.Replan / s.Step)
		if win < 1 {
			return nil, fmt.Errorf("simulate %s: replan %s is shorter than the series step %s", w.Name, in.Replan, s.Step)
		}
		t0 := 4 * n / 5
		windows = min(windows, (n-t0)/win)
		series = append(series, &simSeries{w: w, s: s, t0: t0, window: win,
			fc: forecast.NewForecaster(forecast.Options{Horizon: in.Replan, Quantiles: []float64{settings.Quantile}})})
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("simulate: no workload has load history to replay")
	}
	if windows < 1 {
		return nil, fmt.Errorf("simulate: the shortest series has less than one %s window in its final 20%%", in.Replan)
	}
	names := make([]string, len(series))
	for i, ss := range series {
		names[i] = ss.w.Name
	}
	sort.Strings(names)

	strategies := []string{StrategyStatic, StrategyReactive, StrategyForecast, StrategyOracle}
	out := make([]StrategyOutcome, len(strategies))
	for i, s := range strategies {
		out[i].Name = s
	}
	hours := in.Replan.Hours()
	for k := range windows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for si, strategy := range strategies {
			fixed := map[string]meridian.Sizing{}
			for _, ss := range series {
				r, err := ss.replicas(ctx, strategy, k, settings)
				if err != nil {
					return nil, err
				}
				fixed[ss.w.Name] = meridian.Sizing{Method: strategy, Replicas: r}
			}
			plan, err := p.planWith(ctx, in.Input, fixedSizer(fixed))
			if err != nil {
				return nil, fmt.Errorf("simulate window %d (%s): %w", k, strategy, err)
			}
			provisioned := map[string]int{}
			for _, pl := range plan.Placements {
				if _, ok := fixed[pl.Workload]; ok {
					provisioned[pl.Workload] += pl.Replicas
					out[si].Cost += pl.MonthlyCost * meridian.Money(hours/meridian.HoursPerMonth)
				}
			}
			for _, ss := range series {
				capacity := float64(provisioned[ss.w.Name]) * ss.w.PerReplica.Capacity
				start := ss.t0 + k*ss.window
				for _, v := range ss.s.Values[start : start+ss.window] {
					out[si].Slots++
					if capacity >= v {
						out[si].Served++
					}
				}
				out[si].MeanReplicas += float64(provisioned[ss.w.Name])
			}
		}
	}
	for i := range out {
		o := &out[i]
		o.SLA = 100 * float64(o.Served) / float64(max(o.Slots, 1))
		o.MeanReplicas /= float64(windows * len(series))
		if base := out[0].Cost; base > 0 {
			o.CostVsStatic = 100 * float64(o.Cost-base) / float64(base)
		}
	}
	return &Simulation{Workloads: names, Windows: windows, Replan: in.Replan.String(), Strategies: out}, nil
}

// replicas is what strategy provisions for window k.
func (ss *simSeries) replicas(ctx context.Context, strategy string, k int, fs meridian.ForecastSettings) (int, error) {
	start := ss.t0 + k*ss.window
	vals := ss.s.Values
	size := func(load, headroom float64) int {
		r := int(math.Ceil(load/ss.w.PerReplica.Capacity*(1+headroom) - 1e-9))
		total, _ := ss.w.SplitReplicas(r)
		return total
	}
	switch strategy {
	case StrategyStatic:
		return size(peakOf(vals[:ss.t0]), fs.Headroom), nil
	case StrategyReactive:
		return size(vals[start-1], fs.Headroom), nil
	case StrategyOracle:
		return size(peakOf(vals[start:start+ss.window]), 0), nil
	case StrategyForecast:
		hist := ss.s
		hist.Values = vals[:start]
		fc, err := ss.fc.Forecast(ctx, hist)
		if err != nil {
			return 0, fmt.Errorf("forecast %s at window %d: %w", ss.w.Name, k, err)
		}
		sz := forecast.Size(ss.w, fc, fs)
		total, _ := ss.w.SplitReplicas(sz.Replicas)
		return total, nil
	}
	return 0, fmt.Errorf("unknown strategy %q", strategy)
}

func peakOf(xs []float64) float64 {
	p := math.Inf(-1)
	for _, v := range xs {
		p = max(p, v)
	}
	return p
}

// fixedSizer sizes the named workloads as given and the rest at
// replicas.min.
type fixedSizer map[string]meridian.Sizing

func (f fixedSizer) Size(ctx context.Context, in *Input, w *meridian.Workload) (meridian.Sizing, []meridian.Finding) {
	if s, ok := f[w.Name]; ok {
		return s, nil
	}
	return MinSizer{}.Size(ctx, in, w)
}

// planWith plans with a different sizer, leaving p untouched.
func (p *Planner) planWith(ctx context.Context, in Input, s Sizer) (*meridian.Plan, error) {
	q := *p
	q.sizer = s
	return q.Plan(ctx, in)
}
