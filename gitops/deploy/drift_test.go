package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/argocd"
	"github.com/meridianhq/meridian/gitops/deploy"
)

func driftKeys(ds []meridian.DriftRecord) []string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Engine)+" "+d.Workload+" "+d.Target+" "+d.Resource+" "+d.Action)
	}
	return out
}

func TestRepoDrift(t *testing.T) {
	dir := newBareRepo(t)
	cfg := loadConfig(t)
	cfg.Settings.Deploy.Repo = dir
	ctx := context.Background()
	opts := deploy.Options{Now: (&clock{now: t0}).Now}
	if ds, err := deploy.RepoDrift(ctx, cfg, opts); err != nil || len(ds) != 0 {
		t.Fatalf("an empty repo has no drift: %v %v", ds, err)
	}
	if _, err := deploy.Apply(ctx, cfg, basicPlan(), opts); err != nil {
		t.Fatal(err)
	}
	if ds, err := deploy.RepoDrift(ctx, cfg, opts); err != nil || len(ds) != 0 {
		t.Fatalf("right after Meridian's commit there is no drift: %v %v", ds, err)
	}
	commitAs(t, dir, "main", map[string]string{
		"clusters/prod/apps/api/aws-eu-west-1.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\n# hand-edited\n",
		"clusters/prod/apps/extra.yaml":             "kind: ConfigMap\n",
		"docs/notes.md":                             "outside deploy.path: not drift\n",
	}, []string{"clusters/prod/infra/web/azure-westeurope/vault.yaml"})
	ds, err := deploy.RepoDrift(ctx, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"deploy-repo api aws-eu-west-1 clusters/prod/apps/api/aws-eu-west-1.yaml change",
		"deploy-repo   clusters/prod/apps/extra.yaml add",
		"deploy-repo web azure-westeurope clusters/prod/infra/web/azure-westeurope/vault.yaml remove",
	}
	if diff := cmp.Diff(want, driftKeys(ds)); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
	for _, d := range ds {
		if !strings.HasPrefix(d.Expected, "as of Meridian's commit ") || !strings.Contains(d.Actual, "by 1 later commit(s)") {
			t.Errorf("%s: expected %q, actual %q: want Meridian's commit and the later one", d.Resource, d.Expected, d.Actual)
		}
	}
	// The next apply restores Meridian's tree, and the drift is gone.
	if _, err := deploy.Apply(ctx, cfg, basicPlan(), opts); err != nil {
		t.Fatal(err)
	}
	if ds, err := deploy.RepoDrift(ctx, cfg, opts); err != nil || len(ds) != 0 {
		t.Errorf("after a re-apply there is no drift: %v %v", driftKeys(ds), err)
	}
}

// lister serves recorded Applications by name (see fakeArgo).
type lister map[string]*argocd.Application

func (l lister) List(context.Context, string) ([]argocd.Application, error) {
	var out []argocd.Application
	for _, a := range l {
		out = append(out, *a)
	}
	return out, nil
}

func TestArgoDrift(t *testing.T) {
	r, err := deploy.Render(loadConfig(t), basicPlan(), deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live := lister{}
	for _, name := range []string{"api.aws-eu-west-1", "api.aws-eu-west-1.infra", "api.gcp-europe-west1", "api.gcp-europe-west1.infra",
		"batch.onprem-ber", "batch.onprem-ber.infra", "batch.onprem-fra", "web.azure-westeurope.infra"} {
		live[name] = recordedApp(t, name, "")
	}
	// web.azure-westeurope is OutOfSync (Argo CD's documented status);
	// batch.onprem-fra is missing from Argo CD.
	live["web.azure-westeurope"] = recordedApp(t, "web.azure-westeurope", "status-snippet.outofsync.health-persisted.yaml")
	delete(live, "batch.onprem-fra")
	ds, err := deploy.ArgoDrift(context.Background(), live, r.Tree)
	if err != nil {
		t.Fatal(err)
	}
	want := []meridian.DriftRecord{
		{Engine: "argocd", Workload: "batch", Target: "onprem-fra", Resource: "Application batch.onprem-fra", Action: "missing",
			Expected: "declared in the deploy repo", Actual: "not in Argo CD"},
		{Engine: "argocd", Workload: "web", Target: "azure-westeurope", Resource: "Application web.azure-westeurope", Action: "out-of-sync",
			Expected: "Synced/Healthy", Actual: "OutOfSync/Healthy"},
		{Engine: "argocd", Workload: "web", Target: "azure-westeurope", Resource: "apps/Deployment foo/my-app", Action: "out-of-sync",
			Expected: "Synced/Healthy", Actual: "OutOfSync (in Application web.azure-westeurope)"},
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
