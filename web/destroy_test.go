package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
)

// reviewPayload is a pull_request_review delivery for the recorded
// pull request: its pull_request and repository objects, with a review.
func reviewPayload(t *testing.T, login, body, commit string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(payload(t, "pull_request.opened.payload.json"), &m); err != nil {
		t.Fatal(err)
	}
	m["action"] = "submitted"
	m["review"] = map[string]any{"id": 80, "body": body, "state": "approved", "user": map[string]any{"login": login}, "commit_id": commit}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReviewApproveDestroy: a review holding `meridian approve-destroy` is
// routed to the approval and answered in a comment; one without it, or
// one on a head the report is not of, records nothing.
func TestReviewApproveDestroy(t *testing.T) {
	h := newHarness(t, harnessOptions{recon: controlplane.ReconcilerOptions{PR: controlplane.PROptions{DestroyApprovers: []string{"Codertocat"}}}})
	base := config(nil, workload("api", "alice", 2))
	h.Loader.Set("master", snapshot(baseSHA, base))
	h.Loader.Set(baseSHA, snapshot(baseSHA, base))
	h.Loader.Set(headSHA, snapshot(headSHA, config(nil, workload("api", "alice", 3))))
	h.webhook("pull_request", "pr-1", payload(t, "pull_request.opened.payload.json"), "")
	if d := h.waitDelivery("pr-1"); d.Status != store.DeliveryProcessed {
		t.Fatalf("delivery %+v", d)
	}
	lastBody := func() string {
		calls := h.GitHub.Calls()
		return calls[len(calls)-1].Body["body"].(string)
	}
	cases := []struct {
		reason, delivery, login, body, commit string
		wantStatus                            int
		wantAnswer                            string // "" when nothing is answered
	}{
		{"a review without the command is not an approval", "r-1", "Codertocat", "LGTM", headSHA, http.StatusOK, ""},
		{"an approver's review on another head than the report's waits for the report", "r-2", "Codertocat", "meridian approve-destroy",
			"0000000000000000000000000000000000000001", http.StatusAccepted, "approve again once the report of the newest head is posted"},
		{"an approver's review of a plan that destroys nothing says so", "r-3", "Codertocat", "/meridian approve-destroy", headSHA,
			http.StatusAccepted, "destroys nothing: no approval is needed"},
		{"a non-approver is told", "r-4", "someone", "meridian approve-destroy", headSHA, http.StatusAccepted, "@someone is not allowed to approve destruction"},
	}
	for _, tc := range cases {
		before := len(h.GitHub.Calls())
		code, _ := h.webhook("pull_request_review", tc.delivery, reviewPayload(t, tc.login, tc.body, tc.commit), "")
		if code != tc.wantStatus {
			t.Errorf("%s: %d, want %d", tc.reason, code, tc.wantStatus)
			continue
		}
		h.waitDelivery(tc.delivery)
		switch calls := len(h.GitHub.Calls()) - before; {
		case tc.wantAnswer == "" && calls != 0:
			t.Errorf("%s: %d GitHub calls, want none", tc.reason, calls)
		case tc.wantAnswer != "" && (calls != 1 || !strings.Contains(lastBody(), tc.wantAnswer)):
			t.Errorf("%s: %d calls, answer %q; want one answer saying %q", tc.reason, calls, lastBody(), tc.wantAnswer)
		}
	}
	if as, err := h.St.DestroyApprovals(t.Context(), h.Recon.RepoID()); err != nil || len(as) != 0 {
		t.Errorf("approvals recorded: %+v, %v; want none", as, err)
	}
}
