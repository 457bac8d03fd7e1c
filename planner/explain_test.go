package planner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/examples"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/planner/report"
)

// hybridPlan plans examples/hybrid from ledger current and returns the
// config and the plan as its document reads back, which is what
// `meridian explain --plan` and the server explain.
func hybridPlan(t *testing.T, current map[string][]string) (*meridian.Config, *meridian.Plan) {
	t.Helper()
	return hybridPlanLive(t, current, nil)
}

// hybridPlanLive is hybridPlan given the live findings live.
func hybridPlanLive(t *testing.T, current map[string][]string, live []meridian.Finding) (*meridian.Config, *meridian.Plan) {
	t.Helper()
	fsys := examples.Hybrid()
	cfg, err := config.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	made, err := p.Plan(context.Background(), planner.Input{Config: cfg, FS: fsys, Commit: "c0ffee", Current: current, Live: live})
	if err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	if err := report.JSON(&doc, made); err != nil {
		t.Fatal(err)
	}
	var read meridian.Plan
	if err := json.Unmarshal(doc.Bytes(), &read); err != nil {
		t.Fatal(err)
	}
	return cfg, &read
}

// TestExplainAgreesWithPlan explains every workload of the example, from
// no ledger and from one that puts each workload on its runner-up (moves,
// hysteresis, and limited targets whose room decides it), and checks the
// detail against the plan: the same placements, reasons and runner-ups,
// the named capacity-blocked and rejected targets with those verdicts,
// and as many rejected targets as the plan counts.
func TestExplainAgreesWithPlan(t *testing.T) {
	_, first := hybridPlan(t, nil)
	moved := map[string][]string{}
	for _, pl := range first.Placements {
		if r := pl.Explanation.RunnerUp; r != nil {
			moved[pl.Workload] = append(moved[pl.Workload], r.Target)
		}
	}
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	for name, current := range map[string]map[string][]string{"no ledger": nil, "moved": moved} {
		cfg, plan := hybridPlan(t, current)
		byWorkload := map[string][]meridian.Placement{}
		for _, pl := range plan.Placements {
			byWorkload[pl.Workload] = append(byWorkload[pl.Workload], pl)
		}
		for _, w := range cfg.Workloads {
			ex, err := p.Explain(context.Background(), cfg, plan, w.Name, "")
			if err != nil {
				t.Fatalf("%s: explain %s: %v", name, w.Name, err)
			}
			if ex.PlanID != plan.ID || ex.Workload != w.Name || len(ex.Targets) != len(cfg.Targets) {
				t.Fatalf("%s: explanation of %s in %s with %d targets, want %s in %s with %d", name, ex.Workload, ex.PlanID, len(ex.Targets), w.Name, plan.ID, len(cfg.Targets))
			}
			line := map[string]meridian.TargetExplanation{}
			rejected := 0
			for _, te := range ex.Targets {
				line[te.Target] = te
				if te.Verdict == meridian.VerdictRejected && !slices.Contains(te.Rules, "price") {
					rejected++
				}
			}
			pls := byWorkload[w.Name]
			var want []meridian.ExplainedPlacement
			for _, pl := range pls {
				want = append(want, meridian.ExplainedPlacement{Target: pl.Target, Replicas: pl.Replicas, MonthlyCost: pl.MonthlyCost,
					Reason: pl.Explanation.Reason, RunnerUp: pl.Explanation.RunnerUp})
				checkVerdict(t, name, w.Name, line, pl.Target, meridian.VerdictChosen, "")
				if r := pl.Explanation.RunnerUp; r != nil {
					checkVerdict(t, name, w.Name, line, r.Target, meridian.VerdictRunnerUp, "")
				}
				for _, cb := range pl.Explanation.CapacityBlocked {
					checkVerdict(t, name, w.Name, line, cb.Target, meridian.VerdictCapacityBlocked, "capacity")
				}
				for _, g := range pl.Explanation.Rejected {
					for _, n := range g.Nearest {
						checkVerdict(t, name, w.Name, line, n, meridian.VerdictRejected, g.Rule)
					}
				}
				if pl.Explanation.RejectedCount != rejected {
					t.Errorf("%s: %s: the plan counts %d rejected targets, the detail %d", name, w.Name, pl.Explanation.RejectedCount, rejected)
				}
			}
			if diff := cmp.Diff(want, ex.Placements, cmpopts()...); len(pls) > 0 && diff != "" {
				t.Errorf("%s: %s: placements differ from the plan (-plan +explain):\n%s", name, w.Name, diff)
			}
		}
	}
}

