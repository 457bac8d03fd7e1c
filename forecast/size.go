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
func Size(w *meridian.Workload, fc *Forecast, s meridian.ForecastSettings) meridian.Sizing {
	if fc == nil || w.PerReplica.Capacity <= 0 || len(fc.P50) == 0 {
		return meridian.Sizing{Method: SizingMin, Replicas: w.Replicas.Min}
	}
	q := s.Quantile
	if q <= 0 || q >= 1 {
		q = 0.95
	}
	upper, q := fc.nearestQuantile(q)
	peakP50, peakPq := peak(fc.P50), peak(upper)
	need := peakPq / w.PerReplica.Capacity * (1 + s.Headroom)
	// The tolerance keeps 3.0000000000000004 replicas from becoming 4.
	r := int(math.Ceil(need - 1e-9))
	r = max(r, w.Replicas.Min)
	if w.Replicas.Max > 0 && w.Replicas.Max >= w.Replicas.Min {
		r = min(r, w.Replicas.Max)
	}
	return meridian.Sizing{
		Method:   SizingForecast,
		Replicas: r,
		Model:    fc.Model,
		PeakP50:  peakP50,
		PeakPq:   peakPq,
		Quantile: q,
		Headroom: s.Headroom,
	}
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
