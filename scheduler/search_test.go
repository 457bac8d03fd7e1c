package scheduler

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// solveCost is the monthly cost of what res places.
func solveCost(t *testing.T, p *Problem) (*Result, float64) {
	t.Helper()
	res, err := Solve(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	c := 0.0
	for _, pl := range res.Placements {
		c += float64(pl.MonthlyCost)
	}
	return res, c
}

// TestWarmStartFromLedger re-plans with the plan just made as the ledger.
// Staying put then costs what that plan cost (no migration), and the search
// starts from it, so the new plan can cost no more, whatever the gap
// tolerance lets the search stop at.
func TestWarmStartFromLedger(t *testing.T) {
	for _, gen := range []struct {
		name     string
		generate func(int64, int, int) *Problem
	}{{"generate", Generate}, {"sites", GenerateSites}} {
		for seed := int64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/%d", gen.name, seed), func(t *testing.T) {
				p := gen.generate(seed, 800, 30)
				p.Settings.GapTolerance = 0.01
				res, before := solveCost(t, p)
				p.Current = map[string][]string{}
				for _, pl := range res.Placements {
					p.Current[pl.Workload] = append(p.Current[pl.Workload], pl.Target)
				}
				res2, after := solveCost(t, p)
				if after > before+1e-6*before {
					t.Errorf("re-planning on the ledger costs %.2f, staying put %.2f", after, before)
				}
				checkProperties(t, p, res2)
			})
		}
	}
}

// TestFromCurrent checks which ledgers give a starting selection: every
// current target must still be an option, and a spread must stay valid.
func TestFromCurrent(t *testing.T) {
	cloud := func(name, region string) meridian.Target {
		return meridian.Target{Name: name, Provider: meridian.ProviderAWS, Region: region}
	}
	site := func(name string) meridian.Target {
		return meridian.Target{Name: name, Provider: meridian.ProviderOnPrem, Region: "dc", Capacity: meridian.Capacity{VCPU: 64}}
	}
	targets := []meridian.Target{cloud("a1", "r1"), cloud("a2", "r1"), cloud("b1", "r2"), site("dc"), site("dc2")}
	rates := []meridian.Rates{{VCPUHour: 0.04}, {VCPUHour: 0.05}, {VCPUHour: 0.06}, {VCPUHour: 0.02}, {VCPUHour: 0.03}}
	w := meridian.Workload{Replicas: meridian.ReplicaRange{Min: 2, Max: 2}, PerReplica: meridian.PerReplica{VCPU: 1}}
	byRegion := w
	byRegion.Requires.Spread, byRegion.Requires.SpreadBy = 2, meridian.SpreadByRegion
	cases := map[string]struct {
		reason  string
		w       meridian.Workload
		current []string
		want    []string // the selection's targets; nil: no start
	}{
		"site":          {"a limited target is always an option", w, []string{"dc"}, []string{"dc"}},
		"cheapest":      {"the cheapest cloud is an option", w, []string{"a1"}, []string{"a1"}},
		"dominated":     {"a dearer cloud is not kept as an option, so the ledger gives no start", w, []string{"b1"}, nil},
		"too many":      {"two current targets for a workload that needs one", w, []string{"a1", "dc"}, nil},
		"spread":        {"two regions for spread by region", byRegion, []string{"a1", "b1"}, []string{"a1", "b1"}},
		"spread clash":  {"two sites in one region are no valid spread", byRegion, []string{"dc", "dc2"}, nil},
		"spread partly": {"one target for a spread of two", byRegion, []string{"a1"}, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.w.Name = "w"
			p := &Problem{
				Workloads: []meridian.Workload{tc.w}, Targets: targets, Rates: rates,
				Current: map[string][]string{"w": tc.current},
				// No hysteresis: every target stays an option.
				Settings: meridian.PlacementSettings{MigrationAmortizeMonths: 1},
			}
			m, err := build(p)
			if err != nil {
				t.Fatal(err)
			}
			s := newSolver(context.Background(), m, time.Now().Add(time.Minute), 0)
			o := s.selOf(s.newSel(), 0)
			ok := s.fromCurrent(0, o)
			var got []string
			if ok {
				for _, j := range o {
					got = append(got, targets[m.ws[0].cands[j].t].Name)
				}
				slices.Sort(got)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: start %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}

// TestSolveSameOnAnyNumberOfCores: the parallel parts of the search split
// their work by the data, never by the number of cores, so a plan is the
// same on any machine.
func TestSolveSameOnAnyNumberOfCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, p := range []func() *Problem{
		// Several chunks of workloads (lagChunk) and of each site's
		// workloads (refChunk).
		func() *Problem { return GenerateSites(5, 1500, 40) },
		func() *Problem { return Generate(5, 1500, 40) },
	} {
		var first *Result
		for _, n := range []int{1, 2, 5} {
			runtime.GOMAXPROCS(n)
			res, err := Solve(context.Background(), p())
			if err != nil {
				t.Fatal(err)
			}
			res.Stats.Seconds, res.Timings = 0, Timings{}
			if first == nil {
				first = res
				continue
			}
			if diff := cmp.Diff(first, res); diff != "" {
				t.Errorf("GOMAXPROCS=%d differs from GOMAXPROCS=1 (-1 +%d):\n%s", n, n, diff)
			}
		}
	}
}

// TestWorkBudget: a search cut short by its work budget still returns a
// complete placement with a valid bound, and the same one every time,
// since the budget counts work rather than time.
func TestWorkBudget(t *testing.T) {
	p := GenerateSites(2, 2000, 50)
	var first []int32
	var firstLB float64
	for run := range 3 {
		m, err := build(p)
		if err != nil {
			t.Fatal(err)
		}
		s := newSolver(context.Background(), m, time.Now().Add(time.Hour), 1e-9)
		s.budget = s.work + 5*s.nCand*int64(s.K) // the first bound and placement, little more
		if err := s.run(); err != nil {
			t.Fatal(err)
		}
		if !s.spent {
			t.Fatalf("run %d: the budget did not stop the search (work %d)", run, s.work)
		}
		if s.drops != 0 || math.IsInf(s.incCost, 1) {
			t.Fatalf("run %d: %d workloads left out", run, s.drops)
		}
		if s.lb > s.incCost+eps(s.incCost) {
			t.Fatalf("run %d: bound %.2f above the placement's cost %.2f", run, s.lb, s.incCost)
		}
		if run == 0 {
			first, firstLB = slices.Clone(s.inc), s.lb
			continue
		}
		if !slices.Equal(s.inc, first) || s.lb != firstLB {
			t.Errorf("run %d: another placement or bound than run 0 (bound %.4f vs %.4f)", run, s.lb, firstLB)
		}
	}
}

// TestTimeLimitIsReported: the time limit is a safety net whose plan may
// differ from machine to machine, so the method says when it struck, and
// only then.
func TestTimeLimitIsReported(t *testing.T) {
	for _, limit := range []time.Duration{time.Nanosecond, time.Hour} {
		p := GenerateSites(5, 1500, 40)
		p.Settings.TimeLimit = limit
		res, err := Solve(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Contains(res.Stats.Method, "stopped by the time limit"), limit < time.Second; got != want {
			t.Errorf("time limit %v: method %q", limit, res.Stats.Method)
		}
	}
}
