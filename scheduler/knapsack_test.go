package scheduler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKnapsackMatchesBruteForce checks the two-row knapsack against
// enumeration on random small instances, including weightless rows (an
// unlimited dimension), items too big to fit, ties and a floor to beat.
func TestKnapsackMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var ks knapScratch
	for n := range 400 {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := 1 + r.IntN(14)
			items := make([]knapItem, m)
			for q := range items {
				items[q] = knapItem{id: q, v: math.Round(100*r.Float64()) / 4, a: float64(r.IntN(9)) / 8, b: float64(r.IntN(9)) / 8}
				switch r.IntN(8) {
				case 0:
					items[q].b = 0
				case 1:
					items[q].a = 1.5 // never fits
				case 2:
					items[q].v = 0
				}
			}
			capA, capB := float64(1+r.IntN(12))/8, float64(1+r.IntN(12))/8
			best := 0.0
			for mask := 0; mask < 1<<m; mask++ {
				v, a, b := 0.0, 0.0, 0.0
				for q, it := range items {
					if mask&(1<<q) != 0 {
						v, a, b = v+it.v, a+it.a, b+it.b
					}
				}
				if a <= capA && b <= capB {
					best = max(best, v)
				}
			}
			floor := 0.0
			if r.IntN(3) == 0 {
				floor = math.Round(best * r.Float64() * 1.2)
			}
			ok := ks.solve(items, capA, capB, floor, math.MaxInt)
			v, a, b := 0.0, 0.0, 0.0
			for _, it := range items {
				if it.take {
					v, a, b = v+it.v, a+it.a, b+it.b
				}
			}
			if want := best > floor+eps(floor); ok != want {
				t.Fatalf("solve reported %v, want %v (best %v, floor %v, items %+v, caps %v %v)", ok, want, best, floor, items, capA, capB)
			}
			if !ok {
				if v != 0 {
					t.Errorf("no improvement reported, but items worth %v are taken", v)
				}
				return
			}
			if a > capA || b > capB {
				t.Errorf("packing uses %v/%v of %v/%v", a, b, capA, capB)
			}
			if math.Abs(v-best) > 1e-9 {
				t.Errorf("packing worth %v, optimum %v (items %+v, caps %v %v)", v, best, items, capA, capB)
			}
		})
	}
}
