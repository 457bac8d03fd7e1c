package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/meridianhq/meridian"
)

// slaForecast has a flat P50 with errors drawn from a heavy right tail, so
// that the SLA capacity sits well above any fixed quantile.
func slaForecast(seed uint64) *Forecast {
	rng := rand.New(rand.NewPCG(seed, 1))
	fc := &Forecast{Model: "test", P50: []float64{100, 120, 110, 90}}
	for range fc.P50 {
		es := make([]float64, 300)
		for k := range es {
			es[k] = 10 * rng.NormFloat64()
			if rng.Float64() < 0.02 {
				es[k] += 80 * rng.ExpFloat64()
			}
		}
		slices.Sort(es)
		fc.Errors = append(fc.Errors, es)
	}
	fc.Quantiles = []Band{{Q: 0.95, Values: []float64{130, 150, 140, 120}}}
	return fc
}

// TestSizeForSLA checks the contract of SLA sizing against the forecast's
// own error distribution: the replicas chosen keep the expected unserved
// demand within 100 − SLA percent, one replica fewer would not, and the
// reported figure is the expected unserved demand at the chosen capacity.
func TestSizeForSLA(t *testing.T) {
	cases := map[string]struct {
		reason string
		sla    float64
		cap    float64
		seed   uint64
	}{
		"99.95 fine":  {reason: "Small replicas make the rounding matter little, so minimality is tight.", sla: 99.95, cap: 5, seed: 1},
		"99.95 whole": {reason: "Large replicas: the ceiling dominates, and still one fewer must miss the SLA.", sla: 99.95, cap: 40, seed: 2},
		"99":          {reason: "A looser SLA needs less capacity than a strict one on the same forecast.", sla: 99, cap: 5, seed: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fc := slaForecast(tc.seed)
			w := &meridian.Workload{Replicas: meridian.ReplicaRange{Min: 1, Max: 1000}, PerReplica: meridian.PerReplica{Capacity: tc.cap}}
			sz := Size(w, fc, meridian.ForecastSettings{SLA: tc.sla, Quantile: 0.95, Headroom: 0.2})
			if sz.SLA != tc.sla || sz.ExpectedUnservedPercent == nil {
				t.Fatalf("%s\nSizing = %+v, want the SLA and an expected unserved figure", tc.reason, sz)
			}
			got, _ := fc.expectedUnserved(float64(sz.Replicas) * tc.cap)
			if *sz.ExpectedUnservedPercent != got {
				t.Errorf("%s\nreported unserved %.5f%%, but the capacity leaves %.5f%%", tc.reason, *sz.ExpectedUnservedPercent, got)
			}
			if got > 100-tc.sla {
				t.Errorf("%s\n%d replicas leave %.4f%% unserved, more than %.4f%%", tc.reason, sz.Replicas, got, 100-tc.sla)
			}
			if fewer, _ := fc.expectedUnserved(float64(sz.Replicas-1) * tc.cap); fewer <= 100-tc.sla {
				t.Errorf("%s\n%d replicas would do (%.4f%% unserved), chose %d", tc.reason, sz.Replicas-1, fewer, sz.Replicas)
			}
			if sz.Quantile <= 0.5 || sz.Quantile > 1 || sz.PeakPq > float64(sz.Replicas)*tc.cap+1e-9 {
				t.Errorf("%s\nquantile %.4f and SLA load %.1f inconsistent with %d × %g", tc.reason, sz.Quantile, sz.PeakPq, sz.Replicas, tc.cap)
			}
		})
	}
	strict := Size(&meridian.Workload{Replicas: meridian.ReplicaRange{Min: 1}, PerReplica: meridian.PerReplica{Capacity: 1}}, slaForecast(1), meridian.ForecastSettings{SLA: 99.95})
	loose := Size(&meridian.Workload{Replicas: meridian.ReplicaRange{Min: 1}, PerReplica: meridian.PerReplica{Capacity: 1}}, slaForecast(1), meridian.ForecastSettings{SLA: 99})
	if loose.Replicas >= strict.Replicas {
		t.Errorf("SLA 99 takes %d replicas, SLA 99.95 %d: a looser SLA must need fewer", loose.Replicas, strict.Replicas)
	}
}

// TestSizeReportsUnservedWithoutSLA: quantile sizing also reports what its
// capacity is expected to leave unserved, and nothing when the forecast
// has no calibrated errors.
func TestSizeReportsUnservedWithoutSLA(t *testing.T) {
	w := &meridian.Workload{Replicas: meridian.ReplicaRange{Min: 1}, PerReplica: meridian.PerReplica{Capacity: 10}}
	fc := slaForecast(3)
	sz := Size(w, fc, meridian.ForecastSettings{Quantile: 0.95, Headroom: 0.2})
	want, _ := fc.expectedUnserved(float64(sz.Replicas) * 10)
	if sz.ExpectedUnservedPercent == nil || math.Abs(*sz.ExpectedUnservedPercent-want) > 1e-12 || sz.SLA != 0 {
		t.Errorf("Sizing = %+v, want expected unserved %.5f%% and no SLA", sz, want)
	}
	fc.Errors = nil
	if sz := Size(w, fc, meridian.ForecastSettings{Quantile: 0.95, SLA: 99.95}); sz.ExpectedUnservedPercent != nil || sz.SLA != 0 {
		t.Errorf("without calibrated errors Sizing = %+v, want quantile sizing and no unserved figure", sz)
	}
}
