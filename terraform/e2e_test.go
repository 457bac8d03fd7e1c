package terraform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

const secret = "s3cr3t-do-not-store"

// module has a sensitive variable, a sensitive output and a per-workload
// resource, which is the shape Meridian's modules have.
const module = `
terraform {
  backend "local" {}
}
variable "placements" {
  type = map(object({ replicas = number }))
}
variable "token" {
  type      = string
  sensitive = true
}
resource "terraform_data" "workload" {
  for_each = var.placements
  input    = { replicas = each.value.replicas, token = var.token }
}
output "token" {
  value     = var.token
  sensitive = true
}
output "replicas" {
  value = { for k, w in terraform_data.workload : k => w.output.replicas }
}
check "replicas_positive" {
  assert {
    condition     = alltrue([for p in var.placements : p.replicas > 0])
    error_message = "every placement needs a replica"
  }
}
`

func writeModule(t *testing.T, dir string, replicas map[string]int) {
	t.Helper()
	pl := map[string]any{}
	for k, r := range replicas {
		pl[k] = map[string]int{"replicas": r}
	}
	vars, _ := json.Marshal(map[string]any{"placements": pl, "token": secret})
	files := terraform.Files{"main.tf": []byte(module), terraform.VarsFile: vars}
	if err := files.Write(dir); err != nil {
		t.Fatal(err)
	}
}

// hostileEnviron is what these machines (and careless CI images) hand a
// process: a CLI config that does not exist, and variables that silently
// change what plan does.
func hostileEnviron(t *testing.T) []string {
	return append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+filepath.Join(t.TempDir(), "missing.terraformrc"),
		"TF_CLI_ARGS_plan=-destroy",
		"TF_VAR_token=from-the-environment",
		"TF_DATA_DIR="+filepath.Join(t.TempDir(), "elsewhere"),
	)
}

