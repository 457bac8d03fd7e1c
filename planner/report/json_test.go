package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// samplePlan is a plan with every list filled, strings that encoding/json
// escapes, and n placements.
func samplePlan(n int) *meridian.Plan {
	p := &meridian.Plan{SchemaVersion: meridian.PlanSchemaVersion, ID: "0123456789abcdef", Repo: "/r", Commit: "c0ffee", Currency: "USD",
		Unplaceable: []meridian.Unplaceable{{Workload: "big", Reason: "capacity: every compliant target is full (a, b)",
			Targets: []meridian.RejectionGroup{{Rule: "capacity", OtherReasons: 4, Count: 9, Nearest: []string{"a", "b", "c"}}},
			Sizing:  &meridian.Sizing{Method: "replicas.min", Replicas: 2}}},
		Findings: []meridian.Finding{{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "w<0>", Message: "tags.owner & \"team\" <missing>\n",
			File: "workloads/w.yaml", Line: 3}},
		TotalMonthlyCost: 12.5, Solver: meridian.SolverStats{Method: "exact", LowerBound: 12.5, Optimal: true},
		Current: map[string][]string{"w0": {"a", "b"}, "w1": {"c"}},
	}
	p.Placements = make([]meridian.Placement, n)
	for i := range p.Placements {
		p.Placements[i] = meridian.Placement{Workload: fmt.Sprintf("w%d", i), Target: "a", Replicas: 2, MonthlyCost: 1.005, Cost: meridian.CostBreakdown{Compute: 1.005},
			Explanation: meridian.Explanation{Reason: "cheapest compliant target", RunnerUp: &meridian.RunnerUp{Target: "b", ExtraCost: 0.5},
				CapacityBlocked: []meridian.CapacityBlocked{}, Rejected: []meridian.RejectionGroup{
					{Rule: "MER-RET-001", Reason: "requires 400 days of log retention; target keeps logs at most 365 days", Count: 143, Nearest: []string{"c", "d", "e"}}},
				RejectedCount: 143, Sizing: &meridian.Sizing{Method: "replicas.min", Replicas: 2}}}
	}
	return p
}

// TestJSONMatchesEncodingJSON pins the streamed document to the bytes of
// encoding/json's indented encoding of the whole plan, which is what the
// document was before it was streamed and what consumers compare with.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	cases := map[string]struct {
		reason string
		plan   *meridian.Plan
	}{
		"full": {reason: "every list filled, escaped characters in strings", plan: samplePlan(3)},
		"empty lists": {reason: "empty lists are [], as the planner makes them",
			plan: &meridian.Plan{ID: "x", Placements: []meridian.Placement{}, Unplaceable: []meridian.Unplaceable{}, Findings: []meridian.Finding{}}},
		"nil lists":     {reason: "nil lists are null, as encoding/json writes them", plan: &meridian.Plan{ID: "x"}},
		"one placement": {reason: "a single element has no separator", plan: samplePlan(1)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(tc.plan); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := JSON(&got, tc.plan); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.String(), got.String()); diff != "" {
				t.Errorf("%s (-encoding/json +JSON):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestJSONRoundTrip checks that a version 2 document reads back as the
// plan that was written.
func TestJSONRoundTrip(t *testing.T) {
	want := samplePlan(2)
	var b bytes.Buffer
	if err := JSON(&b, want); err != nil {
		t.Fatal(err)
	}
	var got meridian.Plan
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &got, cmp.Comparer(func(a, b meridian.Money) bool { return a.Round() == b.Round() })); diff != "" {
		t.Errorf("plan read back differs (-written +read):\n%s", diff)
	}
}

// BenchmarkJSON writes a plan of 10,000 placements.
func BenchmarkJSON(b *testing.B) {
	p := samplePlan(10000)
	for b.Loop() {
		if err := JSON(io.Discard, p); err != nil {
			b.Fatal(err)
		}
	}
}
