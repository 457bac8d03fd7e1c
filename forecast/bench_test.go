package forecast

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
)

// benchSeries is 15,831 points at 5 minutes (the length of the dev set's
// Twitter series): a daily and a weekly cycle with level-proportional noise.
func benchSeries() Series {
	rng := rand.New(rand.NewPCG(42, 42))
	y := make([]float64, 15831)
	for i := range y {
		day := math.Sin(2 * math.Pi * float64(i) / 288)
		week := 0.3 * math.Sin(2*math.Pi*float64(i)/2016)
		mu := 50 * (1 + 0.5*day + week)
		y[i] = mu + math.Sqrt(mu)*rng.NormFloat64()
	}
	return Series{Start: time.Unix(0, 0).UTC(), Step: 5 * time.Minute, Values: y}
}

// BenchmarkFit measures one cold fit of each exponential-smoothing model on
// the 15k-point series (Nelder-Mead from the default start).
func BenchmarkFit(b *testing.B) {
	y := benchSeries().Values
	for _, e := range []ets{{}, {trend: true}, {trend: true, m1: 288}, {trend: true, m1: 288, m2: 2016}} {
		e.maxEval = 1000
		b.Run(e.name(), func(b *testing.B) {
			for b.Loop() {
				e.fit(y, nil)
			}
		})
	}
}

// BenchmarkForecastCold is what a planner pays per workload: every model
// fitted from scratch, validated, combined.
func BenchmarkForecastCold(b *testing.B) {
	s := benchSeries()
	for b.Loop() {
		if _, err := Predict(context.Background(), s, meridian.ForecastSettings{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForecastWarm is a rolling evaluation: each forecast starts the
// optimiser from the previous origin's parameters, origins 346 points
// apart as in the dev set's protocol.
func BenchmarkForecastWarm(b *testing.B) {
	s := benchSeries()
	f := NewForecaster(Options{Quantiles: []float64{0.1, 0.9}})
	i := 0
	for b.Loop() {
		n := 12664 + (i%10)*346
		i++
		if _, err := f.Forecast(context.Background(), Series{Start: s.Start, Step: s.Step, Values: s.Values[:n]}); err != nil {
			b.Fatal(err)
		}
	}
}
