package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// TestUnlockTerraformLock: a target whose remote backend holds a
// Terraform lock left by a dead process fails to plan, naming the lock ID
// and the command; `meridian unlock --terraform-lock` frees it from the
// target's workspace (found without --repo), and the next plan goes
// through.
func TestUnlockTerraformLock(t *testing.T) {
	bin := terraformtest.Binary(t)
	const target, lockID = "aws-eu-central-1", "0d5a1f3c-5b9e-4e0a-b3c2-dead00000001"
	backend := terraformtest.NewHTTPBackend(t, `{"ID": "`+lockID+`", "Operation": "OperationTypeApply", "Who": "runner@gone"}`)
	dir, state := copyExample(t), t.TempDir()
	// The example's offline module, on the http backend.
	remote := filepath.Join(dir, "terraform", "remote")
	if err := os.CopyFS(remote, os.DirFS(filepath.Join(dir, "terraform", "offline"))); err != nil {
		t.Fatal(err)
	}
	editFile(t, remote, "main.tf", `backend "local" {}`, `backend "http" {}`)
	cfg := backend.BackendConfig()
	editFile(t, dir, "targets/"+target+".yaml", "module: terraform/offline", "module: terraform/remote\n  backend_config: {address: "+cfg["address"]+
		", lock_address: "+cfg["lock_address"]+", unlock_address: "+cfg["unlock_address"]+"}")
	tf := []string{"--state-dir", state, "--terraform-bin", bin}
	status := func() (string, string) {
		t.Helper()
		r := runCLI(t, append([]string{"plan", "--repo", dir, "--format", "json"}, tf...)...)
		var plan struct {
			Terraform []struct{ Target, Status, Error string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
			t.Fatalf("plan: %v\n%s", err, r.stderr)
		}
		for _, c := range plan.Terraform {
			if c.Target == target {
				return c.Status, r.stdout
			}
		}
		t.Fatalf("%s not planned:\n%s", target, r.stdout)
		return "", ""
	}
	st, out := status()
	if st != "failed" || !strings.Contains(out, "meridian unlock "+target+" --terraform-lock "+lockID+" --reason") {
		t.Fatalf("plan against the held lock: %s, want failed with the unlock command for %s:\n%s", st, lockID, out)
	}
	r := runCLI(t, append([]string{"unlock", target, "--reason", "the runner died", "--terraform-lock", lockID}, tf...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Released Terraform's state lock "+lockID) {
		t.Fatalf("unlock exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if held, unlocks := backend.Locked(); held || unlocks != 1 {
		t.Errorf("backend lock held %t after %d UNLOCK requests", held, unlocks)
	}
	if st, out := status(); st == "failed" {
		t.Errorf("plan after the unlock still fails:\n%s", out)
	}
}

// TestUnlockTerraformLockIDNotAFlag checks that a lock ID Terraform would
// read as a flag is refused before anything is opened or unlocked.
func TestUnlockTerraformLockIDNotAFlag(t *testing.T) {
	r := runCLI(t, "unlock", "site-a", "--reason", "test", "--terraform-lock=-force", "--state-dir", t.TempDir())
	if r.code != exitError || !strings.Contains(r.stderr, "is not a lock ID") {
		t.Fatalf("exit %d, stderr %q; want exit %d naming the bad lock ID", r.code, r.stderr, exitError)
	}
}
