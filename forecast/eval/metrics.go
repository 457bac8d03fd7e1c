package eval

import "math"

// maseScale is the in-sample seasonal-naive MAE of the training part:
// mean over t = m … len(y)−1 of |y[t] − y[t−m]|.
func maseScale(y []float64, m int) float64 {
	var s float64
	for t := m; t < len(y); t++ {
		s += math.Abs(y[t] - y[t-m])
	}
	return s / float64(len(y)-m)
}

// score computes one origin's MASE, sMAPE (percent, 0–200) and the share
// of actuals inside [lo, hi].
func score(actual, f, lo, hi []float64, scale float64) Scores {
	var ae, sm float64
	in := 0
	for i, y := range actual {
		d := math.Abs(y - f[i])
		ae += d
		if den := math.Abs(y) + math.Abs(f[i]); den > 0 {
			sm += 2 * d / den
		}
		if lo[i] <= y && y <= hi[i] {
			in++
		}
	}
	h := float64(len(actual))
	return Scores{MASE: Metric(ae / h / scale), SMAPE: Metric(100 * sm / h), Coverage80: Metric(float64(in) / h)}
}

// naiveForecast writes f_h = y[o−1] with the normal 80 % interval
// f ± z·σ·√h, σ the RMS of the in-sample lag-1 differences (as REFERENCE.md).
func naiveForecast(y []float64, h int, f, lo, hi []float64) {
	sigma := rmsDiff(y, 1)
	last := y[len(y)-1]
	for i := range h {
		w := z80 * sigma * math.Sqrt(float64(i+1))
		f[i], lo[i], hi[i] = last, last-w, last+w
	}
}

// seasonalNaiveForecast writes f_h = y[o−m+((h−1) mod m)] with the normal
// 80 % interval f ± z·σ·√(⌊(h−1)/m⌋+1), σ the RMS of the lag-m differences.
func seasonalNaiveForecast(y []float64, m, h int, f, lo, hi []float64) {
	sigma := rmsDiff(y, m)
	o := len(y)
	for i := range h {
		v := y[o-m+i%m]
		w := z80 * sigma * math.Sqrt(float64(i/m+1))
		f[i], lo[i], hi[i] = v, v-w, v+w
	}
}

// rmsDiff is the root mean square of y[t] − y[t−lag].
func rmsDiff(y []float64, lag int) float64 {
	var s float64
	for t := lag; t < len(y); t++ {
		d := y[t] - y[t-lag]
		s += d * d
	}
	return math.Sqrt(s / float64(len(y)-lag))
}
