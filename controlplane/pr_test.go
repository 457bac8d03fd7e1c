package controlplane_test

import (
	"context"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
)

func prEvent(number int, head, base string) *github.PullRequestEvent {
	return &github.PullRequestEvent{Action: "synchronize", Number: number,
		Repository: github.Repository{FullName: "acme/config", HTMLURL: "https://github.com/acme/config"},
		PullRequest: github.PullRequest{Number: number,
			Head: github.Ref{Ref: "feature", SHA: head, Repo: &github.Repository{FullName: "someone/fork"}},
			Base: github.Ref{Ref: "master", SHA: base}}}
}

// TestPRDoesNotJudgeItself: a head that deletes the policy it breaks is
// still judged by the base's policy, and the report says its new rules
// apply after merge, with a preview.
func TestPRDoesNotJudgeItself(t *testing.T) {
	cases := map[string]struct {
		reason         string
		base, head     map[string]string
		wantBlocking   bool
		wantInComment  []string
		wantNotComment []string
	}{
		"DeletesPolicy": {
			reason:        "Removing the rule a change breaks must not make the change pass.",
			base:          map[string]string{"policies/deny.rego": "deny api"},
			head:          map[string]string{},
			wantBlocking:  true,
			wantInComment: []string{"`TEST-POLICY`", "This pull request changes policies", "Findings resolved after merge"},
		},
		"AddsPolicy": {
			reason:         "A new rule is previewed but does not block before merge.",
			base:           map[string]string{},
			head:           map[string]string{"policies/deny.rego": "deny api"},
			wantBlocking:   false,
			wantInComment:  []string{"This pull request changes policies", "New findings after merge", "`TEST-POLICY`"},
			wantNotComment: []string{"Findings resolved after merge"},
		},
		"SamePolicies": {
			reason:         "Without policy changes there is no preview.",
			base:           map[string]string{"policies/ok.rego": "allow"},
			head:           map[string]string{"policies/ok.rego": "allow"},
			wantNotComment: []string{"changes policies"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true})
			h.Loader.Set("b1", snapshot("b1", config(tc.base, workload("api", "alice", 1))))
			h.Loader.Set("h1", snapshot("h1", config(tc.head, workload("api", "alice", 2))))
			res, err := h.Recon.ReviewPR(context.Background(), prEvent(5, "h1", "b1"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Blocking != tc.wantBlocking {
				t.Errorf("%s blocking = %v, want %v", tc.reason, res.Blocking, tc.wantBlocking)
			}
			for _, s := range tc.wantInComment {
				if !strings.Contains(res.Body, s) {
					t.Errorf("%s: comment lacks %q:\n%s", tc.reason, s, res.Body)
				}
			}
			for _, s := range tc.wantNotComment {
				if strings.Contains(res.Body, s) {
					t.Errorf("%s: comment has %q", tc.reason, s)
				}
			}
		})
	}
}

// TestPRRequiredTagsFromBase: required_tags are policy input too.
func TestPRRequiredTagsFromBase(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true})
	h.Loader.Set("b1", snapshot("b1", config(nil, workload("api", "alice", 1))))
	head := config(nil, workload("api", "", 1))
	head.Settings.RequiredTags = nil // the head stops requiring the tag it lacks
	h.Loader.Set("h1", snapshot("h1", head))
	res, err := h.Recon.ReviewPR(context.Background(), prEvent(6, "h1", "b1"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Blocking || !strings.Contains(res.Body, "TEST-OWNER") {
		t.Errorf("a head that drops required_tags was judged by its own settings:\n%s", res.Body)
	}
}

// TestPRPlanNotApplied: a PR head's plan cannot be applied through the API.
func TestPRPlanNotApplied(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true})
	h.Loader.Set("b1", snapshot("b1", config(nil, workload("api", "alice", 1))))
	h.Loader.Set("h1", snapshot("h1", config(nil, workload("api", "alice", 2))))
	res, err := h.Recon.ReviewPR(context.Background(), prEvent(7, "h1", "b1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Recon.Apply(context.Background(), res.PlanID, "api:t-operator"); meridian.ErrorCode(err) != meridian.ECONFLICT {
		t.Errorf("applying a PR plan: %v, want an ECONFLICT error", err)
	}
	if h.Applier.Applied() != 0 {
		t.Errorf("the applier ran")
	}
}

// TestPRBeforeIsLedger: with an applied state, "before" is what runs.
func TestPRBeforeIsLedger(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true})
	h.Loader.Set("b1", snapshot("b1", config(nil, workload("api", "alice", 1))))
	h.Loader.Set("h1", snapshot("h1", config(nil, workload("api", "alice", 2))))
	h.Loader.Set("master", snapshot("m1", config(nil, workload("api", "alice", 5))))
	out, err := h.Recon.PlanRef(context.Background(), "master", "test")
	if err != nil {
		t.Fatal(err)
	}
	h.St.SetLedger([]store.LedgerEntry{{RepoID: controlplanetest.RepoID, Target: "aws-a", Workload: "api", PlanID: out.Plan.ID, Replicas: 5}})
	res, err := h.Recon.ReviewPR(context.Background(), prEvent(8, "h1", "b1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Body, "**Monthly cost:** $50.00 → $20.00 (**-$30.00**, -60.0%) · before: applied state") {
		t.Errorf("before should be the ledger's $50.00:\n%s", res.Body)
	}
}

// TestPRConfigErrors: an invalid head gets a report listing its errors.
func TestPRConfigErrors(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true})
	h.Loader.Set("b1", snapshot("b1", config(nil, workload("api", "alice", 1))))
	h.Loader.Fail("h1", controlplanetest.ConfigErrors("workloads/api.yaml", 4, "replicas.min", "must be an integer"))
	res, err := h.Recon.ReviewPR(context.Background(), prEvent(9, "h1", "b1"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Blocking || !strings.Contains(res.Body, "`workloads/api.yaml:4` | replicas.min | must be an integer") {
		t.Errorf("report:\n%s", res.Body)
	}
	calls := h.GitHub.Calls()
	if last := calls[len(calls)-1]; last.Body["state"] != "failure" {
		t.Errorf("status %v, want failure", last.Body)
	}
}
