package forecast

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestSize(t *testing.T) {
	fc := &Forecast{
		Model: "hw-damped",
		P50:   []float64{100, 180, 150},
		Quantiles: []Band{
			{Q: 0.8, Values: []float64{120, 200, 170}},
			{Q: 0.95, Values: []float64{130, 250, 190}},
		},
	}
	w := func(lo, hi int, capacity float64) *meridian.Workload {
		return &meridian.Workload{Replicas: meridian.ReplicaRange{Min: lo, Max: hi}, PerReplica: meridian.PerReplica{Capacity: capacity}}
	}
	cases := map[string]struct {
		reason string
		w      *meridian.Workload
		fc     *Forecast
		s      meridian.ForecastSettings
		want   meridian.Sizing
	}{
		"forecast": {
			reason: "ceil(250 / 50 × 1.2) = 6.",
			w:      w(1, 10, 50),
			fc:     fc,
			s:      meridian.ForecastSettings{Quantile: 0.95, Headroom: 0.2},
			want:   meridian.Sizing{Method: "forecast", Replicas: 6, Model: "hw-damped", PeakP50: 180, PeakPq: 250, Quantile: 0.95, Headroom: 0.2},
		},
		"exact": {
			reason: "250 / 50 = 5 exactly stays 5, not 6.",
			w:      w(1, 10, 50),
			fc:     fc,
			s:      meridian.ForecastSettings{Quantile: 0.95},
			want:   meridian.Sizing{Method: "forecast", Replicas: 5, Model: "hw-damped", PeakP50: 180, PeakPq: 250, Quantile: 0.95},
		},
		"clamped max": {
			reason: "replicas.max caps the forecast.",
			w:      w(1, 4, 50),
			fc:     fc,
			s:      meridian.ForecastSettings{Quantile: 0.95, Headroom: 0.2},
			want:   meridian.Sizing{Method: "forecast", Replicas: 4, Model: "hw-damped", PeakP50: 180, PeakPq: 250, Quantile: 0.95, Headroom: 0.2},
		},
		"clamped min": {
			reason: "replicas.min is a floor.",
			w:      w(8, 10, 50),
			fc:     fc,
			s:      meridian.ForecastSettings{Quantile: 0.95},
			want:   meridian.Sizing{Method: "forecast", Replicas: 8, Model: "hw-damped", PeakP50: 180, PeakPq: 250, Quantile: 0.95},
		},
		"nearest higher quantile": {
			reason: "A quantile the forecast lacks falls back to the next higher band.",
			w:      w(1, 0, 50),
			fc:     fc,
			s:      meridian.ForecastSettings{Quantile: 0.9},
			want:   meridian.Sizing{Method: "forecast", Replicas: 5, Model: "hw-damped", PeakP50: 180, PeakPq: 250, Quantile: 0.95},
		},
		"default quantile": {
			reason: "Quantile 0 means 0.95; max 0 means unbounded.",
			w:      w(1, 0, 10),
			fc:     fc,
			want:   meridian.Sizing{Method: "forecast", Replicas: 25, Model: "hw-damped", PeakP50: 180, PeakPq: 250, Quantile: 0.95},
		},
		"no capacity": {
			reason: "Without per-replica capacity load cannot be turned into replicas.",
			w:      w(2, 10, 0),
			fc:     fc,
			want:   meridian.Sizing{Method: "replicas.min", Replicas: 2},
		},
		"no forecast": {
			reason: "A workload without history keeps replicas.min.",
			w:      w(3, 10, 50),
			want:   meridian.Sizing{Method: "replicas.min", Replicas: 3},
		},
		"negative": {
			reason: "A negative forecast is no load, not negative replicas.",
			w:      w(0, 10, 50),
			fc:     &Forecast{P50: []float64{-5}, Quantiles: []Band{{Q: 0.95, Values: []float64{-1}}}},
			s:      meridian.ForecastSettings{Quantile: 0.95},
			want:   meridian.Sizing{Method: "forecast", Replicas: 0, Quantile: 0.95},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Size(tc.w, tc.fc, tc.s)); diff != "" {
				t.Errorf("%s\nSize() mismatch (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestStaticPeakReplicas(t *testing.T) {
	w := func(capacity float64, lo, hi int) *meridian.Workload {
		return &meridian.Workload{PerReplica: meridian.PerReplica{Capacity: capacity}, Replicas: meridian.ReplicaRange{Min: lo, Max: hi}}
	}
	cases := map[string]struct {
		w        *meridian.Workload
		history  []float64
		headroom float64
		want     int
	}{
		"peak plus headroom, rounded up": {w(100, 1, 0), []float64{50, 420, 90}, 0.2, 6}, // 420 × 1.2 / 100 = 5.04
		"exact fit stays":                {w(100, 1, 0), []float64{300}, 0, 3},
		"at least replicas.min":          {w(100, 4, 0), []float64{10}, 0, 4},
		"at most replicas.max":           {w(10, 1, 5), []float64{1000}, 0, 5},
		"no capacity: no static figure":  {w(0, 1, 0), []float64{1000}, 0, 0},
		"no history: no static figure":   {w(100, 1, 0), nil, 0, 0},
	}
	for name, tc := range cases {
		if got := StaticPeakReplicas(tc.w, tc.history, meridian.ForecastSettings{Headroom: tc.headroom}); got != tc.want {
			t.Errorf("%s: StaticPeakReplicas = %d, want %d", name, got, tc.want)
		}
	}
}
