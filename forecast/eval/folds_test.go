package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// sineCSV is days of 30-minute noisy daily sine as a CSV file.
func sineCSV(days int, amp, sd float64, seed uint64) []byte {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range days * 48 {
		fmt.Fprintf(&b, "%s,%g\n", t0.Add(time.Duration(i)*30*time.Minute).Format("2006-01-02 15:04:05"),
			50+amp*math.Sin(2*math.Pi*float64(i)/48)+sd*rng.NormFloat64())
	}
	return []byte(b.String())
}

// TestRunFolds checks the leave-series-out bookkeeping: every series is
// held out exactly once, in fold name-index mod k, scored with constants
// from the grid, and its held-out scores are those of a plain evaluation
// with the same constants, so nothing of the held-out series leaks into
// the choice but its fold number.
func TestRunFolds(t *testing.T) {
	fsys := fstest.MapFS{
		"a.csv": {Data: sineCSV(10, 10, 1, 1)},
		"b.csv": {Data: sineCSV(10, 5, 3, 2)},
		"c.csv": {Data: sineCSV(10, 20, 2, 3)},
	}
	ctx := context.Background()
	rep, err := RunFolds(ctx, fsys, 2, Options{})
	if err != nil {
		t.Fatalf("RunFolds: %v", err)
	}
	var names []string
	for _, s := range rep.Series {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("held-out series = %v, want a, b, c once each", names)
	}
	index := map[string]int{"a": 0, "b": 1, "c": 2}
	for _, s := range rep.Series {
		if s.Fold != index[s.Name]%2 {
			t.Errorf("%s in fold %d, want %d", s.Name, s.Fold, index[s.Name]%2)
		}
		if !slices.Contains(ShrinkGrid(), s.Tuning.Shrink) || !slices.Contains(AdaptRateGrid(), s.Tuning.AdaptRate) {
			t.Errorf("%s tuned to %+v, outside the grid", s.Name, s.Tuning)
		}
		one, err := Run(ctx, fstest.MapFS{s.Name + ".csv": fsys[s.Name+".csv"]}, Options{Tuning: s.Tuning})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.Scores, one.Series[0].Scores; got != want {
			t.Errorf("%s held-out scores %+v, but evaluating it with %+v gives %+v", s.Name, got, s.Tuning, want)
		}
	}
	def, err := Run(ctx, fsys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.InSample != def.Mean {
		t.Errorf("in-sample mean %+v, want the default run's %+v", rep.InSample, def.Mean)
	}
	for _, k := range []int{1, 4} {
		if _, err := RunFolds(ctx, fsys, k, Options{}); err == nil {
			t.Errorf("RunFolds with %d folds over 3 series succeeded", k)
		}
	}
}

// TestDenseCalibration: on a daily cycle with Gaussian noise, the dense
// check must find the 80 % interval and the P95 near their nominal levels
// over every H/2 origin of the test region, and must not touch the
// protocol's scores.
func TestDenseCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("fits about 140 forecasts")
	}
	cases := []struct {
		name    string
		amp, sd float64
		seed    uint64
	}{
		{"strong cycle", 20, 2, 7},
		{"noise-dominated", 3, 5, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fsys := fstest.MapFS{"s.csv": {Data: sineCSV(60, tc.amp, tc.sd, tc.seed)}}
			dense, err := Run(ctx, fsys, Options{Dense: true})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := Run(ctx, fsys, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if dense.Series[0].Scores != plain.Series[0].Scores {
				t.Errorf("--dense changed the protocol's scores: %+v, without %+v", dense.Series[0].Scores, plain.Series[0].Scores)
			}
			d := dense.Series[0].Dense
			if d == nil || dense.Dense == nil {
				t.Fatal("no dense scores")
			}
			t.Logf("%d dense origins: 80 %% coverage %.3f, at or below P95 %.3f", d.Origins, d.Coverage80, d.BelowP95)
			// 60 days of 30-minute points, H = 8: origins every 4 steps from
			// T0 = 2304 while T0 + 8 ≤ 2880.
			if want := (2880-8-2304)/4 + 1; d.Origins != want {
				t.Errorf("%d dense origins, want %d", d.Origins, want)
			}
			if d.Coverage80 < 0.74 || d.Coverage80 > 0.86 {
				t.Errorf("dense 80 %% coverage %.3f, want 0.74..0.86", d.Coverage80)
			}
			if d.BelowP95 < 0.91 || d.BelowP95 > 0.98 {
				t.Errorf("dense share at or below the P95 %.3f, want 0.91..0.98", d.BelowP95)
			}
		})
	}
}
