package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store/sqlite"
)

// writeKubeconfig writes a kubeconfig for the test cluster, with a
// context of its own name, so that the drift check reaches the cluster the
// way a user's config does.
func writeKubeconfig(t *testing.T, c *cluster) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: c.cfg.Host, CertificateAuthorityData: c.cfg.CAData}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.cfg.CertData, ClientKeyData: c.cfg.KeyData, Token: c.cfg.BearerToken}
	kc.Contexts["meridian-e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	// The current context points nowhere: the config's context must win.
	kc.Contexts["elsewhere"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: "e2e"}
	kc.CurrentContext = "elsewhere"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// resourceOf is the dynamic client of one rendered manifest's kind.
func (c *cluster) resourceOf(t *testing.T, doc []byte) (dynamic.ResourceInterface, *unstructured.Unstructured) {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
		t.Fatal(err)
	}
	gvk := obj.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatal(err)
	}
	return c.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), obj
}

// setConditions writes status.conditions through the status subresource,
// as a provider does.
func (c *cluster) setConditions(t *testing.T, doc []byte, conds ...map[string]any) {
	t.Helper()
	ri, obj := c.resourceOf(t, doc)
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": conds}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ri.Patch(context.Background(), obj.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "provider"}, "status"); err != nil {
		t.Fatalf("set conditions of %s: %v", obj.GetName(), err)
	}
}

func cond(typ, status, reason, msg string, at time.Time) map[string]any {
	return map[string]any{"type": typ, "status": status, "reason": reason, "message": msg, "lastTransitionTime": at.UTC().Format(time.RFC3339)}
}

// healthy marks a resource Synced and Ready since at.
func (c *cluster) healthy(t *testing.T, doc []byte, at time.Time) {
	t.Helper()
	c.setConditions(t, doc, cond("Synced", "True", "ReconcileSuccess", "", at), cond("Ready", "True", "Available", "", at))
}

