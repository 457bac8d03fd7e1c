package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
)

// BenchmarkSavePlan10000x200 saves the plan of a generated 10,000-workload,
// 200-target repo (issue 19's fleet) into a SQLite store, as `meridian
// plan` saves it, and reports what the store holds: the plan's JSON
// (raw-MB), what it takes in the database (stored-MB) and the database
// and WAL files after every save (file-MB). Planning the repo takes minutes; run it
// with -benchtime=3x.
func BenchmarkSavePlan10000x200(b *testing.B) {
	dir := b.TempDir()
	writeTopology(b, dir, 10000, 200, 1)
	out := filepath.Join(b.TempDir(), "plan.json")
	var stderr bytes.Buffer
	args := []string{"plan", "--repo", dir, "--format", "json", "--terraform=false", "--state-dir", b.TempDir(), "--out", out}
	if code := run(context.Background(), args, nil, io.Discard, &stderr); code != 0 && code != exitBlocked {
		b.Fatalf("plan exited %d:\n%s", code, stderr.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	// The document as the workflow stores it: json.Marshal of the plan.
	var plan meridian.Plan
	if err := json.Unmarshal(raw, &plan); err != nil {
		b.Fatal(err)
	}
	doc, err := json.Marshal(&plan)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "meridian.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rec := store.PlanRecord{ID: plan.ID, RepoID: "r1", Source: dir, Ref: "main", Document: doc}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if err := db.SavePlan(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	st, err := db.PlanStats(ctx, "r1")
	if err != nil {
		b.Fatal(err)
	}
	var files int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(db.Path() + suffix); err == nil {
			files += fi.Size()
		}
	}
	b.ReportMetric(float64(st.RawBytes)/1e6, "raw-MB")
	b.ReportMetric(float64(st.StoredBytes)/1e6, "stored-MB")
	b.ReportMetric(float64(files)/1e6, "file-MB")
}
