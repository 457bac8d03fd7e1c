package forecast

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"
)

// TestGuardSpikeAndShift compares each smoothing model's forecast with and
// without the outlier guard, after a disturbance at the end of the
// history: an isolated spike must move the guarded forecast by a small
// fraction of what it moves the unguarded one, and a level shift that
// persists must move both about equally. Expectations come from the same
// model without the guard, so they hold whatever it fits.
func TestGuardSpikeAndShift(t *testing.T) {
	base := synthetic(14*288, 100, 20, 2, 5).Values
	const jump = 200.0 // a hundred noise standard deviations
	spike := append([]float64(nil), base...)
	spike[len(spike)-2] += jump
	shift := append([]float64(nil), base...)
	for i := len(shift) - 24; i < len(shift); i++ {
		shift[i] += jump / 4
	}
	const h = 12
	// moved is the mean change of the forecast from the end of y against
	// the clean series, with the fitted model's guard or without it.
	moved := func(f *etsFit, y []float64, guarded bool) float64 {
		g := *f
		if !guarded {
			g.limit = math.Inf(1)
		}
		a, b := make([]float64, h), make([]float64, h)
		g.forecast(base, []int{len(base)}, h, a)
		g.forecast(y, []int{len(y)}, h, b)
		var d float64
		for i := range a {
			d += b[i] - a[i]
		}
		return d / h
	}
	for _, m := range []ets{{}, {trend: true}, {trend: true, m1: 288}, {trend: true, m1: 288, m2: 2016}} {
		f := m.fit(base[:12*288], nil).(*etsFit)
		t.Run(m.name(), func(t *testing.T) {
			if g, u := moved(f, spike, true), moved(f, spike, false); math.Abs(g) > 0.1*math.Abs(u) {
				t.Errorf("a 100σ spike moved the guarded forecast by %.3g, the unguarded by %.3g: want at most a tenth", g, u)
			}
			if g, u := moved(f, shift, true), moved(f, shift, false); g < 0.9*u || g > 1.1*u {
				t.Errorf("a two-hour level shift moved the guarded forecast by %.3g, the unguarded by %.3g: want about the same", g, u)
			}
		})
	}
}

// TestCalibrationFollowsNoiseDrop: when the noise falls to a quarter, the
// 80 % interval must narrow with it rather than keep the width learnt on
// the noisier days before; coverage is counted over many origins after the
// drop.
func TestCalibrationFollowsNoiseDrop(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 24 forecasts")
	}
	s := synthetic(18*288, 100, 20, 8, 11)
	calm := synthetic(18*288, 100, 20, 2, 12)
	drop := 12 * 288
	copy(s.Values[drop:], calm.Values[drop:])
	f := NewForecaster(Options{Quantiles: []float64{0.1, 0.9}})
	in, total := 0, 0
	for o := drop + 2*288; o+48 <= len(s.Values); o += 48 {
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
	if c := float64(in) / float64(total); c < 0.7 || c > 0.9 {
		t.Errorf("80 %% interval covers %.3f of %d outcomes after the noise dropped, want 0.70..0.90", c, total)
	}
}

// TestRobustnessFixes covers the failures the synthetic families of
// forecast/eval found, each on the smallest series that shows it.
func TestRobustnessFixes(t *testing.T) {
	t.Run("log model outside its domain", func(t *testing.T) {
		// Positive while fitted, then the series crosses zero (a net flow,
		// a drifting counter): the log model cannot describe it, so it must
		// report an undefined forecast, which validation drops, not one
		// that explodes on the way back from the log scale.
		y := synthetic(6*288, 50, 20, 2, 3).Values
		for i := 4 * 288; i < len(y); i++ {
			y[i] -= 80
		}
		fit := logModel{ets{trend: true, m1: 288}}.fit(y[:4*288], nil)
		out := make([]float64, 48)
		fit.forecast(y, []int{len(y)}, 48, out)
		if allFinite(out) {
			t.Errorf("log model forecast %v from a series below its domain, want NaN", out[:4])
		}
		fc, err := NewForecaster(Options{}).Forecast(context.Background(), Series{Step: 5 * time.Minute, Values: y})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range fc.P50 {
			if v < -200 || v > 100 {
				t.Fatalf("P50[%d] = %g for a series in [-50, 90]", i, v)
			}
		}
	})
	t.Run("spike in the seasonal start", func(t *testing.T) {
		// A half-hour burst of 8× on one day of five must not enter the
		// initial seasonal states: it would come back every day.
		y := synthetic(5*288, 100, 20, 1, 4).Values
		clean := ets{trend: true, m1: 288}.initStates(y)
		for i := 2*288 + 100; i < 2*288+106; i++ {
			y[i] *= 8
		}
		spiked := ets{trend: true, m1: 288}.initStates(y)
		for p := 100; p < 106; p++ {
			if d := math.Abs(spiked.s1[p] - clean.s1[p]); d > 5 {
				t.Errorf("seasonal state %d moved by %.1f with a spike on one day in five", p, d)
			}
		}
	})
	t.Run("short history keeps the seasonal models", func(t *testing.T) {
		// Three days: half of it for validation would leave the fit 1.5
		// days, too little for Holt-Winters.
		s := synthetic(3*288, 100, 30, 2, 5)
		fc, err := NewForecaster(Options{}).Forecast(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(fc.Components, func(c Component) bool { return c.Model == "hw-damped" }) {
			t.Errorf("components of a three-day forecast %s lack hw-damped", fc.Model)
		}
	})
}
