package controlplane_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	gitconfig "github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/inventory"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
)

// switchable is a Reader whose inventory file the test changes between
// audits, and which can fail.
type switchable struct {
	path string
	fail bool
}

func (s *switchable) Resources(ctx context.Context) ([]meridian.LiveResource, error) {
	if s.fail {
		return nil, os.ErrDeadlineExceeded
	}
	return inventory.FileReader{FS: os.DirFS(filepath.Dir(s.path)), Path: filepath.Base(s.path)}.Resources(ctx)
}

// TestAuditor runs the server's scheduled audit three times on
// examples/hybrid with the recorded inventory of package inventory: the
// first opens live findings (on the branch's live lifecycle) and live
// drift; a failed read changes nothing; an inventory where everything was
// fixed resolves and clears them all.
func TestAuditor(t *testing.T) {
	ctx := context.Background()
	db, a, reader := hybridAuditor(t)
	fixed := filepath.Join(t.TempDir(), "fixed.json")
	if err := os.WriteFile(fixed, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}

	state := func() (open int, drift int) {
		t.Helper()
		recs, err := db.FindingRecords(ctx, store.FindingFilter{RepoID: "r1", Branch: controlplane.LiveBranch("main")})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.State == meridian.FindingOpen {
				open++
			}
		}
		ds, err := db.OpenDrift(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Engine == meridian.DriftEngineLive {
				drift++
			}
		}
		return open, drift
	}

	if _, err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	// Three tags of the VM, the bucket's key, the log group's retention;
	// the two changes and the legacy log group as drift.
	if open, drift := state(); open != 5 || drift != 3 {
		t.Fatalf("after the first audit: %d open findings, %d live drift records; want 5 and 3", open, drift)
	}
	if plans, _ := db.FindingRecords(ctx, store.FindingFilter{RepoID: "r1", Branch: "main"}); len(plans) != 0 {
		t.Errorf("live findings landed on the plans' branch: %v", plans)
	}

	reader.fail = true
	rep, err := a.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed()) != 1 {
		t.Fatalf("failed targets = %v", rep.Failed())
	}
	if open, drift := state(); open != 5 || drift != 3 {
		t.Errorf("a failed read changed the records: %d open findings, %d drift records", open, drift)
	}

	reader.fail, reader.path = false, fixed
	if _, err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if open, drift := state(); open != 0 || drift != 0 {
		t.Errorf("after everything was fixed: %d open findings, %d live drift records; want none", open, drift)
	}
	if a.Last() == nil || len(a.Last().Findings) != 0 {
		t.Errorf("Last() = %+v, want the clean audit", a.Last())
	}
}

// hybridAuditor is the server's scheduled audit of examples/hybrid on
// SQLite (repo r1, branch main), whose target aws-us-east-1 has an account
// read through reader: package inventory's recorded inventory of it, until
// the test changes reader.
func hybridAuditor(t *testing.T) (*sqlite.DB, *controlplane.Auditor, *switchable) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	cfg, err := gitconfig.Load(os.DirFS(filepath.Join(root, "examples", "hybrid")))
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Targets {
		if cfg.Targets[i].Name == "aws-us-east-1" {
			cfg.Targets[i].Account = &meridian.TargetAccount{ID: "111122223333"}
		}
	}
	loader := controlplanetest.NewLoader()
	loader.Set("main", &controlplane.Snapshot{Source: "repo", Commit: "c1", Config: cfg})
	db := controlplanetest.OpenSQLite(t)
	rec := controlplane.NewRecorder(db, controlplane.RecorderOptions{})
	reader := &switchable{path: filepath.Join(root, "inventory", "testdata", "hybrid", "aws-us-east-1.json")}
	a := controlplane.NewAuditor(controlplane.AuditorOptions{RepoID: "r1", Branch: "main", Interval: 1,
		Loader: loader, Drift: db, Recorder: rec,
		Open: func(context.Context, *meridian.Target) (inventory.Reader, error) { return reader, nil }})
	return db, a, reader
}
