package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/meridianhq/meridian/forecast"
)

// family is a kind of operations series the dev set has few of. gen draws
// replicate rep; the same rep always gives the same series.
type family struct {
	name string
	gen  func(rep int) forecast.Series
}

// replicates per family: 8 × 10 protocol origins. See TestSyntheticFamilies
// for why that makes the coverage band meaningful.
const replicates = 8

// synth builds a series of days at step from value(rng, t, day), where day
// is the number of steps per day and t the step index, seeded by the
// family's name and the replicate.
func synth(name string, rep int, step time.Duration, days float64, value func(r *rand.Rand, t int, day float64) float64) forecast.Series {
	var seed uint64
	for _, c := range name {
		seed = seed*131 + uint64(c)
	}
	r := rand.New(rand.NewPCG(seed, uint64(rep)+1))
	day := float64(24*time.Hour) / float64(step)
	y := make([]float64, int(days*day))
	for t := range y {
		y[t] = value(r, t, day)
	}
	// Midnight start on a Monday, so the weekly phase is that of a week.
	return forecast.Series{Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Step: step, Values: y}
}

// diurnal is a working-hours load shape in [-1, 1] with its peak in the
// afternoon and a sharper morning ramp than evening fall, as request load
// has; not a pure sine, so the models cannot fit it exactly.
func diurnal(t int, day float64) float64 {
	x := 2 * math.Pi * (float64(t)/day - 0.3)
	return 0.8*math.Sin(x) + 0.2*math.Sin(2*x)
}

// weekday is 1 on working days and weekend below 1; t in steps.
func weekday(t int, day float64, weekend float64) float64 {
	if d := int(float64(t)/day) % 7; d >= 5 {
		return weekend
	}
	return 1
}

// events returns k sorted random points in [lo, hi).
func events(r *rand.Rand, k int, lo, hi float64) []float64 {
	out := make([]float64, k)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(k) + r.Float64()*(hi-lo)/float64(k)
	}
	return out
}

// draws returns n values of draw.
func draws(r *rand.Rand, n int, draw func(*rand.Rand) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = draw(r)
	}
	return out
}

