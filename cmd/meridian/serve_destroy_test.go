package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/storetest"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// commentPayload is an issue_comment delivery on pull request #2 of the
// recorded payloads' repository. GitHub's fixtures have no such delivery:
// it is built from the documented event fields around the REST API
// description's own issue comment (the webhook carries the same object).
func commentPayload(t *testing.T, login, body string) []byte {
	t.Helper()
	var comment map[string]any
	if err := json.Unmarshal(mustRead(filepath.Join("..", "..", "github", "testdata", "rest", "issue-comment.response.json")), &comment); err != nil {
		t.Fatal(err)
	}
	comment["body"], comment["user"] = body, map[string]any{"login": login}
	b, err := json.Marshal(map[string]any{"action": "created", "comment": comment,
		"issue":      map[string]any{"number": 2, "pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"}},
		"repository": map[string]any{"full_name": "Codertocat/Hello-World"}, "sender": map[string]any{"login": login}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestServeDestroyConsent walks decommissioning through the server: a pull
// request that removes a Terraform target shows what it destroys; only a
// destroy approver's `meridian approve-destroy` is taken, and it counts
// once the pull request is merged at that head; the branch's plan is
// refused (409, naming the target) until then, and applied after, with
// the target destroyed. Then an operator approves a plan through the API.
func TestServeDestroyConsent(t *testing.T) {
	bin := terraformtest.Binary(t)
	repo, state := exampleRepo(t), t.TempDir()
	m, gh := bootServer(t, repo, state, func(c *ServeConfig) {
		c.TerraformBin, c.DestroyApprovers = bin, []string{"Codertocat"}
	})
	token := func(role string) string {
		r := runCLI(t, "token", "create", "--role", role, "--name", role, "--state-dir", state)
		if r.code != 0 {
			t.Fatalf("token create: %d %s", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		return lines[len(lines)-1]
	}
	c := &client{t: t, base: "http://" + m.Addr(), token: token("operator"), http: &http.Client{Timeout: 5 * time.Minute}}
	viewer := &client{t: t, base: c.base, token: token("viewer"), http: c.http}
	ctx := context.Background()
	planOf := func() string {
		var status struct {
			Branch struct {
				PlanID string `json:"plan_id"`
			}
		}
		c.do("GET", "/api/v1/status", nil, &status)
		return status.Branch.PlanID
	}
	waitUntil(t, "the startup plan", func() bool { return planOf() != "" })
	var applied struct{ Status string }
	if code := c.do("POST", "/api/v1/plans/"+planOf()+"/apply", nil, &applied); code != 200 || applied.Status != "succeeded" {
		t.Fatalf("first apply: %d %+v", code, applied)
	}
	deliveries := 0
	deliver := func(event string, body []byte) {
		t.Helper()
		deliveries++
		id := "destroy-" + event + "-" + string(rune('a'+deliveries))
		if code := c.webhook(event, id, body); code != http.StatusAccepted {
			t.Fatalf("%s delivery: %d", event, code)
		}
		if d := c.waitDelivery(m.Store(), id); d.Status != store.DeliveryProcessed {
			t.Fatalf("%s delivery %+v", event, d)
		}
	}
	lastComment := func() string {
		calls := gh.snapshot()
		for i := len(calls) - 1; i >= 0; i-- {
			if calls[i].Method == "POST" && strings.HasSuffix(calls[i].Path, "/issues/2/comments") {
				return calls[i].Body["body"].(string)
			}
		}
		return ""
	}
	push := func() {
		t.Helper()
		deliver("push", signedPayload(t, "push.branch.argo-cd-testdata.json", map[string]any{"ref": "refs/heads/main",
			"after": git(t, repo, "rev-parse", "HEAD"), "repository.full_name": "Codertocat/Hello-World"}))
	}

	// A pull request removes a target.
	base := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "checkout", "-q", "-b", "feature")
	git(t, repo, "rm", "-q", "targets/"+removedTarget+".yaml")
	git(t, repo, "commit", "-qm", "decommission "+removedTarget)
	head := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "checkout", "-q", "main")
	deliver("pull_request", signedPayload(t, "pull_request.opened.payload.json", map[string]any{
		"pull_request.head.sha": head, "pull_request.head.ref": "feature", "pull_request.base.sha": base, "pull_request.base.ref": "main"}))
	if report := lastComment(); !strings.Contains(report, "Will be destroyed") || !strings.Contains(report, "target `"+removedTarget+"`") ||
		!strings.Contains(report, "`meridian approve-destroy`") {
		t.Errorf("the pull-request report must show what it destroys and how to consent:\n%s", report)
	}

	// Someone who is not a destroy approver: answered, nothing recorded.
	deliver("issue_comment", commentPayload(t, "mallory", "meridian approve-destroy"))
	if got := lastComment(); !strings.Contains(got, "@mallory is not allowed") {
		t.Errorf("answer to a non-approver:\n%s", got)
	}
	if as, err := m.Store().DestroyApprovals(ctx, store.RepoID(repo)); err != nil || len(as) != 0 {
		t.Fatalf("a non-approver's command was recorded: %+v, %v", as, err)
	}
	deliver("issue_comment", commentPayload(t, "Codertocat", "Looks right.\nmeridian approve-destroy"))
	if got := lastComment(); !strings.Contains(got, "@Codertocat approved destroying") || !strings.Contains(got, "target `"+removedTarget+"`") {
		t.Errorf("answer to the approver:\n%s", got)
	}
	as, err := m.Store().DestroyApprovals(ctx, store.RepoID(repo))
	if err != nil || len(as) != 1 || as[0].PR != 2 || as[0].Head != head || !slices.Contains(as[0].Items, "target/"+removedTarget) {
		t.Fatalf("the approval: %+v, %v", as, err)
	}

	// Merged: the branch's plan destroys the target. Before GitHub says
	// the pull request merged, the approval does not count.
	git(t, repo, "merge", "-q", "--ff-only", "feature")
	push()
	var refusal struct{ Error struct{ Message string } }
	if code := c.do("POST", "/api/v1/plans/"+planOf()+"/apply", nil, &refusal); code != http.StatusConflict ||
		!strings.Contains(refusal.Error.Message, "target "+removedTarget+" (") {
		t.Fatalf("apply before the merge counts: %d %+v, want 409 naming the target", code, refusal)
	}
	deliver("pull_request", signedPayload(t, "pull_request.closed.payload.json", map[string]any{"pull_request.merged": true, "pull_request.head.sha": head}))
	if code := c.do("POST", "/api/v1/plans/"+planOf()+"/apply", nil, &applied); code != 200 || applied.Status != "succeeded" {
		t.Fatalf("apply with the merged approval: %d %+v", code, applied)
	}
	if slices.Contains(storetest.AppliedTargetNames(t, m.Store(), store.RepoID(repo)), removedTarget) {
		t.Errorf("%s is still in the ledger after the approved apply", removedTarget)
	}
	if _, n := workspaceState(t, state, repo, removedTarget); n != 0 {
		t.Errorf("%s still holds %d resources", removedTarget, n)
	}

	// An operator's approval through the API covers that plan.
	if err := os.Remove(filepath.Join(repo, "workloads", "docs-site.yaml")); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "commit", "-qam", "retire docs-site")
	push()
	plan := planOf()
	if code := c.do("POST", "/api/v1/plans/"+plan+"/apply", nil, &refusal); code != http.StatusConflict || !strings.Contains(refusal.Error.Message, "workload docs-site (") {
		t.Fatalf("apply without consent: %d %+v, want 409 naming docs-site", code, refusal)
	}
	if code := viewer.do("POST", "/api/v1/plans/"+plan+"/approve-destroy", nil, nil); code != http.StatusForbidden {
		t.Errorf("a viewer approved destruction: %d", code)
	}
	var approval struct {
		Via   string
		Items []struct{ Kind, Name string }
	}
	if code := c.do("POST", "/api/v1/plans/"+plan+"/approve-destroy", nil, &approval); code != http.StatusCreated || approval.Via != store.ApprovalAPI ||
		!slices.ContainsFunc(approval.Items, func(i struct{ Kind, Name string }) bool { return i.Name == "docs-site" }) {
		t.Fatalf("approve-destroy: %d %+v", code, approval)
	}
	if code := c.do("POST", "/api/v1/plans/"+plan+"/apply", nil, &applied); code != 200 || applied.Status != "succeeded" {
		t.Fatalf("apply with the operator's approval: %d %+v", code, applied)
	}
	es, err := m.Store().LedgerEntries(ctx, store.RepoID(repo))
	if err != nil || slices.ContainsFunc(es, func(e store.LedgerEntry) bool { return e.Workload == "docs-site" }) {
		t.Errorf("docs-site is still in the ledger: %v", err)
	}
}
