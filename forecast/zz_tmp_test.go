package forecast

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestTmpAuto(t *testing.T) {
	f, _ := os.Open("/work/shared/data/forecast/Twitter_volume_AMZN.csv")
	ss, _ := ReadCSV(f, "x")
	s, _ := Regularize(ss)
	fc := NewForecaster(Options{Quantiles: []float64{0.1, 0.9}})
	for _, o := range []int{12664, 13010, 13357, 13703} {
		t0 := time.Now()
		evalCount = 0
		r, err := fc.Forecast(context.Background(), Series{Start: s.Start, Step: s.Step, Values: s.Values[:o]})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("warm %d: %v evals=%d %s", o, time.Since(t0), evalCount, r.Model)
		t0 = time.Now()
		evalCount = 0
		_, _ = NewForecaster(Options{Quantiles: []float64{0.1, 0.9}}).Forecast(context.Background(), Series{Start: s.Start, Step: s.Step, Values: s.Values[:o]})
		t.Logf("cold %d: %v evals=%d", o, time.Since(t0), evalCount)
	}
}

func BenchmarkTmpWarm(b *testing.B) {
	f, _ := os.Open("/work/shared/data/forecast/Twitter_volume_AMZN.csv")
	ss, _ := ReadCSV(f, "x")
	s, _ := Regularize(ss)
	fc := NewForecaster(Options{Quantiles: []float64{0.1, 0.9}})
	for b.Loop() {
		_, _ = fc.Forecast(context.Background(), Series{Start: s.Start, Step: s.Step, Values: s.Values[:13010]})
	}
}
