package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestExplore(t *testing.T) {
	for _, sz := range [][2]int{{200, 20}, {1000, 50}, {5000, 100}} {
		for seed := int64(1); seed <= 3; seed++ {
			p := Generate(seed, sz[0], sz[1])
			st := time.Now()
			b, _ := build(p)
			bt := time.Since(st)
			res, err := Solve(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			var cost float64
			for _, pl := range res.Placements {
				cost += float64(pl.MonthlyCost)
			}
			fmt.Printf("%dx%d seed %d: build %v cost %.2f lb %.2f gap %.4f%% opt %v %s %.3fs unpl %d caps %d\n", sz[0], sz[1], seed, bt, cost, res.Stats.LowerBound, res.Stats.GapPercent, res.Stats.Optimal, res.Stats.Method, res.Stats.Seconds, len(res.Unplaceable), len(b.caps))
		}
	}
}
