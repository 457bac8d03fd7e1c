package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimulateJSON runs simulate on the example and checks the contract of
// its JSON: every strategy under strategies[] with its name, cost, the
// percentages against static peak and the oracle, demand and slots served
// (sla_percent an alias of the latter), and moves; and --history-dir adds
// to the repo's histories instead of replacing them.
func TestSimulateJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("replays the example")
	}
	dir := copyExample(t)
	// One extra series under a workload without load.history in the repo:
	// the replay must cover it and keep the repo's four.
	hist := t.TempDir()
	src, err := os.ReadFile(filepath.Join(dir, "metrics", "cart-service.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hist, "payments-api.csv"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "simulate", "--repo", dir, "--history-dir", hist, "--replan", "8h", "--format", "json")
	if r.code != 0 {
		t.Fatalf("simulate exited %d; stderr:\n%s", r.code, r.stderr)
	}
	var sim struct {
		Workloads  []string
		Strategies []map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &sim); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%.300s", err, r.stdout)
	}
	if got := strings.Join(sim.Workloads, ","); got != "cart-service,checkout-web,payments-api,reco-engine,search-api" {
		t.Errorf("replayed %s, want the repo's four histories plus payments-api from --history-dir", got)
	}
	names := map[string]bool{}
	for _, s := range sim.Strategies {
		name, _ := s["name"].(string)
		names[name] = true
		for _, k := range []string{"cost", "own_cost", "displaced_cost", "cost_vs_static_percent", "gap_to_oracle_percent", "demand_served_percent", "slots_served_percent", "sla_percent", "moves"} {
			if _, ok := s[k].(float64); !ok {
				t.Errorf("strategy %q: %s missing or not a number", name, k)
			}
		}
		// Each replayed workload's share of the unserved demand: the
		// shares add up to what the strategy left unserved.
		per, _ := s["workloads"].([]any)
		if len(per) != len(sim.Workloads) {
			t.Errorf("strategy %q: %d workloads[] entries, want %d", name, len(per), len(sim.Workloads))
		}
		unserved := 0.0
		for _, w := range per {
			share, _ := w.(map[string]any)["unserved_share_percent"].(float64)
			unserved += share
		}
		if served, _ := s["demand_served_percent"].(float64); math.Abs(100-served-unserved) > 1e-6 {
			t.Errorf("strategy %q: workloads' unserved shares add up to %.6f%%, but %.6f%% was served", name, unserved, served)
		}
		if s["sla_percent"] != s["slots_served_percent"] {
			t.Errorf("strategy %q: sla_percent %v is not an alias of slots_served_percent %v", name, s["sla_percent"], s["slots_served_percent"])
		}
	}
	for _, want := range []string{"static-peak", "reactive", "forecast", "oracle"} {
		if !names[want] {
			t.Errorf("no strategy %q in %v", want, names)
		}
	}
}
