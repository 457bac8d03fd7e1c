package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/spf13/pflag"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// TestPlanSavesGitReposOrWhenAsked: `meridian plan` with Terraform saves
// the plans of a Git repository (for `meridian apply PLAN_ID`), but not
// those of a plain folder unless --save says so; --save=false never saves.
// A plan that is not saved leaves no plan files in the state dir either.
func TestPlanSavesGitReposOrWhenAsked(t *testing.T) {
	bin := terraformtest.Binary(t)
	folder := copyExample(t)
	repo := gitExample(t)
	runGit(t, repo, "add", "-A")
	runGit(t, repo, "commit", "-qm", "init")
	cases := map[string]struct {
		reason string
		dir    string
		flags  []string
		saved  bool
	}{
		"Folder":          {"a folder's plans are throwaway unless asked", folder, nil, false},
		"FolderSave":      {"--save keeps a folder's plan", folder, []string{"--save"}, true},
		"GitRepo":         {"a Git repository's plans are saved as before", repo, nil, true},
		"GitRepoNoSave":   {"--save=false never saves", repo, []string{"--save=false"}, false},
		"FolderSaveFalse": {"--save=false on a folder is the default", folder, []string{"--save=false"}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			state := t.TempDir()
			args := append([]string{"plan", "--repo", tc.dir, "--format", "json", "--state-dir", state, "--terraform-bin", bin}, tc.flags...)
			r := runCLI(t, args...)
			if r.code != 0 && r.code != exitBlocked {
				t.Fatalf("plan exited %d:\n%s", r.code, r.stderr)
			}
			var doc struct{ ID string }
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.ID == "" {
				t.Fatalf("plan JSON: %v\n%s", err, r.stdout)
			}
			db, err := sqlite.Open(context.Background(), filepath.Join(state, "meridian.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			_, err = db.GetPlan(context.Background(), doc.ID)
			if saved := err == nil; saved != tc.saved {
				t.Errorf("%s: plan saved %t (%v), want %t", tc.reason, saved, err, tc.saved)
			}
			_, err = os.Stat(filepath.Join(state, "plans", store.RepoID(tc.dir), doc.ID))
			if files := err == nil; files != tc.saved {
				t.Errorf("%s: plan files there %t, want %t", tc.reason, files, tc.saved)
			}
		})
	}
}

// TestPlanRetentionFlag: --plan-retention 0 keeps every plan (a negative
// workflow.Options.PlanRetention), the default shows as the store's, and
// a count below zero or not a number is refused.
func TestPlanRetentionFlag(t *testing.T) {
	cases := map[string]struct {
		arg     string
		want    int
		wantErr bool
	}{
		"Count":    {"7", 7, false},
		"KeepAll":  {"0", -1, false},
		"Negative": {"-1", 0, true},
		"NotCount": {"many", 0, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var n int
			fs := pflag.NewFlagSet("plan", pflag.ContinueOnError)
			fs.SetOutput(io.Discard)
			registerPlanRetention(fs, &n)
			if def := fs.Lookup("plan-retention").DefValue; def != strconv.Itoa(store.DefaultPlanRetention) {
				t.Errorf("default shown as %q, want the store's %d", def, store.DefaultPlanRetention)
			}
			err := fs.Parse([]string{"--plan-retention", tc.arg})
			if (err != nil) != tc.wantErr || n != tc.want {
				t.Errorf("--plan-retention %s: %d, %v; want %d (error %t)", tc.arg, n, err, tc.want, tc.wantErr)
			}
		})
	}
}
