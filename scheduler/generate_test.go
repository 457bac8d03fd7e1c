package scheduler

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGenerateIsReproducible(t *testing.T) {
	a, b := Generate(42, 300, 30), Generate(42, 300, 30)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different instances (-first +second):\n%s", diff)
	}
	if c := Generate(43, 300, 30); cmp.Equal(a, c) {
		t.Error("different seeds gave the same instance")
	}
}

// TestGenerateShares checks the instance shape docs/placement.md promises.
func TestGenerateShares(t *testing.T) {
	p := Generate(1, 4000, 50)
	W, T := float64(len(p.Workloads)), len(p.Targets)
	var limited int
	for _, tg := range p.Targets {
		if tg.Capacity.Limited() {
			limited++
			if tg.Provider.Cloud() {
				t.Errorf("limited target %s is a cloud", tg.Name)
			}
		}
	}
	if limited != 10 {
		t.Errorf("%d of %d targets limited, want 10 (20%%)", limited, T)
	}
	var spread, pinned, current, restricted float64
	for i, w := range p.Workloads {
		if w.Requires.Spread > 1 {
			spread++
		}
		if w.Pin != "" {
			pinned++
		}
		if len(p.Current[w.Name]) > 0 {
			current++
		}
		ok := 0
		for _, v := range p.Violations[i] {
			if len(v) == 0 {
				ok++
			}
		}
		if ok <= 3 {
			restricted++
		}
		if ok == 0 {
			t.Errorf("workload %s has no compliant target", w.Name)
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"spread", spread / W, 0.10}, {"pinned", pinned / W, 0.05}, {"current", current / W, 0.50}, {"restricted", restricted / W, 0.30}} {
		if math.Abs(c.got-c.want) > 0.03 {
			t.Errorf("%s share %.3f, want about %.2f", c.name, c.got, c.want)
		}
	}
	// The generator keeps every workload placeable, so nothing is left
	// out, and capacity binds, so the solver has work to do.
	res, err := Solve(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unplaceable) != 0 {
		t.Errorf("%d unplaceable workloads, want none: %+v", len(res.Unplaceable), res.Unplaceable[0])
	}
	if res.Stats.Method == MethodGreedy {
		t.Error("capacity does not bind on the generated instance")
	}
}

// TestGenerateSitesShape checks the shape docs/placement.md promises for
// GenerateSites, and that the instance is the hard kind: capacity binds on
// every site, yet Solve proves the gap tolerance.
func TestGenerateSitesShape(t *testing.T) {
	if diff := cmp.Diff(GenerateSites(42, 300, 30), GenerateSites(42, 300, 30)); diff != "" {
		t.Errorf("same seed, different instances (-first +second):\n%s", diff)
	}
	p := GenerateSites(1, 1000, 50)
	W := float64(len(p.Workloads))
	var sites []int
	for ti, tg := range p.Targets {
		if !tg.Capacity.Limited() {
			continue
		}
		sites = append(sites, ti)
		if tg.Provider.Cloud() || tg.Capacity.VCPU < 64 || tg.Capacity.VCPU > 127 || tg.Capacity.MemoryGiB < 256 || tg.Capacity.MemoryGiB > 511 {
			t.Errorf("site %s: %s with capacity %+v", tg.Name, tg.Provider, tg.Capacity)
		}
	}
	if len(sites) != 10 {
		t.Errorf("%d of %d targets limited, want 10 (20%%)", len(sites), len(p.Targets))
	}
	var spread, pinned, restricted float64
	for i, w := range p.Workloads {
		if w.Requires.Spread > 1 {
			spread++
		}
		if w.Pin != "" {
			pinned++
		}
		if len(w.Requires.Jurisdictions) > 0 {
			restricted++
		}
		ok := 0
		for _, v := range p.Violations[i] {
			if len(v) == 0 {
				ok++
			}
		}
		if ok < w.SpreadCount() {
			t.Errorf("workload %s has %d compliant targets", w.Name, ok)
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"spread", spread / W, 0.10}, {"pinned", pinned / W, 0.05}, {"jurisdiction", restricted / W, 0.85 * 0.30}} {
		if math.Abs(c.got-c.want) > 0.03 {
			t.Errorf("%s share %.3f, want about %.2f", c.name, c.got, c.want)
		}
	}
	res, err := Solve(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unplaceable) != 0 {
		t.Errorf("%d unplaceable workloads, want none: %+v", len(res.Unplaceable), res.Unplaceable[0])
	}
	full := 0
	load := map[string][2]float64{}
	for _, pl := range res.Placements {
		for i, w := range p.Workloads {
			if w.Name == pl.Workload {
				_, per := w.SplitReplicas(p.Replicas[i])
				l := load[pl.Target]
				load[pl.Target] = [2]float64{l[0] + float64(per)*w.PerReplica.VCPU, l[1] + float64(per)*w.PerReplica.MemoryGiB}
				break
			}
		}
	}
	for _, ti := range sites {
		tg := p.Targets[ti]
		// Full: not even the smallest workload (1 vCPU, 2 GiB) fits.
		if l := load[tg.Name]; l[0]+1 > tg.Capacity.VCPU || l[1]+2 > tg.Capacity.MemoryGiB {
			full++
		}
	}
	if full < len(sites)/2 {
		t.Errorf("only %d of %d sites full: capacity hardly binds", full, len(sites))
	}
	if res.Stats.GapPercent > 100*p.Settings.GapTolerance {
		t.Errorf("gap %.4f%% above the %.2f%% tolerance (%+v)", res.Stats.GapPercent, 100*p.Settings.GapTolerance, res.Stats)
	}
}
