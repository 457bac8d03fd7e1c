package meridian_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// v1Plan is a plan document as version 1 wrote it: every rejected target
// with all its rules and reasons, and no counts.
const v1Plan = `{
  "id": "65f3bbd49796168a",
  "commit": "",
  "currency": "USD",
  "placements": [
    {
      "workload": "cart-service",
      "target": "onprem-dal-dc2",
      "replicas": 3,
      "monthly_cost": 68.85,
      "explanation": {
        "reason": "cheapest compliant target with capacity",
        "runner_up": {"target": "azure-eastus", "extra_cost": 35.39},
        "capacity_blocked": [{"target": "onprem-fra-dc1", "saving": 4.17, "reason": "would be $4.17/mo cheaper but has no capacity left"}],
        "rejected": [
          {"target": "edge-ber-store", "rules": ["MER-RET-001", "ORG-EDGE-001"], "reasons": ["keeps logs 30 days", "edge only"]},
          {"target": "edge-chi-store", "rules": ["ORG-EDGE-001"], "reasons": ["edge only"]},
          {"target": "edge-sin-hub", "rules": ["ORG-EDGE-001"], "reasons": ["edge only"]},
          {"target": "onprem-x", "rules": ["ORG-EDGE-001"], "reasons": ["edge only"]},
          {"target": "zz-odd", "rules": ["A", "B"], "reasons": ["one message for both"]}
        ]
      }
    }
  ],
  "unplaceable": [
    {"workload": "big", "reason": "capacity: every compliant target is full (dc)",
     "targets": [{"target": "aws", "rules": ["pin"], "reasons": ["the workload is pinned to dc"]},
                 {"target": "dc", "rules": ["capacity"], "reasons": ["needs 3 vCPU, only 2 left"]}]}
  ],
  "findings": [],
  "total_monthly_cost": 68.85,
  "solver": {"method": "exact", "lower_bound": 68.85, "gap_percent": 0, "optimal": true}
}`

// TestPlanReadsVersion1 checks that plans stored before version 2 still
// load, their rejected targets grouped by rule and reason.
func TestPlanReadsVersion1(t *testing.T) {
	var p meridian.Plan
	if err := json.Unmarshal([]byte(v1Plan), &p); err != nil {
		t.Fatal(err)
	}
	if p.SchemaVersion != 0 {
		t.Errorf("schema_version %d, want 0 (absent)", p.SchemaVersion)
	}
	ex := p.Placements[0].Explanation
	want := []meridian.RejectionGroup{
		{Rule: "MER-RET-001", Reason: "keeps logs 30 days", Count: 1, Nearest: []string{"edge-ber-store"}},
		{Rule: "ORG-EDGE-001", Reason: "edge only", Count: 4, Nearest: []string{"edge-ber-store", "edge-chi-store", "edge-sin-hub"}},
		// Rules and reasons that do not pair up: each rule gets them all.
		{Rule: "A", Reason: "one message for both", Count: 1, Nearest: []string{"zz-odd"}},
		{Rule: "B", Reason: "one message for both", Count: 1, Nearest: []string{"zz-odd"}},
	}
	if diff := cmp.Diff(want, ex.Rejected); diff != "" {
		t.Errorf("rejected groups (-want +got):\n%s", diff)
	}
	if ex.RejectedCount != 5 || ex.CapacityBlockedCount != 1 {
		t.Errorf("rejected_count %d, capacity_blocked_count %d; want 5 and 1", ex.RejectedCount, ex.CapacityBlockedCount)
	}
	wantU := []meridian.RejectionGroup{
		{Rule: "pin", Reason: "the workload is pinned to dc", Count: 1, Nearest: []string{"aws"}},
		{Rule: "capacity", Reason: "needs 3 vCPU, only 2 left", Count: 1, Nearest: []string{"dc"}},
	}
	if diff := cmp.Diff(wantU, p.Unplaceable[0].Targets); diff != "" {
		t.Errorf("unplaceable targets (-want +got):\n%s", diff)
	}
}

// FuzzPlanDocument reads arbitrary plan documents, as `meridian explain
// --plan FILE` does: reading must not panic, and a plan read once must
// write and read back to the same document.
func FuzzPlanDocument(f *testing.F) {
	f.Add([]byte(v1Plan))
	f.Add([]byte(`{"schema_version": 2, "placements": [{"explanation": {"rejected": [{"rule": "R", "count": 2, "nearest": ["a"]}], "rejected_count": 2}}],
		"unplaceable": [{"workload": "w", "targets": [{"rule": "capacity", "other_reasons": 3, "count": 4, "nearest": []}]}], "current": {"w": ["a"]}}`))
	f.Add([]byte(`{"placements": [{"explanation": {"rejected": [{"target": "t", "rules": null}]}}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var p meridian.Plan
		if json.Unmarshal(doc, &p) != nil {
			return
		}
		once, err := json.Marshal(&p)
		if err != nil {
			t.Fatalf("write a plan read from %q: %v", doc, err)
		}
		var again meridian.Plan
		if err := json.Unmarshal(once, &again); err != nil {
			t.Fatalf("read back %s: %v", once, err)
		}
		twice, err := json.Marshal(&again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Errorf("a plan does not read back as written:\n%s\n%s", once, twice)
		}
	})
}
