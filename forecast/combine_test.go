package forecast

import (
	"math"
	"testing"
)

// TestCombineOneOddWindow: a single validation window that scores models
// by their MAE over the whole week hands the forecast to whichever model
// was lucky on one odd day, such as the day of a level shift that damped
// Holt-Winters took a while to follow while seasonal naive, a day late,
// was merely mediocre throughout. Weights learnt per window and averaged
// must keep the model that was better on six days of seven; a model that
// is better on every day must still win, so the rule is not simply a
// preference for the default.
func TestCombineOneOddWindow(t *testing.T) {
	cases := []struct {
		name string
		// hw and sn are each model's absolute error in the seven windows.
		hw, sn [validationWindows]float64
		// hwWins says which model must carry more weight of its own (the
		// robust default, here a copy of hw-damped, is left out).
		hwWins bool
		// oldPicksSN checks the scenario: whole-week MAE prefers seasonal
		// naive, as the single-window choice did.
		oldPicksSN bool
	}{
		{"level shift on one day", [7]float64{1, 1, 1, 20, 1, 1, 1}, [7]float64{3, 3, 3, 3, 3, 3, 3}, true, true},
		{"spikes on one day", [7]float64{1, 1, 1, 1, 1, 1, 25}, [7]float64{3, 3, 3, 3, 3, 3, 4}, true, true},
		{"seasonal naive better every day", [7]float64{4, 4, 4, 4, 4, 4, 4}, [7]float64{1, 1, 1, 1, 1, 1, 1}, false, true},
	}
	const perWindow, h = 3, 4
	nv := validationWindows * perWindow
	vo := make([]int, nv)
	for k := range vo {
		vo[k] = 10 * k
	}
	y := make([]float64, 10*nv+h)
	for k := range y {
		y[k] = 100 + 10*math.Sin(float64(k)/7)
	}
	forecasts := func(errs [validationWindows]float64) []float64 {
		f := make([]float64, (nv+1)*h)
		for k, o := range vo {
			for i := range h {
				// Alternate the sign so that the errors do not cancel in
				// a combination but do not share a bias either.
				e := errs[k/perWindow]
				if (k+i)%2 == 1 {
					e = -e
				}
				f[k*h+i] = y[o+i] + e
			}
		}
		return f
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := []component{{name: "hw-damped", f: forecasts(tc.hw)}, {name: "seasonal-naive", f: forecasts(tc.sn)}}
			d, ok := robustDefault(cs, (nv+1)*h)
			if !ok {
				t.Fatal("no robust default")
			}
			cs = append(cs, d)
			combine(cs, y, vo, h, defaultShrink)
			if picksSN := cs[1].mae < cs[0].mae; picksSN != tc.oldPicksSN {
				t.Fatalf("whole-week MAE: hw-damped %.2f, seasonal naive %.2f; the scenario expects seasonal naive lower = %v", cs[0].mae, cs[1].mae, tc.oldPicksSN)
			}
			hw, sn := cs[0].weight, cs[1].weight
			if sum := hw + sn + cs[2].weight; math.Abs(sum-1) > 1e-9 {
				t.Fatalf("weights sum to %g", sum)
			}
			if (hw > sn) != tc.hwWins {
				t.Errorf("hw-damped weighs %.3f, seasonal naive %.3f; want hw-damped heavier = %v", hw, sn, tc.hwWins)
			}
		})
	}
}
