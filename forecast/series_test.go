package forecast

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRegularize(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec int, v float64) Sample {
		return Sample{Time: t0.Add(time.Duration(sec) * time.Second), Value: v}
	}
	cases := map[string]struct {
		reason string
		in     []Sample
		want   Series
	}{
		"regular": {
			reason: "A regular series is returned as it is.",
			in:     []Sample{at(0, 1), at(300, 2), at(600, 3)},
			want:   Series{Start: t0, Step: 5 * time.Minute, Values: []float64{1, 2, 3}},
		},
		"unsorted": {
			reason: "Rows may come in any order; the grid is in time order.",
			in:     []Sample{at(600, 3), at(0, 1), at(300, 2)},
			want:   Series{Start: t0, Step: 5 * time.Minute, Values: []float64{1, 2, 3}},
		},
		"gap": {
			reason: "Empty slots are filled by linear interpolation between the nearest filled slots.",
			in:     []Sample{at(0, 0), at(300, 1), at(600, 2), at(1500, 5), at(1800, 6)},
			want:   Series{Start: t0, Step: 5 * time.Minute, Values: []float64{0, 1, 2, 3, 4, 5, 6}, Filled: 2},
		},
		"duplicates": {
			reason: "Rows that share a slot are averaged, including ones that round into it.",
			in:     []Sample{at(0, 1), at(300, 2), at(310, 4), at(600, 3), at(900, 5), at(1200, 6)},
			want:   Series{Start: t0, Step: 5 * time.Minute, Values: []float64{1, 3, 3, 5, 6}, Merged: 1},
		},
		"jitter": {
			reason: "The step is the median difference; jittered timestamps round to their slot.",
			in:     []Sample{at(0, 1), at(301, 2), at(598, 3), at(902, 4)},
			want:   Series{Start: t0, Step: 301 * time.Second, Values: []float64{1, 2, 3, 4}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Regularize(tc.in)
			if err != nil {
				t.Fatalf("Regularize: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nRegularize() mismatch (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestRegularizeTooFew(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for name, in := range map[string][]Sample{
		"empty":     nil,
		"one":       {{Time: t0, Value: 1}},
		"same time": {{Time: t0, Value: 1}, {Time: t0, Value: 2}},
	} {
		if _, err := Regularize(in); err == nil {
			t.Errorf("%s: Regularize succeeded, want an error: no step can be derived", name)
		}
	}
}

func TestSeriesEnd(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	s := Series{Start: t0, Step: time.Minute, Values: make([]float64, 10)}
	if got, want := s.End(), t0.Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("End() = %v, want %v: the first forecast step follows the last value", got, want)
	}
	if got, want := s.Span(), 9*time.Minute; got != want {
		t.Errorf("Span() = %v, want %v", got, want)
	}
}