func families() []family {
	five := 5 * time.Minute
	return []family{
		{"level-shift", func(rep int) forecast.Series {
			var shifts, factor []float64
			return synth("level-shift", rep, five, 21, func(r *rand.Rand, t int, day float64) float64 {
				if shifts == nil {
					shifts = events(r, 4, 5*day, 21*day)
					factor = draws(r, len(shifts), func(r *rand.Rand) float64 { return 0.6 + 0.9*r.Float64() })
				}
				level := 100.0
				for i, s := range shifts {
					if float64(t) >= s {
						level *= factor[i]
					}
				}
				return level*(1+0.4*diurnal(t, day)) + 4*r.NormFloat64()
			})
		}},
		{"trend-change", func(rep int) forecast.Series {
			var knots, slopes []float64
			return synth("trend-change", rep, five, 21, func(r *rand.Rand, t int, day float64) float64 {
				if knots == nil {
					knots = events(r, 3, 3*day, 21*day)
					// Per step, one slope before each knot and one after the last.
					slopes = draws(r, len(knots)+1, func(r *rand.Rand) float64 { return 8 * r.NormFloat64() / day })
				}
				trend, prev := 0.0, 0.0
				k := 0
				for ; k < len(knots) && float64(t) >= knots[k]; k++ {
					trend += slopes[k] * (knots[k] - prev)
					prev = knots[k]
				}
				trend += slopes[k] * (float64(t) - prev)
				return 200 + trend + 40*diurnal(t, day) + 4*r.NormFloat64()
			})
		}},
		{"heteroskedastic", func(rep int) forecast.Series {
			var regimes []float64
			return synth("heteroskedastic", rep, five, 21, func(r *rand.Rand, t int, day float64) float64 {
				if regimes == nil {
					regimes = events(r, 5, 2*day, 21*day)
				}
				noise := 0.05
				for i, s := range regimes {
					if float64(t) >= s {
						noise = []float64{0.15, 0.03, 0.1, 0.05, 0.2}[i]
					}
				}
				level := 100 * (1 + 0.6*diurnal(t, day))
				return level * (1 + noise*r.NormFloat64())
			})
		}},
		{"weekly-holiday", func(rep int) forecast.Series {
			holiday := -1
			return synth("weekly-holiday", rep, 15*time.Minute, 35, func(r *rand.Rand, t int, day float64) float64 {
				if holiday < 0 {
					// A weekday in the last two weeks: the test region or just
					// before it.
					holiday = 21 + 7*r.IntN(2) + r.IntN(5)
				}
				w := weekday(t, day, 0.45)
				if int(float64(t)/day) == holiday {
					w = 0.45
				}
				return 50 + 150*w*(1+0.7*diurnal(t, day)) + 6*r.NormFloat64()
			})
		}},
		{"spikes", func(rep int) forecast.Series {
			left, size := 0, 0.0
			return synth("spikes", rep, five, 14, func(r *rand.Rand, t int, day float64) float64 {
				if left == 0 && r.Float64() < 0.004 {
					left, size = 1+r.IntN(6), 2+6*r.Float64()
				}
				v := 100 * (1 + 0.5*diurnal(t, day)) * (1 + 0.04*r.NormFloat64())
				if left > 0 {
					left--
					v *= size
				}
				return v
			})
		}},
		{"multiplicative", func(rep int) forecast.Series {
			return synth("multiplicative", rep, five, 21, func(r *rand.Rand, t int, day float64) float64 {
				level := 50 * math.Pow(4, float64(t)/(21*day)) // ×4 over three weeks
				return level * (1 + 0.8*diurnal(t, day)) * weekday(t, day, 0.7) * (1 + 0.05*r.NormFloat64())
			})
		}},
		{"short-history", func(rep int) forecast.Series {
			return synth("short-history", rep, five, float64(3+rep%6), func(r *rand.Rand, t int, day float64) float64 {
				return 100*(1+0.5*diurnal(t, day)) + 5*r.NormFloat64()
			})
		}},
		{"step-1m", func(rep int) forecast.Series {
			// Two weeks at 1 minute: more than the forecaster's history cap.
			return synth("step-1m", rep, time.Minute, 14, func(r *rand.Rand, t int, day float64) float64 {
				return 100*(1+0.5*diurnal(t, day)) + 8*r.NormFloat64()
			})
		}},
		{"step-15m", func(rep int) forecast.Series {
			return synth("step-15m", rep, 15*time.Minute, 28, func(r *rand.Rand, t int, day float64) float64 {
				return 100*weekday(t, day, 0.6)*(1+0.5*diurnal(t, day)) + 5*r.NormFloat64()
			})
		}},
		{"step-1h", func(rep int) forecast.Series {
			return synth("step-1h", rep, time.Hour, 60, func(r *rand.Rand, t int, day float64) float64 {
				return 100*weekday(t, day, 0.6)*(1+0.5*diurnal(t, day)) + 5*r.NormFloat64()
			})
		}},
		{"persistent-noise", func(rep int) forecast.Series {
			// Deviations from the daily pattern that last hours (AR(1) with a
			// half-life of about three hours at 5 minutes), as real load has:
			// the noise that is least like the dev set's white-ish noise.
			ar := 0.0
			return synth("persistent-noise", rep, five, 21, func(r *rand.Rand, t int, day float64) float64 {
				ar = 0.98*ar + 2*r.NormFloat64()
				return 100*(1+0.5*diurnal(t, day)) + ar + 3*r.NormFloat64()
			})
		}},
		{"day-to-day", func(rep int) forecast.Series {
			// Each day's peak differs in height and time (±20 %, ±1 h).
			amp, shift, today := 1.0, 0.0, -1
			return synth("day-to-day", rep, five, 21, func(r *rand.Rand, t int, day float64) float64 {
				if d := int(float64(t) / day); d != today {
					today, amp, shift = d, 1+0.2*r.NormFloat64(), day/24*r.NormFloat64()
				}
				return 100*(1+0.5*amp*diurnal(t+int(shift), day)) + 4*r.NormFloat64()
			})
		}},
		{"counts-near-zero", func(rep int) forecast.Series {
			return synth("counts-near-zero", rep, five, 14, func(r *rand.Rand, t int, day float64) float64 {
				return poisson(r, 1.2*(1+0.8*diurnal(t, day)))
			})
		}},
	}
}

// poisson draws a Poisson variate with mean lambda (Knuth; lambda is
// small here).
func poisson(r *rand.Rand, lambda float64) float64 {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return float64(k)
		}
		k++
	}
}

