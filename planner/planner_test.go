package planner_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/forecast"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/planner"
)

const (
	targets = `apiVersion: meridian/v1
kind: Target
name: cloud-us
provider: aws
region: us-east-1
jurisdiction: us
encryption: {kms: aws-kms}
log_retention_max_days: 3653
pricing: {catalog: true}
---
apiVersion: meridian/v1
kind: Target
name: dc-eu
provider: onprem
region: fra
jurisdiction: eu
encryption: {kms: vault, customer_managed_keys: true}
log_retention_max_days: 365
capacity: {vcpu: 8, memory_gib: 32}
pricing: {vcpu_hour: 0.02, gib_hour: 0.003, egress_gb: 0.02, storage_gb_month: 0.05}
`
	web = `apiVersion: meridian/v1
kind: Workload
name: web
tags: {owner: a, cost-center: b, env: prod}
replicas: {min: 2, max: 10}
per_replica: {vcpu: 1, memory_gib: 2, capacity: 10}
storage_gb: 10
egress_gb_month: 100
`
)

// repo builds an in-memory config repo; extra files override defaults.
func repo(t testing.TB, extra map[string]string) (*meridian.Config, fstest.MapFS) {
	t.Helper()
	files := map[string]string{"targets/all.yaml": targets, "workloads/web.yaml": web}
	for k, v := range extra {
		files[k] = v
	}
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	cfg, err := config.Load(fsys)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg, fsys
}

