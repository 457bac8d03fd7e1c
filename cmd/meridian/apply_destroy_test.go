package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/store/storetest"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// removedTarget is the example's Terraform target these tests remove: it
// runs two workloads (six resources), which move elsewhere.
const removedTarget = "aws-us-east-1"

// workspaceState reads a target's local-backend state in the state dir:
// its serial and resource instances.
func workspaceState(t *testing.T, state, repo, target string) (serial int64, resources int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "workspaces", store.RepoID(repo), target, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Serial int64 }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	n, err := terraform.CountResources(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Serial, n
}

// appliedTargets lists the targets the ledger of the state dir's store
// holds for repo.
func appliedTargets(t *testing.T, state, repo string) []string {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(state, "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return storetest.AppliedTargetNames(t, db, store.RepoID(repo))
}

// TestApplyRefusesDestroyWithoutConsent: a Terraform target removed from
// the config shows its destroy in the plan; apply without --allow-destroy
// exits 2 naming it and changes nothing anywhere; with it, the target's
// resources are destroyed and it leaves the ledger.
func TestApplyRefusesDestroyWithoutConsent(t *testing.T) {
	bin := terraformtest.Binary(t)
	dir, state := gitExample(t), t.TempDir()
	tf := []string{"--state-dir", state, "--terraform-bin", bin}
	if r := runCLI(t, append([]string{"apply", "--repo", dir, "--auto-approve"}, tf...)...); r.code != 0 {
		t.Fatalf("first apply exited %d:\n%s", r.code, r.stderr)
	}
	serial, resources := workspaceState(t, state, dir, removedTarget)
	if resources == 0 {
		t.Fatalf("%s holds no resources after the first apply: pick another target", removedTarget)
	}
	otherSerial, _ := workspaceState(t, state, dir, "gcp-us-central1")
	if err := os.Remove(filepath.Join(dir, "targets", removedTarget+".yaml")); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, append([]string{"plan", "--repo", dir, "--format", "json"}, tf...)...)
	var plan struct {
		ID      string
		Destroy []struct {
			Kind, Name string
			Terraform  []struct{ Resources int }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("plan --format json: %v\n%s", err, r.stderr)
	}
	if len(plan.Destroy) != 1 || plan.Destroy[0].Name != removedTarget || len(plan.Destroy[0].Terraform) != 1 || plan.Destroy[0].Terraform[0].Resources != resources {
		t.Errorf("the plan's destroy section must hold %s with its %d resources: %+v", removedTarget, resources, plan.Destroy)
	}

	r = runCLI(t, append([]string{"apply", "--repo", dir, "--auto-approve"}, tf...)...)
	if r.code != 2 {
		t.Fatalf("apply without --allow-destroy exited %d, want 2:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"target " + removedTarget + " (" + "6 Terraform resource(s) on " + removedTarget, "Nothing was applied", "--allow-destroy"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("the refusal must say %q:\n%s", s, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "Will be destroyed") {
		t.Errorf("the summary before the refusal must show what would be destroyed:\n%s", r.stdout)
	}
	if s, n := workspaceState(t, state, dir, removedTarget); s != serial || n != resources {
		t.Errorf("the refused apply touched %s: serial %d→%d, resources %d→%d", removedTarget, serial, s, resources, n)
	}
	if s, _ := workspaceState(t, state, dir, "gcp-us-central1"); s != otherSerial {
		t.Errorf("the refused apply touched another target: serial %d→%d", otherSerial, s)
	}
	if !slices.Contains(appliedTargets(t, state, dir), removedTarget) {
		t.Errorf("the refused apply took %s out of the ledger", removedTarget)
	}

	r = runCLI(t, append([]string{"apply", "--repo", dir, "--auto-approve", "--allow-destroy", "--format", "json"}, tf...)...)
	if r.code != 0 {
		t.Fatalf("apply --allow-destroy exited %d:\n%s", r.code, r.stderr)
	}
	var res struct {
		Targets []struct{ Target, Status string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(res.Targets, func(x struct{ Target, Status string }) bool { return x.Target == removedTarget }); i < 0 || res.Targets[i].Status != "applied" {
		t.Errorf("apply --allow-destroy: %+v, want %s applied", res.Targets, removedTarget)
	}
	if _, n := workspaceState(t, state, dir, removedTarget); n != 0 {
		t.Errorf("%s still holds %d resources after its destroy", removedTarget, n)
	}
	if slices.Contains(appliedTargets(t, state, dir), removedTarget) {
		t.Errorf("%s is still in the ledger after its destroy", removedTarget)
	}
	// Nothing is left to destroy: the next apply needs no consent.
	if r := runCLI(t, append([]string{"apply", "--repo", dir, "--auto-approve"}, tf...)...); r.code != 0 {
		t.Errorf("apply after the destroy exited %d:\n%s", r.code, r.stderr)
	}
}

// TestApplyNeverDestroysProtectedTarget: a target applied with protect:
// true and then removed from the config is listed as protected and kept,
// even with --allow-destroy.
func TestApplyNeverDestroysProtectedTarget(t *testing.T) {
	bin := terraformtest.Binary(t)
	dir, state := gitExample(t), t.TempDir()
	tf := []string{"--state-dir", state, "--terraform-bin", bin}
	file := filepath.Join(dir, "targets", removedTarget+".yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(b, []byte("protect: true\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, append([]string{"apply", "--repo", dir, "--auto-approve"}, tf...)...); r.code != 0 {
		t.Fatalf("first apply exited %d:\n%s", r.code, r.stderr)
	}
	serial, resources := workspaceState(t, state, dir, removedTarget)
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, append([]string{"apply", "--repo", dir, "--auto-approve", "--allow-destroy"}, tf...)...)
	if r.code != 0 {
		t.Fatalf("apply exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "target "+removedTarget+" (removed from the config): protected") {
		t.Errorf("the summary must list %s as protected:\n%s", removedTarget, r.stdout)
	}
	if s, n := workspaceState(t, state, dir, removedTarget); s != serial || n != resources {
		t.Errorf("the protected target was touched: serial %d→%d, resources %d→%d", serial, s, resources, n)
	}
	if !slices.Contains(appliedTargets(t, state, dir), removedTarget) {
		t.Errorf("the protected target left the ledger")
	}
}
