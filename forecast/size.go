package forecast

import (
	"math"

	"github.com/meridianhq/meridian"
)

// Sizing methods, as recorded in meridian.Sizing.Method.
const (
	SizingMin      = "replicas.min"
	SizingForecast = "forecast"
)

// Size turns a load forecast into a replica count:
//
//	replicas = ⌈ max over the horizon of the Pq load / per_replica.capacity × (1 + headroom) ⌉
//
// clamped to [replicas.min, replicas.max] (replicas.max ≤ 0 means no upper
// bound). q is s.Quantile (0.95 when unset); if fc was made without that
// quantile, the nearest higher one it has is used (else its highest), and
// Sizing.Quantile says which. Negative forecasts count as zero load. A
// workload without a positive per-replica capacity, or a nil forecast, is
// sized by replicas.min.
//
// With s.SLA set and a calibrated error distribution in fc, the capacity is
// instead the least that keeps the expected unserved demand within
// 100 − SLA percent of the expected demand (see sizeForSLA). Either way
// Sizing.ExpectedUnservedPercent reports what the chosen replicas are
// expected to leave unserved.
func Size(w *meridian.Workload, fc *Forecast, s meridian.ForecastSettings) meridian.Sizing {
	if fc == nil || w.PerReplica.Capacity <= 0 || len(fc.P50) == 0 {
		return meridian.Sizing{Method: SizingMin, Replicas: w.Replicas.Min}
	}
	calibrated := len(fc.Errors) == len(fc.P50) && len(fc.Errors[0]) > 0
	var sz meridian.Sizing
	if s.SLA > 0 && calibrated {
		sz = sizeForSLA(w, fc, s.SLA)
	} else {
		q := s.Quantile
		if q <= 0 || q >= 1 {
			q = 0.95
		}
		upper, q := fc.nearestQuantile(q)
		peakPq := peak(upper)
		need := peakPq / w.PerReplica.Capacity * (1 + s.Headroom)
		sz = meridian.Sizing{Method: SizingForecast, Replicas: replicasFor(w, need), Model: fc.Model,
			PeakP50: peak(fc.P50), PeakPq: peakPq, Quantile: q, Headroom: s.Headroom}
	}
	if calibrated {
		u, _ := fc.expectedUnserved(float64(sz.Replicas) * w.PerReplica.Capacity)
		sz.ExpectedUnservedPercent = &u
	}
	return sz
}

// StaticPeakReplicas is what static peak provisioning runs for w: the
// peak of its whole history plus headroom, in whole replicas within w's
// bounds (zero without a positive per-replica capacity).
func StaticPeakReplicas(w *meridian.Workload, history []float64, s meridian.ForecastSettings) int {
	if w.PerReplica.Capacity <= 0 || len(history) == 0 {
		return 0
	}
	return replicasFor(w, peak(history)/w.PerReplica.Capacity*(1+s.Headroom))
}

// replicasFor rounds need up to whole replicas within w's bounds.
func replicasFor(w *meridian.Workload, need float64) int {
	// The tolerance keeps 3.0000000000000004 replicas from becoming 4.
	r := int(math.Ceil(need - 1e-9))
	r = max(r, w.Replicas.Min)
	if w.Replicas.Max > 0 && w.Replicas.Max >= w.Replicas.Min {
		r = min(r, w.Replicas.Max)
	}
	return r
}

// sizeForSLA finds the least capacity C whose expected unserved demand,
// P50 plus the calibrated errors integrated over every step of the
// horizon, is at most 100 − sla percent of the expected demand; the
// replicas are ⌈C / per-replica capacity⌉. The quantile it reports is the
// share of (step, error) outcomes C serves, PeakPq is C, and the headroom
// is zero: the calibrated distribution already holds the uncertainty that
// a fixed headroom stands in for.
func sizeForSLA(w *meridian.Workload, fc *Forecast, sla float64) meridian.Sizing {
	target := 100 - sla
	lo, hi := 0.0, 0.0
	for i, es := range fc.Errors {
		hi = max(hi, fc.P50[i]+es[len(es)-1])
	}
	// Expected unserved demand falls continuously as C grows and is zero
	// from the largest outcome on, so bisection finds the least C.
	for range 60 {
		mid := (lo + hi) / 2
		if u, _ := fc.expectedUnserved(mid); u <= target {
			hi = mid
		} else {
			lo = mid
		}
	}
	var in, all int
	for i, es := range fc.Errors {
		for _, e := range es {
			all++
			if fc.P50[i]+e <= hi {
				in++
			}
		}
	}
	return meridian.Sizing{
		Method:   SizingForecast,
		Replicas: replicasFor(w, hi/w.PerReplica.Capacity),
		Model:    fc.Model,
		PeakP50:  peak(fc.P50),
		PeakPq:   hi,
		Quantile: float64(in) / float64(max(all, 1)),
		SLA:      sla,
	}
}

// expectedUnserved returns the expected demand above capacity c over the
// horizon, in percent of the expected demand, and that demand (load × steps).
// Each step's outcomes are P50 plus each calibrated error, equally likely;
// negative load counts as zero.
func (f *Forecast) expectedUnserved(c float64) (percent, demand float64) {
	var unserved float64
	for i, es := range f.Errors {
		var d, u float64
		for _, e := range es {
			v := max(f.P50[i]+e, 0)
			d += v
			u += max(v-c, 0)
		}
		n := float64(len(es))
		demand += d / n
		unserved += u / n
	}
	if demand <= 0 {
		return 0, 0
	}
	return 100 * unserved / demand, demand
}

// peak is the largest value, at least zero.
func peak(xs []float64) float64 {
	var p float64
	for _, v := range xs {
		p = max(p, v)
	}
	return p
}

// nearestQuantile returns the band at q, else the nearest higher band, else
// the highest band, else the median; and the quantile it returned.
func (f *Forecast) nearestQuantile(q float64) ([]float64, float64) {
	if v, ok := f.Quantile(q); ok {
		return v, q
	}
	var best *Band
	for i := range f.Quantiles {
		b := &f.Quantiles[i]
		if b.Q >= q && (best == nil || b.Q < best.Q) {
			best = b
		}
	}
	if best == nil && len(f.Quantiles) > 0 {
		best = &f.Quantiles[len(f.Quantiles)-1]
	}
	if best == nil || best.Q < 0.5 {
		return f.P50, 0.5
	}
	return best.Values, best.Q
}