// TestEnvironmentIsControlled proves that Meridian's Terraform runs with the
// environment Env builds: under a hostile environment, version parsing
// works and a fresh module's plan reports its changes. The control case
// shows the same environment breaking terraform-exec when left alone.
func TestEnvironmentIsControlled(t *testing.T) {
	bin := terraformtest.Binary(t)
	ctx := context.Background()
	environ := hostileEnviron(t)

	r, err := terraform.New(ctx, bin, terraform.Options{Environ: environ, PluginCacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatalf("version check under a hostile environment: %v", err)
	}
	if r.Version() == "" {
		t.Error("no version")
	}
	for _, kv := range r.Environ() {
		for _, bad := range []string{"TF_CLI_CONFIG_FILE=", "TF_CLI_ARGS", "TF_VAR_", "TF_DATA_DIR="} {
			if strings.HasPrefix(kv, bad) {
				t.Errorf("Terraform's environment holds %s", kv)
			}
		}
	}
	dir := t.TempDir()
	writeModule(t, dir, map[string]int{"api": 2})
	ws, err := r.Workspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	res, err := ws.Plan(ctx, filepath.Join(dir, "p.tfplan"), terraform.PlanNormal)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed {
		t.Fatal("plan of a fresh module reports no changes: the environment leaked into Terraform")
	}
	if _, err := os.Stat(filepath.Join(dir, ".terraform")); err != nil {
		t.Errorf("TF_DATA_DIR leaked: no .terraform in the workspace: %v", err)
	}

	t.Run("control", func(t *testing.T) {
		for _, kv := range environ[len(environ)-4:] {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		dir := t.TempDir()
		writeModule(t, dir, map[string]int{"api": 2})
		tf, err := tfexec.NewTerraform(dir, bin) // inherits os.Environ: no SetEnv
		tf.SetLogger(tlog{t})
		if err != nil {
			t.Fatal(err)
		}
		if err := tf.Init(ctx); err != nil {
			t.Fatal(err)
		}
		changed, err := tf.Plan(ctx)
		t.Logf("control: changed=%v err=%v", changed, err)
		if err == nil && changed {
			t.Fatal("the hostile environment no longer breaks plain terraform-exec; the control proves nothing")
		}
	})
}

// TestPlanApplyCycle runs plan, apply and re-plan on a real binary, and
// checks that no secret survives in anything Meridian keeps.
func TestPlanApplyCycle(t *testing.T) {
	bin := terraformtest.Binary(t)
	ctx := context.Background()
	r, err := terraform.New(ctx, bin, terraform.Options{Environ: hostileEnviron(t)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeModule(t, dir, map[string]int{"api": 2, "web": 1})
	ws, err := r.Workspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st, err := ws.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Serial != 0 {
		t.Errorf("fresh workspace has state serial %d", st.Serial)
	}
	planFile := filepath.Join(dir, "p.tfplan")
	res, err := ws.Plan(ctx, planFile, terraform.PlanNormal)
	if err != nil {
		t.Fatal(err)
	}
	want := terraform.Changes{Add: []string{`terraform_data.workload["api"]`, `terraform_data.workload["web"]`}, Change: []string{}, Replace: []string{}, Destroy: []string{},
		Outputs: []string{"replicas", "token"}}
	if diff := cmp.Diff(want, terraform.Summarize(res.Plan)); diff != "" {
		t.Errorf("first plan (-want +got):\n%s", diff)
	}
	shown, err := json.Marshal(res.Plan)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(shown, []byte(secret)) {
		t.Errorf("the redacted plan still holds the secret:\n%s", shown)
	}
	if !bytes.Contains(shown, []byte(terraform.Redacted)) {
		t.Error("the plan has sensitive values but nothing was marked redacted")
	}
	var log bytes.Buffer
	if err := ws.Apply(ctx, planFile, &log); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log.Bytes(), []byte(secret)) {
		t.Errorf("the apply log holds the secret:\n%s", log.String())
	}
	if !strings.Contains(log.String(), `"type":"apply_complete"`) {
		t.Errorf("apply log lacks apply_complete messages:\n%s", log.String())
	}
	after, err := ws.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Serial <= st.Serial || after.Lineage == "" {
		t.Errorf("state after apply: serial %d lineage %q", after.Serial, after.Lineage)
	}
	// Applying the same plan file again must fail: its state moved on.
	if err := ws.Apply(ctx, planFile, nil); err == nil {
		t.Error("Terraform applied a stale plan file")
	}
	res, err = ws.Plan(ctx, planFile, terraform.PlanNormal)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed {
		t.Errorf("re-plan after apply shows changes: %+v", terraform.Summarize(res.Plan))
	}
	// Terraform copies the sensitive input into terraform_data's output
	// without the mark; the prior state must still not show it.
	if shown, err := json.Marshal(res.Plan); err != nil || bytes.Contains(shown, []byte(secret)) {
		t.Errorf("the re-plan (with prior state) holds the secret (%v):\n%s", err, shown)
	}
	writeModule(t, dir, map[string]int{"api": 3})
	res, err = ws.Plan(ctx, planFile, terraform.PlanNormal)
	if err != nil {
		t.Fatal(err)
	}
	want = terraform.Changes{Add: []string{}, Change: []string{`terraform_data.workload["api"]`}, Replace: []string{}, Destroy: []string{`terraform_data.workload["web"]`},
		Outputs: []string{"replicas"}}
	if diff := cmp.Diff(want, terraform.Summarize(res.Plan)); diff != "" {
		t.Errorf("plan after changing a workload (-want +got):\n%s", diff)
	}
	if got := terraform.FailedChecks(res.Plan); len(got) != 0 {
		t.Errorf("checks failed: %v", got)
	}
	writeModule(t, dir, map[string]int{"api": 0})
	res, err = ws.Plan(ctx, planFile, terraform.PlanNormal)
	if err != nil {
		t.Fatal(err)
	}
	if got := terraform.FailedChecks(res.Plan); len(got) != 1 || !strings.Contains(got[0], "every placement needs a replica") {
		t.Errorf("a failing check block must be reported, got %v", got)
	}
}

type tlog struct{ t *testing.T }

func (l tlog) Printf(f string, a ...any) { l.t.Logf(f, a...) }
