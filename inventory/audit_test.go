package inventory_test

import (
	"context"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/inventory"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/policies"
)

const (
	bucketARN   = "arn:aws:s3:::observability-gw-archive"
	logGroupARN = "arn:aws:logs:us-east-1:111122223333:log-group:/meridian/aws-us-east-1/observability-gw"
	legacyARN   = "arn:aws:logs:us-east-1:111122223333:log-group:/meridian/aws-us-east-1/legacy-batch"
	vmARN       = "arn:aws:ec2:us-east-1:111122223333:instance/i-0598c7d356eba48d7"
)

// hybrid loads examples/hybrid and its policy engine.
func hybrid(t *testing.T) (*meridian.Config, *policies.Engine) {
	t.Helper()
	cfg, err := config.Load(os.DirFS("../examples/hybrid"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policies.New(t.Context(), cfg.Settings, cfg.Policies)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, eng
}

// The ledger of the example's plan (cmd/meridian/testdata/plan.golden.json)
// for the two workloads on aws-us-east-1, plus one placement whose
// resources are not there.
var placed = map[string][]string{
	"observability-gw": {"aws-us-east-1", "onprem-fra-dc1"},
	"identity-auth":    {"aws-us-east-1"},
	"checkout-web":     {"azure-eastus", "aws-us-east-1"},
}

// TestAuditHybrid is the end-to-end audit of examples/hybrid against a
// recorded inventory of aws-us-east-1 (testdata/hybrid) in which the
// observability-gw bucket has lost its customer-managed key (SSE-S3 only)
// and its log group keeps 30 days instead of the 400 the workload
// requires, an untagged VM runs, a log group of a workload that left the
// config remains, and checkout-web has nothing in the account.
func TestAuditHybrid(t *testing.T) {
	ctx := t.Context()
	cfg, eng := hybrid(t)
	rep, err := inventory.Audit(ctx, inventory.Input{
		Config:  cfg,
		Engine:  eng,
		Readers: map[string]inventory.Reader{"aws-us-east-1": inventory.FileReader{FS: os.DirFS("testdata/hybrid"), Path: "aws-us-east-1.json"}},
		Placed:  placed,
	})
	if err != nil {
		t.Fatal(err)
	}

	type finding struct{ Rule, Workload, Target, Field, Resource, Source string }
	var got []finding
	for _, f := range rep.Findings {
		got = append(got, finding{f.Rule, f.Workload, f.Target, f.Field, f.Resource, f.Source})
	}
	want := []finding{
		// The untagged VM: no owner to resolve, found by the tag rule.
		{"MER-TAG-001", "", "aws-us-east-1", "tags.cost-center", vmARN, "live"},
		{"MER-TAG-001", "", "aws-us-east-1", "tags.env", vmARN, "live"},
		{"MER-TAG-001", "", "aws-us-east-1", "tags.owner", vmARN, "live"},
		// The two live findings, with their resources and owners.
		{"MER-ENC-001", "observability-gw", "aws-us-east-1", "requires.encryption", bucketARN, "live"},
		{"MER-RET-001", "observability-gw", "aws-us-east-1", "requires.log_retention_days", logGroupARN, "live"},
	}
	sortBy := func(fs []finding) {
		sort.Slice(fs, func(i, j int) bool { return fs[i].Rule+fs[i].Field < fs[j].Rule+fs[j].Field })
	}
	sortBy(got)
	sortBy(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("live findings (-want +got):\n%s", diff)
	}
	for _, f := range rep.Findings {
		if f.Workload == "observability-gw" && (f.File != "workloads/observability-gw.yaml" || f.Line == 0) {
			t.Errorf("%s on %s points at %s:%d, want the workload's requirement", f.Rule, f.Resource, f.File, f.Line)
		}
	}
	if !rep.Blocking() {
		t.Error("Blocking() = false with deny findings")
	}
	if diff := cmp.Diff([]string{"observability-gw"}, rep.Frozen); diff != "" {
		t.Errorf("frozen (-want +got):\n%s", diff)
	}

	type drift struct{ Workload, Resource, Action string }
	var gotDrift []drift
	for _, d := range rep.Drift {
		if d.Engine != meridian.DriftEngineLive || d.Target != "aws-us-east-1" {
			t.Errorf("drift %+v: want engine live on aws-us-east-1", d)
		}
		gotDrift = append(gotDrift, drift{d.Workload, d.Resource, d.Action})
	}
	wantDrift := []drift{
		{"", legacyARN, "undeclared"},
		{"observability-gw", logGroupARN, "change"},
		{"observability-gw", bucketARN, "change"},
		{"checkout-web", "checkout-web@aws-us-east-1", "missing"},
	}
	if diff := cmp.Diff(wantDrift, gotDrift); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}

	// The same rule IDs as the config check: the target declared as the
	// bucket and log group really are raises the very rules the live check
	// did, and a workload without tags the ones the VM raised.
	var obs *meridian.Workload
	var target meridian.Target
	for i := range cfg.Workloads {
		if cfg.Workloads[i].Name == "observability-gw" {
			obs = &cfg.Workloads[i]
		}
	}
	for _, tg := range cfg.Targets {
		if tg.Name == "aws-us-east-1" {
			target = tg
		}
	}
	target.Encryption = meridian.TargetEncryption{KMS: "aws-kms"}
	target.LogRetentionMaxDays = 30
	matrix, err := eng.CheckPlacements(ctx, []meridian.Workload{*obs}, []meridian.Target{target})
	if err != nil {
		t.Fatal(err)
	}
	var configRules, liveRules []string
	for _, v := range matrix[0][0] {
		configRules = append(configRules, v.Rule+" "+v.Field)
	}
	untagged := *obs
	untagged.Tags = nil
	wfs, err := eng.CheckWorkloads(ctx, []meridian.Workload{untagged})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range wfs {
		configRules = append(configRules, f.Rule+" "+f.Field)
	}
	for _, f := range rep.Findings {
		liveRules = append(liveRules, f.Rule+" "+f.Field)
	}
	slices.Sort(configRules)
	slices.Sort(liveRules)
	if diff := cmp.Diff(configRules, liveRules); diff != "" {
		t.Errorf("rule IDs of the config check vs the live check (-config +live):\n%s", diff)
	}

	// The workload behind the live findings is frozen by the plan that
	// is given them, as by any blocking finding; without them it is not.
	blocked := func(live []meridian.Finding) map[string]bool {
		p, err := planner.New(planner.WithSizer(planner.MinSizer{}))
		if err != nil {
			t.Fatal(err)
		}
		plan, err := p.Plan(ctx, planner.Input{Config: cfg, FS: os.DirFS("../examples/hybrid"), Commit: "e2e", Current: placed, Live: live})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, pl := range plan.Placements {
			out[pl.Workload] = out[pl.Workload] || pl.Blocked
		}
		return out
	}
	if b := blocked(nil); b["observability-gw"] {
		t.Fatal("observability-gw blocked without live findings: the example changed")
	}
	b := blocked(rep.Findings)
	if !b["observability-gw"] {
		t.Error("observability-gw not blocked by its live findings")
	}
	if b["identity-auth"] {
		t.Error("identity-auth blocked, but its resources comply")
	}
}

// TestAuditUnreadableTarget: a target that cannot be read is reported,
// and its placements are not called missing.
func TestAuditUnreadableTarget(t *testing.T) {
	cfg, eng := hybrid(t)
	rep, err := inventory.Audit(context.Background(), inventory.Input{
		Config:  cfg,
		Engine:  eng,
		Readers: map[string]inventory.Reader{"aws-us-east-1": inventory.FileReader{FS: os.DirFS("testdata"), Path: "absent.json"}},
		Placed:  placed,
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"aws-us-east-1"}, rep.Failed()); diff != "" {
		t.Errorf("failed targets (-want +got):\n%s", diff)
	}
	if len(rep.Drift) != 0 || len(rep.Findings) != 0 {
		t.Errorf("an unread target raised drift %v and findings %v", rep.Drift, rep.Findings)
	}
}

// hangingReader answers only when its context ends, like a cloud API that
// never responds.
type hangingReader struct{}

func (hangingReader) Resources(ctx context.Context) ([]meridian.LiveResource, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestAuditReadTimeout: a target whose read hangs fails at ReadTimeout,
// like an unreadable one, while the other targets are still audited.
func TestAuditReadTimeout(t *testing.T) {
	cfg, eng := hybrid(t)
	rep, err := inventory.Audit(context.Background(), inventory.Input{
		Config: cfg,
		Engine: eng,
		Readers: map[string]inventory.Reader{
			"aws-us-east-1":   inventory.FileReader{FS: os.DirFS("testdata/hybrid"), Path: "aws-us-east-1.json"},
			"gcp-us-central1": hangingReader{},
		},
		Placed:      placed,
		ReadTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gcp-us-central1"}, rep.Failed()); diff != "" {
		t.Errorf("failed targets (-want +got):\n%s", diff)
	}
	for _, tr := range rep.Targets {
		if tr.Target == "aws-us-east-1" && tr.Resources == 0 {
			t.Error("the readable target was not audited beside the hanging one")
		}
		if tr.Target == "gcp-us-central1" && !strings.Contains(tr.Error, "deadline") {
			t.Errorf("the hanging target's error %q does not say its deadline passed", tr.Error)
		}
	}
}
