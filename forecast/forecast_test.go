package forecast

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
)

// synthetic returns n points at 5 minutes of a daily sine around level with
// Gaussian noise of standard deviation sd.
func synthetic(n int, level, amp, sd float64, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	y := make([]float64, n)
	for i := range y {
		y[i] = level + amp*math.Sin(2*math.Pi*float64(i)/288) + sd*rng.NormFloat64()
	}
	return Series{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute, Values: y}
}

func TestForecastShape(t *testing.T) {
	s := synthetic(10*288, 100, 20, 2, 1)
	fc, err := NewForecaster(Options{Horizon: 2 * time.Hour, Quantiles: []float64{0.9, 0.1, 0.9}}).Forecast(context.Background(), s)
	if err != nil {
		t.Fatalf("Forecast: %v", err)
	}
	if len(fc.P50) != 24 || !fc.Start.Equal(s.End()) || fc.Step != s.Step {
		t.Fatalf("Forecast has %d steps from %v at %v, want 24 from %v at %v", len(fc.P50), fc.Start, fc.Step, s.End(), s.Step)
	}
	if len(fc.Quantiles) != 2 || fc.Quantiles[0].Q != 0.1 || fc.Quantiles[1].Q != 0.9 {
		t.Fatalf("Quantiles = %+v, want 0.1 and 0.9 once each, ascending", fc.Quantiles)
	}
	lo, _ := fc.Quantile(0.1)
	hi, _ := fc.Quantile(0.9)
	for i := range fc.P50 {
		if !(lo[i] <= fc.P50[i] && fc.P50[i] <= hi[i]) {
			t.Errorf("step %d: P10 %g, P50 %g, P90 %g are out of order", i+1, lo[i], fc.P50[i], hi[i])
		}
		truth := 100 + 20*math.Sin(2*math.Pi*float64(len(s.Values)+i)/288)
		if math.Abs(fc.P50[i]-truth) > 3 {
			t.Errorf("step %d: P50 %g, want %g ± 3 (noise sd 2): the daily season must be forecast", i+1, fc.P50[i], truth)
		}
	}
	var sum float64
	for _, c := range fc.Components {
		sum += c.Weight
	}
	if math.Abs(sum-1) > 1e-9 || fc.Components[0].Model == "naive" || fc.Model == "" {
		t.Errorf("components %+v: weights must sum to 1 and a seasonal model lead", fc.Components)
	}
	if _, ok := fc.Quantile(0.95); ok {
		t.Error("Quantile(0.95) found a band that was not requested")
	}
}

func TestForecastLevelBeatsSeason(t *testing.T) {
	// A random walk has no season: the validation must weigh the level
	// models above the seasonal ones. The robust default gets its share
	// whatever the validation says, so it counts on neither side.
	rng := rand.New(rand.NewPCG(3, 4))
	y := make([]float64, 14*288)
	v := 1000.0
	for i := range y {
		v += rng.NormFloat64() * 5
		y[i] = v
	}
	fc, err := Predict(context.Background(), Series{Start: time.Unix(0, 0), Step: 5 * time.Minute, Values: y}, meridian.ForecastSettings{})
	if err != nil {
		t.Fatal(err)
	}
	var level, seasonal float64
	for _, c := range fc.Components {
		switch c.Model {
		case RobustDefault:
		case "naive", "ses", "holt-damped", "log-ses", "log-holt-damped":
			level += c.Weight
		default:
			seasonal += c.Weight
		}
	}
	if level <= seasonal {
		t.Errorf("level models weigh %.2f, seasonal %.2f on a random walk: %s", level, seasonal, fc.Model)
	}
}

func TestForecastCalibration(t *testing.T) {
	// Over many origins of a stationary noisy seasonal series, the 80 %
	// interval must cover about 80 % of the outcomes.
	if testing.Short() {
		t.Skip("fits 20 forecasts")
	}
	s := synthetic(16*288, 100, 20, 5, 9)
	f := NewForecaster(Options{Quantiles: []float64{0.1, 0.9}})
	in, total := 0, 0
	for o := 12 * 288; o+48 <= len(s.Values); o += 48 {
		fc, err := f.Forecast(context.Background(), Series{Start: s.Start, Step: s.Step, Values: s.Values[:o]})
		if err != nil {
			t.Fatal(err)
		}
		lo, _ := fc.Quantile(0.1)
		hi, _ := fc.Quantile(0.9)
		for i, y := range s.Values[o : o+48] {
			if lo[i] <= y && y <= hi[i] {
				in++
			}
			total++
		}
	}
	if c := float64(in) / float64(total); c < 0.72 || c > 0.88 {
		t.Errorf("80 %% interval covers %.3f of %d outcomes, want 0.72..0.88", c, total)
	}
}

func TestForecastShortAndFlat(t *testing.T) {
	cases := map[string][]float64{
		"constant": make([]float64, 3*288),
		"short":    {1, 2, 3, 4, 5},
		"two":      {7, 7},
	}
	for name, y := range cases {
		fc, err := Predict(context.Background(), Series{Start: time.Unix(0, 0), Step: 5 * time.Minute, Values: y}, meridian.ForecastSettings{Horizon: time.Hour})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		hi, ok := fc.Quantile(0.95)
		if !ok || len(fc.P50) != 12 {
			t.Fatalf("%s: %d steps, P95 %v", name, len(fc.P50), ok)
		}
		for i := range fc.P50 {
			if math.IsNaN(fc.P50[i]) || math.IsNaN(hi[i]) || hi[i] < fc.P50[i] {
				t.Fatalf("%s: step %d: P50 %g, P95 %g", name, i+1, fc.P50[i], hi[i])
			}
		}
	}
}

func TestForecastErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := synthetic(3*288, 10, 1, 1, 1)
	if _, err := Predict(ctx, s, meridian.ForecastSettings{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v, want context.Canceled", err)
	}
	bad := s
	bad.Values = append([]float64{math.NaN()}, s.Values...)
	if _, err := Predict(context.Background(), bad, meridian.ForecastSettings{}); err == nil {
		t.Error("NaN value: Predict succeeded")
	}
	if _, err := Predict(context.Background(), Series{Values: s.Values}, meridian.ForecastSettings{}); err == nil {
		t.Error("zero step: Predict succeeded")
	}
}

func TestWarmStartAgrees(t *testing.T) {
	// A warm start may land on a slightly different optimum, never on a
	// different forecast.
	s := synthetic(10*288, 100, 20, 3, 5)
	warm := NewForecaster(Options{})
	if _, err := warm.Forecast(context.Background(), Series{Start: s.Start, Step: s.Step, Values: s.Values[:len(s.Values)-100]}); err != nil {
		t.Fatal(err)
	}
	a, err := warm.Forecast(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewForecaster(Options{}).Forecast(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.P50 {
		if math.Abs(a.P50[i]-b.P50[i]) > 0.5 {
			t.Errorf("step %d: warm %g, cold %g", i+1, a.P50[i], b.P50[i])
		}
	}
}
