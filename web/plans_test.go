package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

// TestAPIApply applies the branch's plan through the API.
func TestAPIApply(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	controlplanetest.WaitFor(t, "the startup plan", func() bool { return h.Recon.State().PlanID != "" })
	id := h.Recon.State().PlanID
	var out controlplane.ApplyOutput
	if code := h.do("POST", "/api/v1/plans/"+id+"/apply", web.RoleOperator, nil, &out); code != 200 || out.Status != controlplane.ApplySucceeded {
		t.Fatalf("apply: %d %+v", code, out)
	}
	ev, _ := h.St.ListAudit(context.Background(), store.AuditFilter{Action: "apply.requested"})
	if len(ev) != 1 || ev[0].Actor != "api:t-operator" || ev[0].PlanID != id {
		t.Errorf("audit: %+v", ev)
	}
}

// TestPlanError: a plan that cannot be made is an error for the caller and
// a metric, not a crash.
func TestPlanError(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	var err error = meridian.Errorf(meridian.EINVALID, "policies do not compile")
	h.Planner.Err.Store(&err)
	var body map[string]map[string]string
	if code := h.do("POST", "/api/v1/plans", web.RoleOperator, map[string]string{"ref": "master"}, &body); code != 400 || body["error"]["code"] != "invalid" {
		t.Errorf("got %d %v", code, body)
	}
}

// TestPRPlanNotApplied: a PR head's plan cannot be applied through the API.
func TestPRPlanNotApplied(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	h.Loader.Set("b1", snapshot("b1", config(nil, workload("api", "alice", 1))))
	h.Loader.Set("h1", snapshot("h1", config(nil, workload("api", "alice", 2))))
	ev := &github.PullRequestEvent{Action: "synchronize", Number: 7,
		Repository: github.Repository{FullName: "acme/config", HTMLURL: "https://github.com/acme/config"},
		PullRequest: github.PullRequest{Number: 7,
			Head: github.Ref{Ref: "feature", SHA: "h1", Repo: &github.Repository{FullName: "someone/fork"}},
			Base: github.Ref{Ref: "master", SHA: "b1"}}}
	res, err := h.Recon.ReviewPR(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]map[string]string
	if code := h.do("POST", "/api/v1/plans/"+res.PlanID+"/apply", web.RoleOperator, nil, &body); code != 409 {
		t.Errorf("applying a PR plan: %d %v, want 409", code, body)
	}
	if h.Applier.Applied() != 0 {
		t.Errorf("the applier ran")
	}
}

// TestPrunedPlan: a plan that retention pruned answers 404 saying so, not
// a 500 or a bare "not found", and so does applying it.
func TestPrunedPlan(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	ctx := context.Background()
	if err := h.St.SavePlan(ctx, store.PlanRecord{ID: "oldplan", RepoID: controlplanetest.RepoID, Ref: "refs/heads/master", Commit: "c0",
		Document: []byte(`{"id":"oldplan"}`)}); err != nil {
		t.Fatal(err)
	}
	h.St.PrunePlan("oldplan")
	var body struct {
		Error struct{ Code, Message string }
	}
	for _, req := range []struct{ method, path string }{{"GET", "/api/v1/plans/oldplan"}, {"POST", "/api/v1/plans/oldplan/apply"}} {
		body.Error.Code, body.Error.Message = "", ""
		if code := h.do(req.method, req.path, web.RoleOperator, nil, &body); code != 404 || body.Error.Code != "not_found" ||
			!strings.Contains(body.Error.Message, "pruned by retention") {
			t.Errorf("%s %s: %d %+v, want 404 saying the plan was pruned by retention", req.method, req.path, code, body.Error)
		}
	}
}
