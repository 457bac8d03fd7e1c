package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// MinHistory is the shortest history a workload may be forecast from: two
// days, so that a daily season has been seen twice.
const MinHistory = 48 * time.Hour

// Sample is one raw observation of a workload's load.
type Sample struct {
	Time  time.Time
	Value float64
	// Line is the 1-based line of the sample in its source file, or 0 when
	// the source has no lines (Prometheus).
	Line int
}

// Series is load history on a regular grid: Values[i] is the load at
// Start + i×Step.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
	// Filled counts grid slots that had no sample and were interpolated;
	// Merged counts samples that were averaged into a slot shared with
	// another sample.
	Filled, Merged int
}

// End returns the time of the slot after the last value: the time of the
// first forecast step.
func (s Series) End() time.Time {
	return s.Start.Add(time.Duration(len(s.Values)) * s.Step)
}

// Span returns the time covered by the series, first to last slot.
func (s Series) Span() time.Duration {
	if len(s.Values) == 0 {
		return 0
	}
	return time.Duration(len(s.Values)-1) * s.Step
}

// errTooFewSamples is returned by Regularize when fewer than two samples
// with distinct times exist, so that no step can be derived.
var errTooFewSamples = errors.New("need at least two samples with distinct timestamps")

// Regularize puts samples, in any order, onto a regular grid, following the
// evaluation protocol in shared/data/forecast/README.md exactly:
//
//   - step = median of the differences between consecutive timestamps
//     (sorted), in seconds;
//   - slot of a sample = round((t − t_first) / step);
//   - samples sharing a slot are averaged;
//   - empty slots are filled by linear interpolation between the nearest
//     filled slots before and after.
//
// It does not check the length; see MinHistory.
func Regularize(samples []Sample) (Series, error) {
	if len(samples) < 2 {
		return Series{}, errTooFewSamples
	}
	ts := make([]Sample, len(samples))
	copy(ts, samples)
	// Stable so that equal timestamps keep source order; the average over a
	// slot does not depend on it, but diagnostics stay deterministic.
	slices.SortStableFunc(ts, func(a, b Sample) int { return a.Time.Compare(b.Time) })

	diffs := make([]float64, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		diffs[i-1] = ts[i].Time.Sub(ts[i-1].Time).Seconds()
	}
	step := median(diffs)
	if step <= 0 {
		// More than half the samples share a timestamp with their
		// neighbour; fall back to the median of the positive differences.
		pos := diffs[:0]
		for _, d := range diffs {
			if d > 0 {
				pos = append(pos, d)
			}
		}
		if len(pos) == 0 {
			return Series{}, errTooFewSamples
		}
		step = median(pos)
	}

	first := ts[0].Time
	last := math.Round(ts[len(ts)-1].Time.Sub(first).Seconds() / step)
	n := int(last) + 1
	if n > maxGrid {
		return Series{}, fmt.Errorf("%d grid slots at step %gs exceed the limit of %d", n, step, maxGrid)
	}
	sum := make([]float64, n)
	cnt := make([]int, n)
	for _, s := range ts {
		k := int(math.Round(s.Time.Sub(first).Seconds() / step))
		sum[k] += s.Value
		cnt[k]++
	}
	out := Series{Start: first, Step: time.Duration(step * float64(time.Second)), Values: sum}
	prev := -1
	for k := range n {
		if cnt[k] == 0 {
			continue
		}
		if cnt[k] > 1 {
			out.Merged += cnt[k] - 1
			sum[k] /= float64(cnt[k])
		}
		// Interpolate the gap (prev, k) linearly.
		for j := prev + 1; j < k; j++ {
			w := float64(j-prev) / float64(k-prev)
			sum[j] = sum[prev] + w*(sum[k]-sum[prev])
			out.Filled++
		}
		prev = k
	}
	return out, nil
}

// maxGrid bounds the grid so that one stray timestamp (a year typo) cannot
// make Regularize allocate gigabytes; it is about ten years at 5 minutes.
const maxGrid = 1 << 20

// median returns the median of xs, reordering xs.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