// sineCSV is a daily cycle between lo and hi sampled every 5 minutes.
func sineCSV(days int, lo, hi float64) string {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range days * 288 {
		v := lo + (hi-lo)*(0.5+0.5*math.Sin(2*math.Pi*float64(i)/288))
		fmt.Fprintf(&b, "%s,%.3f\n", start.Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"), v)
	}
	return b.String()
}

func plan(t *testing.T, cfg *meridian.Config, fsys fstest.MapFS, current map[string][]string) *meridian.Plan {
	t.Helper()
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Plan(context.Background(), planner.Input{Config: cfg, FS: fsys, Commit: "abc", Current: current})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func TestPlanCostsFollowTheFormula(t *testing.T) {
	cfg, fsys := repo(t, nil)
	pl := plan(t, cfg, fsys, nil)
	if len(pl.Placements) != 1 {
		t.Fatalf("want 1 placement, got %+v", pl.Placements)
	}
	got := pl.Placements[0]
	// dc-eu is cheaper than the cloud and has room: 2 × (1×0.02 + 2×0.003) × 730 + 10×0.05 + 100×0.02.
	want := 2*(1*0.02+2*0.003)*730 + 10*0.05 + 100*0.02
	if got.Target != "dc-eu" || math.Abs(float64(got.MonthlyCost)-want) > 1e-9 {
		t.Errorf("placement %s at %v, want dc-eu at %v", got.Target, got.MonthlyCost, want)
	}
	if pl.TotalMonthlyCost != got.MonthlyCost {
		t.Errorf("total %v != sum of placements %v", pl.TotalMonthlyCost, got.MonthlyCost)
	}
	if r := got.Explanation.RunnerUp; r == nil || r.Target != "cloud-us" || r.ExtraCost <= 0 {
		t.Errorf("runner-up = %+v, want cloud-us at a positive extra cost", r)
	}
}

func TestPlanFindings(t *testing.T) {
	cases := map[string]struct {
		reason   string
		workload string
		current  map[string][]string
		want     []string // rule@target:file:line
		blocked  bool
	}{
		"missing tag blocks but still places": {
			reason:   "a deny workload finding marks the placement blocked; the workload is still placed and costed",
			workload: strings.Replace(web, "owner: a, ", "", 1),
			want:     []string{"MER-TAG-001@:workloads/web.yaml:4"},
			blocked:  true,
		},
		"rejected target is no finding": {
			reason:   "a placement rule failing on a target that was not chosen is only a rejection reason",
			workload: web + "requires: {jurisdictions: [us]}\n",
		},
		"pin overrides policy with a deny finding": {
			reason:   "a pinned target that fails policy is a deny finding on the pinned workload",
			workload: web + "requires: {jurisdictions: [us]}\npin: dc-eu\n",
			want:     []string{"MER-JUR-001@dc-eu:workloads/web.yaml:9"},
			blocked:  true,
		},
		"current target failing policy is a finding": {
			reason:   "the target a workload runs on now must be flagged when it no longer passes",
			workload: web + "requires: {jurisdictions: [us]}\n",
			current:  map[string][]string{"web": {"dc-eu"}},
			want:     []string{"MER-JUR-001@dc-eu:workloads/web.yaml:9"},
			blocked:  true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, fsys := repo(t, map[string]string{"workloads/web.yaml": tc.workload})
			pl := plan(t, cfg, fsys, tc.current)
			var got []string
			for _, f := range pl.Findings {
				got = append(got, fmt.Sprintf("%s@%s:%s:%d", f.Rule, f.Target, f.File, f.Line))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
			if len(pl.Placements) == 0 {
				t.Fatalf("%s: workload not placed", tc.reason)
			}
			for _, p := range pl.Placements {
				if p.Blocked != tc.blocked {
					t.Errorf("%s: blocked = %v, want %v", tc.reason, p.Blocked, tc.blocked)
				}
			}
			if pl.Blocking() != tc.blocked {
				t.Errorf("%s: Blocking() = %v", tc.reason, pl.Blocking())
			}
		})
	}
}

func TestPlanIDIsContentDerived(t *testing.T) {
	cfg, fsys := repo(t, nil)
	a, b := plan(t, cfg, fsys, nil), plan(t, cfg, fsys, nil)
	if a.ID != b.ID {
		t.Errorf("same inputs gave IDs %s and %s", a.ID, b.ID)
	}
	c := plan(t, cfg, fsys, map[string][]string{"web": {"cloud-us"}})
	cfg2, fsys2 := repo(t, map[string]string{"workloads/web.yaml": strings.Replace(web, "min: 2", "min: 3", 1)})
	d := plan(t, cfg2, fsys2, nil)
	if c.ID == a.ID || d.ID == a.ID {
		t.Errorf("a different ledger (%s) or config (%s) must change the ID %s", c.ID, d.ID, a.ID)
	}
	// The load history is not part of the parsed config, but it changes
	// the plan through sizing, so it must change the ID too.
	withLoad := web + "load: {history: metrics/web.csv}\n"
	cfgLo, fsLo := repo(t, map[string]string{"workloads/web.yaml": withLoad, "metrics/web.csv": sineCSV(3, 10, 50)})
	cfgHi, fsHi := repo(t, map[string]string{"workloads/web.yaml": withLoad, "metrics/web.csv": sineCSV(3, 10, 90)})
	if lo, hi := plan(t, cfgLo, fsLo, nil), plan(t, cfgHi, fsHi, nil); lo.ID == hi.ID {
		t.Errorf("different load history gave the same ID %s", lo.ID)
	}
}

func TestForecastSizing(t *testing.T) {
	cases := map[string]struct {
		reason       string
		history      string
		wantMethod   string
		wantReplicas int
		wantFinding  string
	}{
		"forecast": {
			reason:     "a clean daily cycle peaking at 50 load units needs ceil(50/10 × 1.2) = 6 replicas",
			history:    sineCSV(7, 10, 50),
			wantMethod: "forecast", wantReplicas: 6,
		},
		"garbage": {
			reason:       "a non-numeric value is a warn finding at the CSV line and the workload falls back to replicas.min",
			history:      "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,lots\n",
			wantMethod:   "replicas.min",
			wantReplicas: 2,
			wantFinding:  "MER-LOAD-001 warn metrics/web.csv:3",
		},
		"too short": {
			reason:       "less than two days of history cannot be forecast",
			history:      sineCSV(1, 10, 50),
			wantMethod:   "replicas.min",
			wantReplicas: 2,
			wantFinding:  "MER-LOAD-001 warn metrics/web.csv:289",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, fsys := repo(t, map[string]string{
				"workloads/web.yaml": web + "load: {history: metrics/web.csv}\n",
				"metrics/web.csv":    tc.history,
			})
			pl := plan(t, cfg, fsys, nil)
			s := pl.Placements[0].Explanation.Sizing
			if s.Method != tc.wantMethod || s.Replicas != tc.wantReplicas {
				t.Errorf("%s: sizing %+v, want %s with %d replicas", tc.reason, s, tc.wantMethod, tc.wantReplicas)
			}
			var got string
			for _, f := range pl.Findings {
				got = fmt.Sprintf("%s %s %s:%d", f.Rule, f.Severity, f.File, f.Line)
			}
			if got != tc.wantFinding {
				t.Errorf("%s: finding %q, want %q", tc.reason, got, tc.wantFinding)
			}
		})
	}
}

// TestSimulateScaleUpDelay: reactive scaling follows the daily cycle up
// every morning, so making new replicas wait must cost it served demand,
// and the oracle, which scales ahead, must not notice.
func TestSimulateScaleUpDelay(t *testing.T) {
	cfg, fsys := repo(t, nil)
	series, err := forecast.CSVSource{FS: fstest.MapFS{"s.csv": {Data: []byte(sineCSV(10, 10, 50))}}, Path: "s.csv"}.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	served := map[time.Duration]map[string]float64{}
	for _, d := range []time.Duration{-1, time.Hour} {
		sim, err := p.Simulate(context.Background(), planner.SimulationInput{
			Input:        planner.Input{Config: cfg, FS: fsys},
			Series:       map[string]forecast.Series{"web": series},
			ScaleUpDelay: d,
		})
		if err != nil {
			t.Fatal(err)
		}
		served[d] = map[string]float64{}
		for _, s := range sim.Strategies {
			served[d][s.Name] = s.DemandServed
		}
	}
	if none, slow := served[-1][planner.StrategyReactive], served[time.Hour][planner.StrategyReactive]; slow >= none {
		t.Errorf("reactive served %.3f%% of demand with an hour's scale-up delay and %.3f%% with none; the delay must cost", slow, none)
	}
	if o := served[time.Hour][planner.StrategyOracle]; o != 100 {
		t.Errorf("the oracle scales up ahead of time; with a delay it served %.3f%%", o)
	}
}

// replaySine simulates web over ten days of sineCSV(10, 10, 50).
func replaySine(t *testing.T, cfg *meridian.Config, fsys fstest.MapFS) *planner.Simulation {
	t.Helper()
	series, err := forecast.CSVSource{FS: fstest.MapFS{"s.csv": {Data: []byte(sineCSV(10, 10, 50))}}, Path: "s.csv"}.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	sim, err := p.Simulate(context.Background(), planner.SimulationInput{
		Input:  planner.Input{Config: cfg, FS: fsys},
		Series: map[string]forecast.Series{"web": series},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

func TestSimulate(t *testing.T) {
	cfg, fsys := repo(t, nil)
	sim := replaySine(t, cfg, fsys)
	// 10 days × 288 slots: the last 576 slots are replayed in 48-slot windows.
	if sim.Windows != 12 {
		t.Errorf("windows = %d, want 12", sim.Windows)
	}
	by := map[string]planner.StrategyOutcome{}
	for _, s := range sim.Strategies {
		by[s.Name] = s
		if s.Slots != 12*48 {
			t.Errorf("%s checked %d slots, want %d", s.Name, s.Slots, 12*48)
		}
	}
	if o := by[planner.StrategyOracle]; o.SLA != 100 {
		t.Errorf("the oracle provisions each window's true peak, so it serves every slot; got %.2f%%", o.SLA)
	}
	if s := by[planner.StrategyStatic]; s.SLA != 100 {
		t.Errorf("a repeating cycle never exceeds its historical peak; static served %.2f%%", s.SLA)
	}
	if f, s := by[planner.StrategyForecast], by[planner.StrategyStatic]; f.Cost >= s.Cost || f.SLA < 99 {
		t.Errorf("on a clean daily cycle the forecast must beat static peak on cost at ≥99%% SLA: forecast %v at %.2f%%, static %v", f.Cost, f.SLA, s.Cost)
	}
	if o, s := by[planner.StrategyOracle], by[planner.StrategyStatic]; o.Cost > s.Cost {
		t.Errorf("with nothing else in the config to displace, the oracle (%v) cannot cost more than static peak (%v)", o.Cost, s.Cost)
	}
	for _, s := range sim.Strategies {
		if s.SLA != s.SlotsServed {
			t.Errorf("%s: sla_percent %.3f must stay an alias of slots_served_percent %.3f", s.Name, s.SLA, s.SlotsServed)
		}
		if s.DemandServed < s.SlotsServed-1e-9 && s.SlotsServed == 100 {
			t.Errorf("%s: every slot served but only %.3f%% of demand", s.Name, s.DemandServed)
		}
	}
	if o := by[planner.StrategyOracle]; o.DemandServed != 100 || o.GapToOracle != 0 {
		t.Errorf("the oracle serves all demand at no gap to itself; got %.3f%% served, gap %.2f%%", o.DemandServed, o.GapToOracle)
	}
	if s := by[planner.StrategyStatic]; s.Moves != 0 {
		t.Errorf("static peak never changes its sizing, so with the ledger carried it never moves; got %d moves", s.Moves)
	}
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Simulate(context.Background(), planner.SimulationInput{Input: planner.Input{Config: cfg, FS: fsys}}); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("simulating with no series must fail clearly, got %v", err)
	}
}

// TestSimulateCarriesLedger: reactive sizing swings web between 2 and 6
// replicas every day, and dc-eu only has room for 4, so a re-plan from
// scratch moves web to the cloud every morning and back every night. The
// replay carries each window's placements as the ledger, as apply does, so
// when leaving the cloud saves less than the hysteresis threshold web must
// stay there after the first forced move; with a zero threshold the same
// swings must move it back and forth.
func TestSimulateCarriesLedger(t *testing.T) {
	small := strings.Replace(targets, "capacity: {vcpu: 8, memory_gib: 32}", "capacity: {vcpu: 4, memory_gib: 32}", 1)
	cases := []struct {
		name      string
		placement string
		// minMoves and maxMoves bound the reactive strategy's moves.
		minMoves, maxMoves int
	}{
		{"moving is free", "min_saving_percent: 0, min_saving_usd: 0", 4, 1000},
		{"moving is not worth it", "min_saving_percent: 0, min_saving_usd: 100000", 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fsys := repo(t, map[string]string{
				"targets/all.yaml": small,
				"meridian.yaml":    "apiVersion: meridian/v1\nkind: Settings\nplacement: {" + tc.placement + "}\n",
			})
			sim := replaySine(t, cfg, fsys)
			for _, s := range sim.Strategies {
				if s.Name != planner.StrategyReactive {
					continue
				}
				if s.Moves < tc.minMoves || s.Moves > tc.maxMoves {
					t.Errorf("reactive moved %d times over %d windows, want %d..%d", s.Moves, sim.Windows, tc.minMoves, tc.maxMoves)
				}
			}
		})
	}
}

// TestSimulateDisplacement: static peak holds 6 replicas (6 vCPU) of web
// on dc-eu, which has 8, so batch (4 vCPU, not replayed) no longer fits
// there and runs in the cloud. The replay must charge static peak what
// that costs batch, window by window, and charge nothing when dc-eu has
// room for both.
func TestSimulateDisplacement(t *testing.T) {
	const batch = `apiVersion: meridian/v1
kind: Workload
name: batch
tags: {owner: a, cost-center: b, env: prod}
replicas: {min: 2, max: 2}
per_replica: {vcpu: 2, memory_gib: 2, capacity: 10}
`
	// batchOn is batch's monthly cost pinned to target, alone.
	batchOn := func(target string) meridian.Money {
		cfg, fsys := repo(t, map[string]string{"workloads/web.yaml": batch + "pin: " + target + "\n"})
		pl := plan(t, cfg, fsys, nil)
		if len(pl.Placements) != 1 {
			t.Fatalf("batch pinned to %s: %d placements", target, len(pl.Placements))
		}
		return pl.Placements[0].MonthlyCost
	}
	extra := batchOn("cloud-us") - batchOn("dc-eu")
	if extra <= 0 {
		t.Fatalf("the test needs the cloud to cost batch more than dc-eu; it costs %v more", extra)
	}
	cases := []struct {
		name      string
		dcVCPU    string
		displaced func(windows int) meridian.Money
	}{
		{"dc-eu holds both", "16", func(int) meridian.Money { return 0 }},
		{"web pushes batch out", "8", func(windows int) meridian.Money {
			return extra * meridian.Money(float64(windows)*4/meridian.HoursPerMonth)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, fsys := repo(t, map[string]string{
				"targets/all.yaml":     strings.Replace(targets, "capacity: {vcpu: 8,", "capacity: {vcpu: "+tc.dcVCPU+",", 1),
				"workloads/batch.yaml": batch,
			})
			sim := replaySine(t, cfg, fsys)
			for _, s := range sim.Strategies {
				if s.Cost != s.OwnCost+s.DisplacedCost {
					t.Errorf("%s: cost %v is not own %v + displaced %v", s.Name, s.Cost, s.OwnCost, s.DisplacedCost)
				}
				var own meridian.Money
				for _, w := range s.Workloads {
					own += w.Cost
				}
				if math.Abs(float64(own-s.OwnCost)) > 1e-6 {
					t.Errorf("%s: the workloads' own costs add up to %v, not %v", s.Name, own, s.OwnCost)
				}
				if s.Name != planner.StrategyStatic {
					continue
				}
				if want := tc.displaced(sim.Windows); math.Abs(float64(s.DisplacedCost-want)) > 0.005 {
					t.Errorf("static peak displaced %v, want %v", s.DisplacedCost, want)
				}
			}
		})
	}
}
