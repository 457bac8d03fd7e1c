package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store/sqlite"
)

// TestMigrateCrossplaneEngine builds a database at the schema before
// migration 8, whose drift_records CHECK knows no crossplane engine, with
// records in it, and opens it: migration 8 must keep every record and its
// id, keep ids from being handed out twice, and accept the new engine.
func TestMigrateCrossplaneEngine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meridian.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) error {
		_, err := raw.ExecContext(ctx, q, args...)
		return err
	}
	if err := exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".sql"))
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := strconv.Atoi(name[:4])
		if err != nil || v >= 8 {
			continue
		}
		b, err := os.ReadFile(filepath.Join("migrations", name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		if err := exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, v, name[5:]); err != nil {
			t.Fatal(err)
		}
	}
	ins := `INSERT INTO drift_records (repo_id, engine, target, resource, action, first_seen, last_seen, cleared_at) VALUES (?, ?, ?, ?, ?, 1000, 2000, ?)`
	if err := exec(ins, "r1", "crossplane", "aws", "Bucket.s3/x/y", "missing", nil); err == nil {
		t.Fatal("the schema before migration 8 accepted engine crossplane: the test does not start where it should")
	}
	for _, r := range []struct {
		engine, target, resource string
		cleared                  any
	}{{"terraform", "east", "aws_s3_bucket.a", nil}, {"argocd", "aws", "api.aws", 3000}, {"deploy-repo", "", "x.yaml", nil}} {
		if err := exec(ins, "r1", r.engine, r.target, r.resource, "change", r.cleared); err != nil {
			t.Fatal(err)
		}
	}
	// The newest id is gone: it must still not be handed out again.
	if err := exec(`DELETE FROM drift_records WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	open, err := db.OpenDrift(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].ID != 1 || open[0].Resource != "aws_s3_bucket.a" {
		t.Fatalf("open records after migration: %+v, want only id 1 (aws_s3_bucket.a)", open)
	}
	x := meridian.DriftRecord{Engine: meridian.DriftEngineCrossplane, Target: "aws", Workload: "api", Resource: "Bucket.s3.aws.m.upbound.io/api/api.aws.bucket", Action: meridian.DriftMissing}
	evs, err := db.SyncDrift(ctx, "r1", []meridian.DriftEngine{meridian.DriftEngineCrossplane}, []meridian.DriftRecord{x})
	if err != nil {
		t.Fatalf("crossplane drift after migration: %v", err)
	}
	if len(evs) != 1 || evs[0].Type != meridian.EventDriftOpened {
		t.Fatalf("events: %+v, want one drift.opened", evs)
	}
	open, err = db.OpenDrift(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, d := range open {
		ids = append(ids, d.ID)
	}
	if diff := cmp.Diff([]int64{4, 1}, ids); diff != "" {
		t.Errorf("open record ids, by engine (-want +got):\n%s", diff)
	}
}
