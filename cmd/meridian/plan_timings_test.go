package main

import (
	"slices"
	"strings"
	"testing"
)

// TestPlanTimings checks --timings: one line on stderr naming every stage
// in the order they run, which BenchmarkPlan* parses, and a document on
// stdout that is the same with and without it, since timings are never
// part of a plan.
func TestPlanTimings(t *testing.T) {
	dir := copyExample(t)
	// One state dir for both: the deploy repo's path in it is in the plan.
	args := offline(t, "plan", "--repo", dir, "--format", "json")
	plain := runCLI(t, args...)
	timed := runCLI(t, append(args, "--timings")...)
	if timed.code != plain.code {
		t.Fatalf("exit %d with --timings, %d without:\n%s", timed.code, plain.code, timed.stderr)
	}
	if timed.stdout != plain.stdout {
		t.Error("--timings changed the plan document")
	}
	if strings.Contains(plain.stderr, "timings") {
		t.Errorf("timings printed without --timings:\n%s", plain.stderr)
	}
	m := timingsLine.FindStringSubmatch(timed.stderr)
	if m == nil {
		t.Fatalf("no timings line on stderr:\n%s", timed.stderr)
	}
	var stages []string
	for q, f := range strings.Fields(m[1]) {
		if q%2 == 0 {
			stages = append(stages, f)
		}
	}
	want := []string{"load", "policy", "forecast", "solve", "explain", "terraform", "deploy", "store", "write", "total"}
	if !slices.Equal(stages, want) {
		t.Errorf("stages %v, want %v", stages, want)
	}
	sums := map[string]float64{}
	if err := addTimings(sums, timed.stderr); err != nil {
		t.Fatal(err)
	}
	if sums["load"] <= 0 || sums["solve"] <= 0 {
		t.Errorf("load and solve must take some time, got %v", sums)
	}
}