// TestCrossplaneDrift commits a plan's Crossplane resources to a deploy
// repo, applies them to a real API server with the upjet CRDs, plays the
// provider by writing status conditions, edits and deletes resources by
// hand, and checks that each kind of drift appears in the report and in
// the store's drift records, then clears, and that a resource without
// Meridian's labels is never reported.
func TestCrossplaneDrift(t *testing.T) {
	start := time.Now()
	c := startCluster(t)
	ctx := context.Background()
	cfg, err := config.Load(os.DirFS(filepath.Join("..", "testdata", "config")))
	if err != nil {
		t.Fatal(err)
	}
	const target, grace = "aws-eu-west-1", 10 * time.Minute
	aws, _ := cfg.Target(target)
	aws.Crossplane.Cluster = &meridian.CrossplaneCluster{Kubeconfig: writeKubeconfig(t, c), Context: "meridian-e2e", ReadyGrace: grace}
	// A second target whose kubeconfig is missing must fail alone.
	azure, _ := cfg.Target("azure-westeurope")
	missingKC := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	azure.Crossplane.Cluster = &meridian.CrossplaneCluster{Kubeconfig: missingKC}
	cfg.Settings.Deploy.Repo = filepath.Join(t.TempDir(), "deploy.git")

	t0 := time.Now().UTC().Truncate(time.Second)
	now := t0
	opts := deploy.Options{StateDir: t.TempDir(), Now: func() time.Time { return now }}
	plan := &meridian.Plan{ID: "e2e-crossplane", Commit: "c0ffee0000000000000000000000000000000000", Placements: []meridian.Placement{
		{Workload: "api", Target: target, Replicas: 3},
		{Workload: "web", Target: "azure-westeurope", Replicas: 2},
	}}
	if _, err := deploy.Apply(ctx, cfg, plan, opts); err != nil {
		t.Fatal(err)
	}
	r, err := deploy.Render(cfg, plan, deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{} // by file: key, logs, bucket, bucket-sse
	for _, p := range r.Tree.Paths() {
		if dir, f := filepath.Split(p); dir == "infra/api/"+target+"/" {
			docs[strings.TrimSuffix(f, ".yaml")] = r.Tree[p]
			if err := c.apply(ctx, r.Tree[p]); err != nil {
				t.Fatalf("apply %s: %v", p, err)
			}
		}
	}
	if len(docs) != 4 {
		t.Fatalf("want the 4 AWS resources of api (key, logs, bucket, bucket-sse), rendered %d", len(docs))
	}
	name := func(file string) string {
		_, obj := c.resourceOf(t, docs[file])
		return obj.GroupVersionKind().GroupKind().String() + "/" + obj.GetNamespace() + "/" + obj.GetName()
	}

	// Someone else's bucket in the same namespace: no Meridian label,
	// failing and not ready for ever. It must never be reported.
	foreign := []byte(`apiVersion: s3.aws.m.upbound.io/v1beta1
kind: Bucket
metadata: {name: someone-elses-bucket, namespace: api, labels: {meridian.io/target: ` + target + `}}
spec:
  forProvider: {region: eu-west-1}
`)
	if err := c.apply(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	c.setConditions(t, foreign, cond("Synced", "False", "ReconcileError", "AccessDenied", t0), cond("Ready", "False", "Unavailable", "", t0))

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	// check runs the drift check at clock at, records it in the store,
	// and compares the drifted resources and their actions with want; the
	// actual of each record must hold the given text.
	check := func(step string, at time.Duration, want map[string]string, actual map[string]string) {
		t.Helper()
		now = t0.Add(at)
		rep, err := deploy.CrossplaneDrift(ctx, cfg, opts)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if !slices.Equal(rep.Checked, []string{target}) {
			t.Errorf("%s: checked %v, want [%s]", step, rep.Checked, target)
		}
		if msg := rep.Failed["azure-westeurope"]; !strings.Contains(msg, missingKC) {
			t.Errorf("%s: the target with a missing kubeconfig must fail naming it, got %q", step, msg)
		}
		got := map[string]string{}
		for _, d := range rep.Items {
			if d.Engine != meridian.DriftEngineCrossplane || d.Target != target || d.Workload != "api" {
				t.Errorf("%s: record %+v: want engine crossplane, target %s, workload api", step, d, target)
			}
			if strings.Contains(d.Resource, "someone-elses-bucket") {
				t.Errorf("%s: reported a resource without Meridian's label: %+v", step, d)
			}
			got[d.Resource] = d.Action
			if s := actual[d.Resource]; !strings.Contains(d.Actual, s) {
				t.Errorf("%s: %s: actual %q, want it to hold %q", step, d.Resource, d.Actual, s)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: drifted resources (-want +got):\n%s", step, diff)
		}
		if _, err := db.SyncDrift(ctx, "r1", []meridian.DriftEngine{meridian.DriftEngineCrossplane}, rep.Items); err != nil {
			t.Fatalf("%s: record drift: %v", step, err)
		}
		open, err := db.OpenDrift(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		openSet := map[string]string{}
		for _, d := range open {
			openSet[d.Resource] = d.Action
		}
		if diff := cmp.Diff(want, openSet); diff != "" {
			t.Errorf("%s: open drift records (-want +got):\n%s", step, diff)
		}
	}
	none := map[string]string{}

	check("just applied, no provider yet: within the grace", time.Minute, none, nil)
	for _, f := range []string{"key", "logs", "bucket", "bucket-sse"} {
		c.healthy(t, docs[f], t0.Add(2*time.Minute))
	}
	// The provider late-initializes a field Meridian does not render, and
	// the API server defaulted managementPolicies and initProvider: none
	// of that is drift.
	ri, key := c.resourceOf(t, docs["key"])
	if _, err := ri.Patch(ctx, key.GetName(), types.MergePatchType, []byte(`{"spec":{"forProvider":{"keyUsage":"ENCRYPT_DECRYPT"}}}`), metav1.PatchOptions{FieldManager: "provider"}); err != nil {
		t.Fatal(err)
	}
	check("all Synced and Ready, late-initialized fields", 30*time.Minute, none, nil)

	// Not Ready: drift only once it lasts longer than the grace.
	c.setConditions(t, docs["bucket"], cond("Synced", "True", "ReconcileSuccess", "", t0.Add(30*time.Minute)),
		cond("Ready", "False", "Unavailable", "bucket is not reachable", t0.Add(30*time.Minute)))
	check("not Ready within the grace", 35*time.Minute, none, nil)
	check("not Ready past the grace", 41*time.Minute, map[string]string{name("bucket"): meridian.DriftNotReady},
		map[string]string{name("bucket"): "Unavailable: bucket is not reachable"})
	c.healthy(t, docs["bucket"], t0.Add(42*time.Minute))
	check("Ready again", 43*time.Minute, none, nil)

	// Synced=False: drift at once, with the provider's error.
	const providerErr = "AccessDeniedException: not authorized to perform logs:PutRetentionPolicy"
	c.setConditions(t, docs["logs"], cond("Synced", "False", "ReconcileError", providerErr, t0.Add(44*time.Minute)),
		cond("Ready", "True", "Available", "", t0.Add(2*time.Minute)))
	check("sync failed", 44*time.Minute, map[string]string{name("logs"): meridian.DriftSyncFailed},
		map[string]string{name("logs"): providerErr})
	c.healthy(t, docs["logs"], t0.Add(45*time.Minute))
	check("synced again", 45*time.Minute, none, nil)

	// A spec edited by hand.
	ri, bucket := c.resourceOf(t, docs["bucket"])
	if _, err := ri.Patch(ctx, bucket.GetName(), types.MergePatchType, []byte(`{"spec":{"forProvider":{"tags":{"env":"dev"}}}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	check("spec edited by hand", 46*time.Minute, map[string]string{name("bucket"): meridian.DriftSpecChanged},
		map[string]string{name("bucket"): `spec.forProvider.tags.env="dev"`})
	if err := c.apply(ctx, docs["bucket"]); err != nil { // Argo CD puts it back
		t.Fatal(err)
	}
	check("spec restored", 47*time.Minute, none, nil)

	// A resource deleted by hand.
	ri, key = c.resourceOf(t, docs["key"])
	if err := ri.Delete(ctx, key.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	check("deleted by hand", 48*time.Minute, map[string]string{name("key"): meridian.DriftMissing},
		map[string]string{name("key"): "deleted outside Meridian"})
	if err := c.apply(ctx, docs["key"]); err != nil { // Argo CD re-creates it
		t.Fatal(err)
	}
	c.healthy(t, docs["key"], t0.Add(49*time.Minute))
	check("re-created", 50*time.Minute, none, nil)
	t.Logf("crossplane drift end to end, API server start included: %s", time.Since(start).Round(time.Millisecond))
}
