package forecast

// initDays is how many days of the start of the series give the initial
// level and slope.
const initDays = 4

// initStates derives the state before y[0] by classical additive
// decomposition: a centred moving average over the shorter season gives the
// trend, the median detrended value per phase the seasonal indices (centred to
// sum 0), and a least-squares line through the first deseasonalised days
// the level and slope. The second season only keeps what the first cannot
// express (the day-of-week pattern of a daily-plus-weekly model). Absent
// seasons become a single zero state so that the filter needs no branches.
//
// The seasonal indices summarise all of y rather than its first few
// seasons. That is (with the median for robustness, see phaseMedians)
// the estimate of initial states that the smoothing then barely moves
// when the pattern is stable (small γ), close to what maximum-likelihood
// fitting of all initial states (statsmodels' "estimated") converges to,
// at O(N log N) instead of an optimisation over m extra parameters. A
// profile from the first few days alone is noisy, and the optimiser then
// inflates γ to repair it, which makes forecasts noisier. y is only ever
// the fitting part of the series, so no validation or future data enters.
func (e ets) initStates(y []float64) etsState {
	st := etsState{s1: []float64{0}, s2: []float64{0}}
	n := len(y)
	if e.m1 > 0 && n >= 2*e.m1 {
		trend, lo, hi := centredMA(y, e.m1)
		st.s1 = phaseMedians(y, trend, lo, hi, e.m1, nil, 0)
		if e.m2 > 0 && hi-lo >= e.m2 {
			st.s2 = phaseMedians(y, trend, lo, hi, e.m2, st.s1, e.m1)
			// Keep only the part of the weekly pattern that repeats with a
			// weekly but not a daily period.
			for p := range e.m1 {
				var mean float64
				cnt := 0
				for q := p; q < e.m2; q += e.m1 {
					mean += st.s2[q]
					cnt++
				}
				mean /= float64(cnt)
				for q := p; q < e.m2; q += e.m1 {
					st.s2[q] -= mean
				}
			}
		} else if e.m2 > 0 {
			st.s2 = make([]float64, e.m2)
		}
	} else {
		if e.m1 > 0 {
			st.s1 = make([]float64, e.m1)
		}
		if e.m2 > 0 {
			st.s2 = make([]float64, e.m2)
		}
	}

	// Level and slope from the deseasonalised start of the series.
	L := min(n, max(e.m1, 12))
	if e.trend && e.m1 > 0 {
		L = min(n, initDays*e.m1)
	}
	var sx, sy, sxx, sxy float64
	for t := range L {
		z := y[t] - st.s1[t%len(st.s1)] - st.s2[t%len(st.s2)]
		x := float64(t)
		sx += x
		sy += z
		sxx += x * x
		sxy += x * z
	}
	fl := float64(L)
	if L == 0 {
		return st
	}
	if e.trend && L > 2 {
		slope := (fl*sxy - sx*sy) / (fl*sxx - sx*sx)
		intercept := (sy - slope*sx) / fl
		// The state before y[0] is one step before t = 0.
		st.l, st.b = intercept-slope, slope
	} else {
		st.l = sy / fl
	}
	return st
}

// centredMA returns the centred moving average of y over period m (a 2×m
// average when m is even, so that it stays centred), defined on [lo, hi).
func centredMA(y []float64, m int) (ma []float64, lo, hi int) {
	n := len(y)
	ma = make([]float64, n)
	if m%2 == 1 {
		half := m / 2
		var s float64
		for i := range m {
			s += y[i]
		}
		for t := half; t+half < n; t++ {
			ma[t] = s / float64(m)
			if t+half+1 < n {
				s += y[t+half+1] - y[t-half]
			}
		}
		return ma, half, n - half
	}
	half := m / 2
	// Sum of y[t-half .. t+half-1] and of y[t-half+1 .. t+half].
	var s float64
	for i := range m {
		s += y[i]
	}
	for t := half; t+half < n; t++ {
		next := s - y[t-half] + y[t+half]
		ma[t] = (s + next) / (2 * float64(m))
		s = next
	}
	return ma, half, n - half
}

// phaseMedians returns the typical value of y − trend − prev[t mod mp] for
// each phase t mod m over [lo, hi), centred to sum zero. Phases with no
// data are zero.
//
// Typical is the median over the days (weeks), not the mean: a spike of a
// few steps that the guard clips in the recursions would otherwise enter
// the initial seasonal states at full size divided by the days of data,
// and reappear in the forecast at the same hour every day, since the
// optimiser then prefers a high α to a γ that repairs it.
func phaseMedians(y, trend []float64, lo, hi, m int, prev []float64, mp int) []float64 {
	byPhase := make([][]float64, m)
	for p := range byPhase {
		byPhase[p] = make([]float64, 0, (hi-lo)/m+1)
	}
	for t := lo; t < hi; t++ {
		d := y[t] - trend[t]
		if prev != nil {
			d -= prev[t%mp]
		}
		byPhase[t%m] = append(byPhase[t%m], d)
	}
	out := make([]float64, m)
	var mean float64
	for p, ds := range byPhase {
		if len(ds) > 0 {
			out[p] = median(ds)
		}
		mean += out[p]
	}
	mean /= float64(m)
	for p := range m {
		out[p] -= mean
	}
	return out
}
