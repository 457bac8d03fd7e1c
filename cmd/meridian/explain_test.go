package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// explainJSON runs `meridian explain` with --format json and decodes it.
func explainJSON(t *testing.T, args ...string) *meridian.WorkloadExplanation {
	t.Helper()
	r := runCLI(t, append([]string{"explain", "--format", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("explain %v exited %d:\n%s", args, r.code, r.stderr)
	}
	var ex meridian.WorkloadExplanation
	if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
		t.Fatalf("explain %v: %v\n%s", args, err, r.stdout)
	}
	return &ex
}

// TestExplainCLI explains a workload of the example three ways (planning
// again, from a plan document, by target) and checks that they agree with
// the plan document and with each other, and that a plan of another
// config is refused.
func TestExplainCLI(t *testing.T) {
	dir := copyExample(t)
	state := t.TempDir()
	doc := filepath.Join(t.TempDir(), "plan.json")
	if r := runCLI(t, "plan", "--repo", dir, "--format", "json", "--out", doc, "--terraform=false", "--state-dir", state); r.code != 0 {
		t.Fatalf("plan exited %d:\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	var plan meridian.Plan
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	const w = "identity-auth"
	again := explainJSON(t, w, "--repo", dir, "--state-dir", state)
	fromDoc := explainJSON(t, w, "--repo", dir, "--state-dir", state, "--plan", doc)
	if diff := cmp.Diff(again, fromDoc); diff != "" {
		t.Errorf("explaining a fresh plan and the plan document differ (-fresh +document):\n%s", diff)
	}
	if again.PlanID != plan.ID {
		t.Errorf("explained plan %s, `meridian plan` made %s", again.PlanID, plan.ID)
	}
	var pl meridian.Placement
	for _, p := range plan.Placements {
		if p.Workload == w {
			pl = p
		}
	}
	if len(again.Placements) != 1 || again.Placements[0].Target != pl.Target || !cmp.Equal(again.Placements[0].RunnerUp, pl.Explanation.RunnerUp) {
		t.Errorf("explained placements %+v; the plan places %s on %s, runner-up %+v", again.Placements, w, pl.Target, pl.Explanation.RunnerUp)
	}
	// Every group of the plan holds the targets the detail rejects for
	// that rule and reason, and names the nearest first.
	for _, g := range pl.Explanation.Rejected {
		var in []string
		for _, te := range again.Targets {
			if te.Verdict == meridian.VerdictRejected && slices.Contains(te.Rules, g.Rule) && slices.Contains(te.Reasons, g.Reason) {
				in = append(in, te.Target)
			}
		}
		if len(in) != g.Count || !slices.Equal(in[:min(len(in), meridian.NearestTargets)], g.Nearest) {
			t.Errorf("group %s %q: %d targets %v, the detail has %v", g.Rule, g.Reason, g.Count, g.Nearest, in)
		}
	}

	one := explainJSON(t, w, "--repo", dir, "--state-dir", state, "--target", "onprem-fra-dc1")
	if len(one.Targets) != 1 || one.Targets[0].Target != "onprem-fra-dc1" {
		t.Errorf("--target onprem-fra-dc1 gave %+v", one.Targets)
	}
	text := runCLI(t, "explain", w, "--repo", dir, "--state-dir", state, "--plan", doc)
	if text.code != 0 {
		t.Fatalf("explain (text) exited %d:\n%s", text.code, text.stderr)
	}
	golden(t, "explain.golden.txt", text.stdout)

	editFile(t, dir, "workloads/identity-auth.yaml", "min: 3", "min: 4")
	for name, args := range map[string][]string{
		"edited config": {w, "--repo", dir, "--plan", doc},
		"no workload":   {"nope", "--repo", dir},
		"no such plan":  {w, "--repo", dir, "--plan", filepath.Join(t.TempDir(), "missing.json"), "--state-dir", t.TempDir()},
	} {
		if r := runCLI(t, append([]string{"explain"}, args...)...); r.code != exitError || r.stderr == "" {
			t.Errorf("%s: exit %d, stderr %q; want 1 with the reason", name, r.code, r.stderr)
		}
	}
}

// TestExplainSavedPlan explains a plan made with Terraform, whose ID
// Terraform's state extends, by its ID in the store and from its document.
func TestExplainSavedPlan(t *testing.T) {
	bin := terraformtest.Binary(t)
	dir, state := copyExample(t), t.TempDir()
	doc := filepath.Join(t.TempDir(), "plan.json")
	if r := runCLI(t, "plan", "--repo", dir, "--save", "--terraform-bin", bin, "--state-dir", state, "--format", "json", "--out", doc); r.code != 0 {
		t.Fatalf("plan exited %d:\n%s", r.code, r.stderr)
	}
	fromDoc := explainJSON(t, "payments-api", "--repo", dir, "--plan", doc)
	byID := explainJSON(t, "payments-api", "--repo", dir, "--state-dir", state, "--plan", fromDoc.PlanID)
	if diff := cmp.Diff(fromDoc, byID); diff != "" {
		t.Errorf("explaining the document and the saved plan differ (-document +saved):\n%s", diff)
	}
}

// TestExplainServe asks `meridian serve` for an explanation of the
// branch's plan and checks it is the CLI's, and that the endpoint answers
// 404 for what is not in the plan.
func TestExplainServe(t *testing.T) {
	repo, state := exampleRepo(t), t.TempDir()
	m, _ := bootServer(t, repo, state, func(c *ServeConfig) { c.NoTerraform = true })
	waitUntil(t, "the startup plan", func() bool { return m.Reconciler().State().PlanID != "" })
	planID := m.Reconciler().State().PlanID
	r := runCLI(t, "token", "create", "--role", "viewer", "--name", "reader", "--state-dir", state)
	words := strings.Fields(r.stdout) // the token is printed last
	if r.code != 0 || len(words) == 0 {
		t.Fatalf("token create: %d %s", r.code, r.stderr)
	}
	c := &client{t: t, base: "http://" + m.Addr(), token: words[len(words)-1], http: &http.Client{Timeout: time.Minute}}

	var got meridian.WorkloadExplanation
	if code := c.do("GET", "/api/v1/placements/hr-records/explain", nil, &got); code != http.StatusOK {
		t.Fatalf("explain: %d %+v", code, got)
	}
	want := explainJSON(t, "hr-records", "--repo", repo, "--state-dir", state)
	if got.PlanID != planID {
		t.Errorf("explained plan %s, the branch's is %s", got.PlanID, planID)
	}
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("the server's explanation differs from the CLI's (-cli +server):\n%s", diff)
	}
	var one meridian.WorkloadExplanation
	if code := c.do("GET", "/api/v1/placements/hr-records/explain?target=aws-us-east-1&plan_id="+planID, nil, &one); code != http.StatusOK ||
		len(one.Targets) != 1 || one.Targets[0].Verdict != meridian.VerdictRejected {
		t.Errorf("?target=aws-us-east-1: %d %+v", code, one.Targets)
	}
	for _, path := range []string{"/api/v1/placements/nope/explain", "/api/v1/placements/hr-records/explain?target=nope",
		"/api/v1/placements/hr-records/explain?plan_id=0000000000000000"} {
		if code := c.do("GET", path, nil, nil); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}