func cmpopts() []cmp.Option {
	return []cmp.Option{cmp.Comparer(func(a, b meridian.Money) bool { return a.Round() == b.Round() })}
}

func checkVerdict(t *testing.T, scenario, workload string, line map[string]meridian.TargetExplanation, target string, want meridian.Verdict, rule string) {
	t.Helper()
	te, ok := line[target]
	if !ok || te.Verdict != want || rule != "" && !slices.Contains(te.Rules, rule) {
		t.Errorf("%s: %s on %s: %+v, want verdict %s with rule %q", scenario, workload, target, te, want, rule)
	}
}

// TestExplainRefuses checks that an explanation is only ever made from the
// inputs the plan was made from, and names what is not there.
func TestExplainRefuses(t *testing.T) {
	cfg, plan := hybridPlan(t, nil)
	edited, _ := hybridPlan(t, nil)
	edited.Workloads[0].Replicas.Min++
	old := *plan
	old.SchemaVersion = 0
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		reason   string
		cfg      *meridian.Config
		plan     *meridian.Plan
		workload string
		target   string
		code     string
	}{
		"edited config": {reason: "a config the plan was not made from would explain another plan", cfg: edited, plan: plan, workload: "docs-site", code: meridian.ECONFLICT},
		"version 1":     {reason: "a version 1 document lacks the ledger and sizing", cfg: cfg, plan: &old, workload: "docs-site", code: meridian.ECONFLICT},
		"no workload":   {reason: "an unknown workload is not found", cfg: cfg, plan: plan, workload: "nope", code: meridian.ENOTFOUND},
		"no target":     {reason: "an unknown target is not found", cfg: cfg, plan: plan, workload: "docs-site", target: "nope", code: meridian.ENOTFOUND},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := p.Explain(context.Background(), tc.cfg, tc.plan, tc.workload, tc.target)
			if got := meridian.ErrorCode(err); got != tc.code {
				t.Errorf("%s: error %v (code %q), want code %q", tc.reason, err, got, tc.code)
			}
		})
	}
	ex, err := p.Explain(context.Background(), cfg, plan, "docs-site", "edge-ber-store")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Targets) != 1 || ex.Targets[0].Target != "edge-ber-store" || ex.Targets[0].Verdict != meridian.VerdictRejected {
		t.Errorf("explain --target edge-ber-store: %+v, want that target's line only, rejected", ex.Targets)
	}
}

// TestExplainPlanWithLiveFindings: a plan given live findings (the
// server's plans of a branch under audit) is explained like any other,
// whatever order the findings came in.
func TestExplainPlanWithLiveFindings(t *testing.T) {
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg, plain := hybridPlan(t, nil)
	w := cfg.Workloads[0].Name
	// Same rule, workload and target: only the resource tells them apart.
	live := []meridian.Finding{
		{Rule: "MER-LIVE-001", Severity: meridian.SeverityWarn, Workload: w, Message: "bucket is public", Source: meridian.FindingSourceLive, Resource: "arn:b"},
		{Rule: "MER-LIVE-001", Severity: meridian.SeverityWarn, Workload: w, Message: "bucket is public", Source: meridian.FindingSourceLive, Resource: "arn:a"},
	}
	var ids []string
	for _, order := range [][]meridian.Finding{live, {live[1], live[0]}} {
		cfg, plan := hybridPlanLive(t, nil, order)
		if _, err := p.Explain(context.Background(), cfg, plan, w, ""); err != nil {
			t.Fatalf("explain %s of a plan with live findings: %v", w, err)
		}
		ids = append(ids, plan.ID)
	}
	if ids[0] != ids[1] {
		t.Errorf("plan IDs %s and %s of the same live findings in another order; want one", ids[0], ids[1])
	}
	if plain.ID == ids[0] {
		t.Errorf("plan ID %s with live findings is the ID without them", ids[0])
	}
}
