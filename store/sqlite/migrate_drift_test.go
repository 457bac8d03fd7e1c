package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
)

// TestMigrateDriftObservations builds a database at schema version 3 with
// the old drift observations and opens it: migration 4 must carry every
// observation over into drift records (one per unbroken streak of runs
// with the same action and detail), keep open exactly what the latest
// drift run saw, and drop the old table.
func TestMigrateDriftObservations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meridian.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	for v, name := range []string{"0001_core", "0002_server", "0003_history"} {
		b, err := os.ReadFile(filepath.Join("migrations", name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, v+1, name[5:])
	}
	// Three drift runs of r1 (d3 the latest), one of r2, each seeing its
	// drift 10ms after it started.
	for _, r := range []struct {
		id, repo string
		at       int64
	}{{"d1", "r1", 1000}, {"d2", "r1", 2000}, {"d3", "r1", 3000}, {"e1", "r2", 1500}} {
		exec(`INSERT INTO runs (id, repo_id, kind, status, started_at) VALUES (?, ?, 'drift', 'succeeded', ?)`, r.id, r.repo, r.at)
	}
	exec(`INSERT INTO runs (id, parent_id, repo_id, kind, status, started_at) VALUES ('d3-east', 'd3', 'r1', 'drift', 'succeeded', 5000)`)
	for _, o := range []struct {
		repo, run, kind, target, workload, address, action, detail string
		at                                                         int64
	}{
		// a: seen by d1 and d2 alike, then by d3 with another detail.
		{"r1", "d1", "terraform", "east", "api", "a", "update", "changed (tags)", 1010},
		{"r1", "d2", "terraform", "east", "api", "a", "update", "changed (tags)", 2010},
		{"r1", "d3", "terraform", "east", "api", "a", "update", "changed (name, tags)", 3010},
		// b: seen by d1 only.
		{"r1", "d1", "deploy-repo", "east", "", "clusters/x.yaml", "change", "changed since Meridian's commit", 1010},
		// c: seen by d1, not d2, again by d3.
		{"r1", "d1", "argocd", "east", "api", "Application api.east", "out-of-sync", "OutOfSync/Healthy", 1010},
		{"r1", "d3", "argocd", "east", "api", "Application api.east", "out-of-sync", "OutOfSync/Healthy", 3010},
		// The state, by r2's only run, which is its latest.
		{"r2", "e1", "terraform", "west", "", "", "state", "the state was written outside Meridian", 1510},
		// A kind the records do not know, from a run that is gone.
		{"r2", "gone", "custom", "west", "", "thing", "odd", "something", 900},
	} {
		exec(`INSERT INTO drift_observations (repo_id, run_id, kind, target, workload, address, action, detail, observed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.repo, o.run, o.kind, o.target, o.workload, o.address, o.action, o.detail, o.at)
	}
	raw.Close()

	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	tf, dr, argo := meridian.DriftEngineTerraform, meridian.DriftEngineDeployRepo, meridian.DriftEngineArgoCD
	cases := map[string]struct {
		reason string
		repo   string
		want   []meridian.DriftRecord
	}{
		"r1": {
			reason: "streaks split on a new detail and on a run that did not see the drift; what d3 saw stays open",
			repo:   "r1",
			want: []meridian.DriftRecord{
				{Engine: argo, Target: "east", Workload: "api", Resource: "Application api.east", Action: "out-of-sync", Actual: "OutOfSync/Healthy",
					FirstSeen: ms(3010), LastSeen: ms(3010)},
				{Engine: tf, Target: "east", Workload: "api", Resource: "a", Action: "update", Actual: "changed (name, tags)",
					FirstSeen: ms(3010), LastSeen: ms(3010)},
				{Engine: tf, Target: "east", Workload: "api", Resource: "a", Action: "update", Actual: "changed (tags)",
					FirstSeen: ms(1010), LastSeen: ms(2010), ClearedAt: ms(3000)},
				{Engine: argo, Target: "east", Workload: "api", Resource: "Application api.east", Action: "out-of-sync", Actual: "OutOfSync/Healthy",
					FirstSeen: ms(1010), LastSeen: ms(1010), ClearedAt: ms(2000)},
				{Engine: dr, Target: "east", Resource: "clusters/x.yaml", Action: "change", Actual: "changed since Meridian's commit",
					FirstSeen: ms(1010), LastSeen: ms(1010), ClearedAt: ms(2000)},
			},
		},
		"r2": {
			reason: "an unknown kind becomes engine live with the kind kept; a run that is gone leaves the record cleared at its last sighting",
			repo:   "r2",
			want: []meridian.DriftRecord{
				{Engine: tf, Target: "west", Action: "state", Actual: "the state was written outside Meridian", FirstSeen: ms(1510), LastSeen: ms(1510)},
				{Engine: meridian.DriftEngineLive, Target: "west", Resource: "thing", Action: "odd", Actual: "custom: something",
					FirstSeen: ms(900), LastSeen: ms(900), ClearedAt: ms(1500)},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := db.ListDrift(ctx, store.DriftFilter{RepoID: tc.repo, State: store.DriftAll})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				tc.want[i].RepoID = tc.repo
			}
			ignoreID := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ID" }, cmp.Ignore())
			if diff := cmp.Diff(tc.want, got, ignoreID); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
	if err := sqlite.ExecForTest(ctx, db, `SELECT 1 FROM drift_observations`); err == nil {
		t.Error("the old drift_observations table must be gone")
	}
}
