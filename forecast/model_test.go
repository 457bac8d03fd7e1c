package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// forecastOnce fits mod on y and returns its h-step forecast from the end.
func forecastOnce(t testing.TB, mod model, y []float64, h int) []float64 {
	t.Helper()
	out := make([]float64, h)
	mod.fit(y, nil).forecast(y, []int{len(y)}, h, out)
	return out
}

// allModels is every model, with season m and weekly season 7m.
func allModels(m int) []model {
	es := []ets{{}, {trend: true}, {trend: true, m1: m}, {trend: true, m1: m, m2: 7 * m}}
	ms := []model{naive{}, seasonalNaive{m: m}}
	for _, e := range es {
		e.maxEval = 300
		ms = append(ms, e, logModel{e})
	}
	return ms
}

func TestModelsConstant(t *testing.T) {
	const m, h = 24, 6
	y := make([]float64, 28*m)
	for i := range y {
		y[i] = 42
	}
	for _, mod := range allModels(m) {
		for i, f := range forecastOnce(t, mod, y, h) {
			if math.Abs(f-42) > 1e-6 {
				t.Errorf("%s: f[%d] = %g, want 42: a constant series has a flat forecast", mod.name(), i+1, f)
				break
			}
		}
	}
}

func TestModelsSine(t *testing.T) {
	const m, h = 48, 12
	sine := func(i int) float64 { return 100 + 10*math.Sin(2*math.Pi*float64(i)/m) }
	y := make([]float64, 30*m)
	for i := range y {
		y[i] = sine(i)
	}
	// Every seasonal model must recover the season; the level models
	// cannot, which is what selection is for.
	for _, mod := range []model{seasonalNaive{m: m}, ets{trend: true, m1: m, maxEval: 300}, logModel{ets{trend: true, m1: m, maxEval: 300}}, ets{trend: true, m1: m, m2: 7 * m, maxEval: 300}} {
		f := forecastOnce(t, mod, y, h)
		for i, v := range f {
			if want := sine(len(y) + i); math.Abs(v-want) > 0.05 {
				t.Errorf("%s: f[%d] = %.4f, want %.4f: a pure sine's season is recovered", mod.name(), i+1, v, want)
				break
			}
		}
	}
}

func TestHoltDampedLinear(t *testing.T) {
	const h, slope = 24, 0.5
	y := make([]float64, 2000)
	for i := range y {
		y[i] = 10 + slope*float64(i)
	}
	e := ets{trend: true, maxEval: 500}
	fit := e.fit(y, nil).(*etsFit)
	// On an exact line the one-step error only vanishes without damping,
	// so the fit pushes φ to its upper bound and α, β to 1; the forecast is
	// then the damped extrapolation of the slope from the last value.
	if fit.p.phi < phiHi-0.005 {
		t.Errorf("φ = %.4f, want ≈ %g on a straight line", fit.p.phi, phiHi)
	}
	f := forecastOnce(t, e, y, h)
	last := y[len(y)-1]
	damp := 0.0
	for i, v := range f {
		damp += math.Pow(fit.p.phi, float64(i+1))
		if want := last + slope*damp; math.Abs(v-want) > 0.05*slope*float64(i+1) {
			t.Errorf("f[%d] = %.4f, want %.4f (last value + slope × Σφ^i)", i+1, v, want)
		}
		if i > 0 && v <= f[i-1] {
			t.Errorf("f[%d] = %.4f ≤ f[%d]: the trend must be extrapolated upwards", i+1, v, i)
		}
	}
	if d := f[0] - (last + slope); math.Abs(d) > 0.05*slope {
		t.Errorf("one-step forecast %.4f, want %.4f ± 5%% of the slope", f[0], last+slope)
	}
}

func TestNaiveForecasts(t *testing.T) {
	y := []float64{1, 2, 3, 4, 5, 6, 7}
	out := make([]float64, 2*3)
	naive{}.fit(y, nil).forecast(y, []int{4, 7}, 3, out)
	if want := []float64{4, 4, 4, 7, 7, 7}; !equal(out, want) {
		t.Errorf("naive at origins 4 and 7 = %v, want %v", out, want)
	}
	seasonalNaive{m: 2}.fit(y, nil).forecast(y, []int{4, 7}, 3, out)
	if want := []float64{3, 4, 3, 6, 7, 6}; !equal(out, want) {
		t.Errorf("seasonal naive (m=2) at origins 4 and 7 = %v, want %v", out, want)
	}
}

func TestETSForecastsMatchFinal(t *testing.T) {
	// Re-filtering must give at an inner origin exactly what a forecast
	// from that prefix gives: validation and the final forecast are the
	// same computation.
	rng := rand.New(rand.NewPCG(1, 2))
	const m, h = 24, 5
	y := make([]float64, 20*m)
	for i := range y {
		y[i] = 50 + 5*math.Sin(2*math.Pi*float64(i)/m) + rng.NormFloat64()
	}
	e := ets{trend: true, m1: m, maxEval: 200}
	fit := e.fit(y[:300], nil)
	all := make([]float64, 2*h)
	fit.forecast(y, []int{350, 400}, h, all)
	one := make([]float64, h)
	fit.forecast(y[:400], []int{400}, h, one)
	if !equal(all[h:], one) {
		t.Errorf("forecast at origin 400 = %v in one pass, %v from the prefix", all[h:], one)
	}
}

func TestEncodeDecode(t *testing.T) {
	e := ets{trend: true, m1: 24, m2: 168}
	p := etsParams{alpha: 0.3, beta: 0.06, phi: 0.9, g1: 0.1, g2: 0.05}
	got := e.decode(e.encode(p))
	for _, d := range []float64{got.alpha - p.alpha, got.beta - p.beta, got.phi - p.phi, got.g1 - p.g1, got.g2 - p.g2} {
		if math.Abs(d) > 1e-9 {
			t.Fatalf("decode(encode(%+v)) = %+v", p, got)
		}
	}
}

func TestCentredMA(t *testing.T) {
	y := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	ma, lo, hi := centredMA(y, 4)
	// 2×4 average at t=2: (y0/2 + y1 + y2 + y3 + y4/2)/4 = 3.
	if lo != 2 || hi != 6 || ma[2] != 3 || ma[5] != 6 {
		t.Errorf("centredMA(m=4) = %v on [%d,%d), want 3..6 on [2,6)", ma, lo, hi)
	}
	ma, lo, hi = centredMA(y, 3)
	if lo != 1 || hi != 7 || ma[1] != 2 || ma[6] != 7 {
		t.Errorf("centredMA(m=3) = %v on [%d,%d), want 2..7 on [1,7)", ma, lo, hi)
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}
