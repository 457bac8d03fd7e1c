package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// TestDashboardCounts: the overview's counts agree with what the lists
// hold, per repo, branch and state.
func TestDashboardCounts(t *testing.T) {
	db := mustOpen(t, nil)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	record := func(repo, branch, workload string, sev meridian.Severity, state meridian.FindingState) meridian.FindingRecord {
		f := meridian.Finding{Rule: "R-" + string(sev), Workload: workload}
		return meridian.FindingRecord{RepoID: repo, Branch: branch, Fingerprint: meridian.Fingerprint(f), Rule: f.Rule, Severity: sev,
			Workload: workload, Message: "m", State: state, FirstSeen: at, LastSeen: at}
	}
	if _, err := db.SaveFindings(ctx, []meridian.FindingRecord{
		record("r1", "main", "a", meridian.SeverityDeny, meridian.FindingOpen),
		record("r1", "main", "b", meridian.SeverityDeny, meridian.FindingOpen),
		record("r1", "main", "c", meridian.SeverityWarn, meridian.FindingOpen),
		record("r1", "main", "d", meridian.SeverityWarn, meridian.FindingWaived),
		record("r1", "dev", "e", meridian.SeverityDeny, meridian.FindingOpen),
		record("r2", "main", "f", meridian.SeverityInfo, meridian.FindingOpen),
	}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := db.CountFindings(ctx, "r1", "main", meridian.FindingOpen)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[meridian.Severity]int{meridian.SeverityDeny: 2, meridian.SeverityWarn: 1}, got); d != "" {
		t.Errorf("open findings of r1/main (-want +got):\n%s", d)
	}

	drift := func(resource string) meridian.DriftRecord {
		return meridian.DriftRecord{RepoID: "r1", Engine: meridian.DriftEngineTerraform, Target: "t", Resource: resource}
	}
	engines := []meridian.DriftEngine{meridian.DriftEngineTerraform}
	if _, err := db.SyncDrift(ctx, "r1", engines, []meridian.DriftRecord{drift("x"), drift("y"), drift("z")}); err != nil {
		t.Fatal(err)
	}
	// A later check no longer sees z: cleared, so no longer counted.
	if _, err := db.SyncDrift(ctx, "r1", engines, []meridian.DriftRecord{drift("x"), drift("y")}); err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]int{"r1": 2, "r2": 0} {
		n, err := db.CountOpenDrift(ctx, repo)
		if err != nil || n != want {
			t.Errorf("open drift of %s: %d %v, want %d", repo, n, err, want)
		}
	}
}
