package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/meridianhq/meridian/forecast"
)

// Options tune an evaluation. Zero values mean the protocol's settings.
type Options struct {
	// Cold makes every origin fit from scratch instead of starting the
	// optimiser from the previous origin's parameters. It changes timing
	// (and, slightly, the fitted parameters), never which data is used.
	Cold bool
	// Tuning overrides the forecaster's constants (see RunFolds).
	Tuning forecast.Tuning
	// Dense also scores the intervals at origins every H/2 over the whole
	// test region (see DenseScores).
	Dense bool
}

// Protocol constants, from shared/data/forecast/README.md.
const (
	horizon  = 4 * time.Hour
	season   = 24 * time.Hour
	origins  = 10
	coverage = 0.8
	// z80 is the standard normal 90 % quantile, for the baselines' normal
	// 80 % intervals.
	z80 = 1.2815515655446004
)

// Report is the outcome of an evaluation over a folder of series.
type Report struct {
	// Series and Mean are Meridian's automatic method.
	Series []SeriesResult `json:"series"`
	Mean   Scores         `json:"mean"`
	// Baselines holds the protocol's naive and seasonal-naive rows, which
	// must reproduce REFERENCE.md.
	Baselines map[string]Baseline `json:"baselines"`
	// Dense is the mean of the series' dense scores (Origins: their
	// total), with Options.Dense.
	Dense *DenseScores `json:"dense_mean,omitempty"`
}

// DenseScores check the calibration at origins every H/2 over the whole
// test region, instead of the protocol's ten. The H steps of one origin are
// strongly correlated, so ten origins leave a series' coverage uncertain
// by several points; a few hundred pin it down. MASE is not repeated here:
// the protocol's figure is the benchmark.
type DenseScores struct {
	Origins int `json:"origins"`
	// Coverage80 is the share of outcomes inside the 80 % interval;
	// BelowP95 the share at or below the 95 % quantile, the default sizing
	// quantile.
	Coverage80 Metric `json:"coverage80"`
	BelowP95   Metric `json:"below_p95"`
}

// Baseline is one reference method's results.
type Baseline struct {
	Series []SeriesResult `json:"series"`
	Mean   Scores         `json:"mean"`
}

// Baseline names, as they appear in Report.Baselines.
const (
	Naive         = "naive"
	SeasonalNaive = "seasonal_naive"
)

// Scores are accuracy and calibration averaged over origins (or series).
type Scores struct {
	MASE       Metric `json:"mase"`
	SMAPE      Metric `json:"smape"`
	Coverage80 Metric `json:"coverage80"`
}

// Metric is a score. It is a float64 whose JSON form is null when the
// score is undefined (NaN or infinite, e.g. MASE on a training part
// without variation), which plain float64 fields cannot encode.
type Metric float64