// familyResult is one family's scores over its replicates.
type familyResult struct {
	name string
	// mase and snaive are the mean MASE of Meridian and seasonal naive
	// over all origins; relMASE their ratio.
	mase, snaive, relMASE float64
	// cov80 and belowP95 pool all outcomes; cov80SE is the standard error
	// of cov80 from the spread of the replicates' coverages, which
	// accounts for the correlation of outcomes within a series.
	cov80, cov80SE, belowP95 float64
	origins                  int
	cpuMS                    float64
}

func runFamily(ctx context.Context, f family, opts Options) (familyResult, error) {
	out := familyResult{name: f.name}
	covs := make([]float64, 0, replicates)
	for rep := range replicates {
		s := f.gen(rep)
		auto, base, err := EvaluateSeries(ctx, fmt.Sprintf("%s/%d", f.name, rep), s, opts)
		if err != nil {
			return out, fmt.Errorf("%s replicate %d: %w", f.name, rep, err)
		}
		k := float64(len(auto.Origins))
		out.mase += float64(auto.MASE) * k
		out.snaive += float64(base[SeasonalNaive].MASE) * k
		out.belowP95 += float64(auto.BelowP95) * k
		out.cpuMS += 1000 * auto.CPUSeconds * k
		out.origins += len(auto.Origins)
		covs = append(covs, float64(auto.Coverage80))
	}
	n := float64(out.origins)
	out.mase /= n
	out.snaive /= n
	out.belowP95 /= n
	out.cpuMS /= n
	out.relMASE = out.mase / out.snaive
	var mean, ss float64
	for _, c := range covs {
		mean += c
	}
	mean /= float64(len(covs))
	for _, c := range covs {
		ss += (c - mean) * (c - mean)
	}
	out.cov80 = mean
	out.cov80SE = math.Sqrt(ss / float64(len(covs)-1) / float64(len(covs)))
	return out, nil
}

// TestSyntheticFamilies stands in for series the forecaster has never
// seen: for each family it runs the dev-set protocol (ten origins in the
// last 20 %, H = 4 h) on eight seeded replicates and requires
//
//   - 80 % coverage within [0.70, 0.90], and
//   - MASE below seasonal naive's at the same origins (every family has a
//     daily pattern).
//
// Why the band is meaningful: one origin's H outcomes share one forecast,
// so they miss together. Treating each origin as a single Bernoulli(0.8)
// trial, the worst case, 80 origins give a standard error of
// √(0.16/80) = 0.045; treating the outcomes as independent gives
// √(0.16/(80·H)), 0.006 at 5-minute steps. The truth is in between, so
// the test measures the standard error from the spread of the eight
// replicates' coverages (which also absorbs the correlation between a
// series' origins) and fails when it exceeds 0.04: the band is then at
// least 2.5 standard errors from 0.8 on either side, which a calibrated
// forecaster misses with a chance of about 1 % per family. Measured: the
// families' standard errors are 0.002–0.024; with the calibrated offsets
// scaled by 0.7 every family's coverage falls to 0.59–0.65, and with
// conformal calibration replaced by normal random-walk intervals it rises
// to 0.96–1.00, so the test fails either way.
//
// MERIDIAN_SYNTHETIC_TABLE=1 prints the table to stdout.
func TestSyntheticFamilies(t *testing.T) {
	ctx := context.Background()
	var rows []familyResult
	for _, f := range families() {
		t.Run(f.name, func(t *testing.T) {
			r, err := runFamily(ctx, f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
			if r.cov80SE > 0.04 {
				t.Errorf("coverage standard error %.3f over %d origins is too large for the band to mean anything", r.cov80SE, r.origins)
			}
			if r.cov80 < 0.70 || r.cov80 > 0.90 {
				t.Errorf("80%% coverage %.3f (±%.3f) is outside [0.70, 0.90]", r.cov80, r.cov80SE)
			}
			if !(r.relMASE < 1) {
				t.Errorf("MASE %.3f is not below seasonal naive's %.3f", r.mase, r.snaive)
			}
		})
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "family\torigins\tMASE\tsnaive MASE\trel\tcov80\t±se\tbelow P95\tcpu ms\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.1f\t\n", r.name, r.origins, r.mase, r.snaive, r.relMASE, r.cov80, r.cov80SE, r.belowP95, r.cpuMS)
	}
	tw.Flush()
	t.Log("\n" + b.String())
	if os.Getenv("MERIDIAN_SYNTHETIC_TABLE") != "" {
		fmt.Print(b.String())
	}
}