// MarshalJSON implements json.Marshaler.
func (m Metric) MarshalJSON() ([]byte, error) {
	f := float64(m)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// SeriesResult is one series' scores, each the mean over its origins.
type SeriesResult struct {
	Name string `json:"name"`
	Scores
	// FitSeconds is the mean wall time per origin of fit, selection and
	// forecast; CPUSeconds the mean CPU time of the process over the same
	// calls, which a busy machine inflates less.
	FitSeconds float64 `json:"fit_seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// N is the length of the regular grid, Step its spacing in seconds.
	N    int     `json:"n"`
	Step float64 `json:"step_seconds"`
	// Origins are the forecast origins (grid indices).
	Origins []int `json:"origins"`
	// PerOrigin holds the scores at each origin.
	PerOrigin []Scores `json:"per_origin"`
	// Models counts the heaviest component of the combination at each
	// origin, leaving out the robust default (see leading).
	Models map[string]int `json:"models,omitempty"`
	// Dense is set with Options.Dense.
	Dense *DenseScores `json:"dense,omitempty"`
	// BelowP95 is the share of outcomes at or below the 95 % quantile at
	// the protocol's origins, the default sizing quantile; automatic
	// method only.
	BelowP95 Metric `json:"below_p95,omitempty"`
}

// Run evaluates every *.csv file directly in fsys, in name order.
func Run(ctx context.Context, fsys fs.FS, opts Options) (*Report, error) {
	data, err := readAll(fsys)
	if err != nil {
		return nil, err
	}
	return evaluate(ctx, data, opts)
}

// namedSeries is one series of the data folder.
type namedSeries struct {
	file, name string
	s          forecast.Series
}

// readAll reads every *.csv file directly in fsys, in name order.
func readAll(fsys fs.FS) ([]namedSeries, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("eval: list data: %w", err)
	}
	var out []namedSeries
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(path.Ext(e.Name()), ".csv") {
			continue
		}
		s, err := readSeries(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, namedSeries{file: e.Name(), name: strings.TrimSuffix(e.Name(), path.Ext(e.Name())), s: s})
	}
	if len(out) == 0 {
		return nil, errors.New("eval: no *.csv files in the data folder")
	}
	return out, nil
}

// evaluate runs the protocol on every series of data.
func evaluate(ctx context.Context, data []namedSeries, opts Options) (*Report, error) {
	rep := &Report{Baselines: map[string]Baseline{}}
	var nv, sn Baseline
	for _, d := range data {
		auto, base, err := EvaluateSeries(ctx, d.name, d.s, opts)
		if err != nil {
			return nil, fmt.Errorf("eval %s: %w", d.file, err)
		}
		rep.Series = append(rep.Series, auto)
		nv.Series = append(nv.Series, base[Naive])
		sn.Series = append(sn.Series, base[SeasonalNaive])
	}
	rep.Mean = meanScores(rep.Series)
	if opts.Dense {
		rep.Dense = &DenseScores{}
		for _, sr := range rep.Series {
			rep.Dense.Origins += sr.Dense.Origins
			rep.Dense.Coverage80 += sr.Dense.Coverage80 / Metric(len(rep.Series))
			rep.Dense.BelowP95 += sr.Dense.BelowP95 / Metric(len(rep.Series))
		}
	}
	nv.Mean, sn.Mean = meanScores(nv.Series), meanScores(sn.Series)
	rep.Baselines[Naive], rep.Baselines[SeasonalNaive] = nv, sn
	return rep, nil
}

func readSeries(fsys fs.FS, name string) (forecast.Series, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return forecast.Series{}, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	samples, err := forecast.ReadCSV(f, name)
	if err != nil {
		return forecast.Series{}, err
	}
	s, err := forecast.Regularize(samples)
	if err != nil {
		return forecast.Series{}, fmt.Errorf("eval %s: %w", name, err)
	}
	return s, nil
}

// Grid returns the protocol's season m, horizon H and origins for a series
// of n points at step.
func Grid(n int, step time.Duration) (m, h int, orig []int, err error) {
	m = max(1, int(math.Round(season.Seconds()/step.Seconds())))
	h = max(1, int(math.Round(horizon.Seconds()/step.Seconds())))
	t0 := 4 * n / 5
	if n-h < t0 || t0 <= m {
		return 0, 0, nil, fmt.Errorf("%d points are too few for the protocol (season %d, horizon %d)", n, m, h)
	}
	for j := range origins {
		orig = append(orig, t0+j*(n-h-t0)/(origins-1))
	}
	return m, h, orig, nil
}

// EvaluateSeries runs the protocol on one regular series: Meridian's
// automatic method, and the naive and seasonal-naive baselines keyed by
// Naive and SeasonalNaive.
func EvaluateSeries(ctx context.Context, name string, s forecast.Series, opts Options) (SeriesResult, map[string]SeriesResult, error) {
	y := s.Values
	n := len(y)
	m, h, orig, err := Grid(n, s.Step)
	if err != nil {
		return SeriesResult{}, nil, err
	}
	mk := func() SeriesResult {
		return SeriesResult{Name: name, N: n, Step: s.Step.Seconds(), Origins: orig}
	}
	auto, nv, sn := mk(), mk(), mk()
	auto.Models = map[string]int{}
	fopts := forecast.Options{
		Horizon: time.Duration(h) * s.Step,
		// The 95 % quantile is calibrated on its own, so asking for it
		// leaves the 80 % interval unchanged.
		Quantiles: []float64{(1 - coverage) / 2, (1 + coverage) / 2, 0.95},
		Tuning:    opts.Tuning,
	}
	fc := forecast.NewForecaster(fopts)
	var elapsed, cpu time.Duration
	below := 0
	f, lo, hi := make([]float64, h), make([]float64, h), make([]float64, h)
	for _, o := range orig {
		train := y[:o]
		actual := y[o : o+h]
		scale := maseScale(train, m)

		if opts.Cold {
			fc = forecast.NewForecaster(fopts)
		}
		start, cpu0 := time.Now(), cpuTime()
		out, err := fc.Forecast(ctx, forecast.Series{Start: s.Start, Step: s.Step, Values: train})
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		if err != nil {
			return SeriesResult{}, nil, fmt.Errorf("origin %d: %w", o, err)
		}
		l, _ := out.Quantile(fopts.Quantiles[0])
		u, _ := out.Quantile(fopts.Quantiles[1])
		p95, _ := out.Quantile(fopts.Quantiles[2])
		for i, v := range actual {
			if v <= p95[i] {
				below++
			}
		}
		auto.PerOrigin = append(auto.PerOrigin, score(actual, out.P50, l, u, scale))
		auto.Models[leading(out.Components)]++

		naiveForecast(train, h, f, lo, hi)
		nv.PerOrigin = append(nv.PerOrigin, score(actual, f, lo, hi, scale))
		seasonalNaiveForecast(train, m, h, f, lo, hi)
		sn.PerOrigin = append(sn.PerOrigin, score(actual, f, lo, hi, scale))
	}
	for _, r := range []*SeriesResult{&auto, &nv, &sn} {
		r.Scores = meanOf(r.PerOrigin)
	}
	k := float64(len(orig))
	auto.FitSeconds = elapsed.Seconds() / k
	auto.CPUSeconds = cpu.Seconds() / k
	auto.BelowP95 = Metric(float64(below) / (k * float64(h)))
	if opts.Dense {
		d, err := denseScores(ctx, s, h, orig[0], opts.Tuning)
		if err != nil {
			return SeriesResult{}, nil, err
		}
		auto.Dense = &d
	}
	return auto, map[string]SeriesResult{Naive: nv, SeasonalNaive: sn}, nil
}

// denseScores forecasts s at every H/2 steps from t0 while a whole horizon
// fits, and scores the 80 % interval and the 95 % quantile.
func denseScores(ctx context.Context, s forecast.Series, h, t0 int, tune forecast.Tuning) (DenseScores, error) {
	y := s.Values
	qs := []float64{(1 - coverage) / 2, (1 + coverage) / 2, 0.95}
	fc := forecast.NewForecaster(forecast.Options{Horizon: time.Duration(h) * s.Step, Quantiles: qs, Tuning: tune})
	var d DenseScores
	in, below, all := 0, 0, 0
	for o := t0; o+h <= len(y); o += max(1, h/2) {
		out, err := fc.Forecast(ctx, forecast.Series{Start: s.Start, Step: s.Step, Values: y[:o]})
		if err != nil {
			return DenseScores{}, fmt.Errorf("dense origin %d: %w", o, err)
		}
		lo, _ := out.Quantile(qs[0])
		hi, _ := out.Quantile(qs[1])
		p95, _ := out.Quantile(qs[2])
		for i, v := range y[o : o+h] {
			if lo[i] <= v && v <= hi[i] {
				in++
			}
			if v <= p95[i] {
				below++
			}
			all++
		}
		d.Origins++
	}
	d.Coverage80 = Metric(float64(in) / float64(all))
	d.BelowP95 = Metric(float64(below) / float64(all))
	return d, nil
}

// leading is the heaviest component that validation chose: the robust
// default gets a fixed share on every series, so it says nothing about the
// series unless it is all there is.
func leading(cs []forecast.Component) string {
	for _, c := range cs {
		if c.Model != forecast.RobustDefault {
			return c.Model
		}
	}
	return cs[0].Model
}

func meanScores(rs []SeriesResult) Scores {
	ss := make([]Scores, len(rs))
	for i, r := range rs {
		ss[i] = r.Scores
	}
	return meanOf(ss)
}

// meanOf is the arithmetic mean of each score.
func meanOf(ss []Scores) Scores {
	var out Scores
	for _, s := range ss {
		out.MASE += s.MASE
		out.SMAPE += s.SMAPE
		out.Coverage80 += s.Coverage80
	}
	k := Metric(len(ss))
	return Scores{MASE: out.MASE / k, SMAPE: out.SMAPE / k, Coverage80: out.Coverage80 / k}
}

// ModelNames returns the models of r sorted by how often they were chosen.
func (r SeriesResult) ModelNames() []string {
	names := make([]string, 0, len(r.Models))
	for n := range r.Models {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := r.Models[b] - r.Models[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return names
}
