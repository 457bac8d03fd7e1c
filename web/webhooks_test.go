package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

// The payloads are GitHub's real ones (github/testdata, copied from
// octokit/webhooks and Argo CD). GitHub itself cannot be reached from the
// test machines: a controlplanetest.GitHub httptest server records the REST calls.

func payload(t *testing.T, name string) []byte {
	return controlplanetest.ReadFile(t, "../github/testdata/webhooks/"+name)
}

// withHead rewrites a pull_request payload's head SHA (and re-marshals it,
// so the caller signs the new bytes).
func withHead(t *testing.T, body []byte, sha string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["pull_request"].(map[string]any)["head"].(map[string]any)["sha"] = sha
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWebhookSignature(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	body := payload(t, "pull_request.opened.payload.json")
	cases := map[string]struct {
		reason string
		sig    string
		want   int
	}{
		"Missing":     {"An unsigned delivery is refused.", "-", http.StatusUnauthorized},
		"WrongSecret": {"A delivery signed with another secret is refused.", "sha256=" + strings.Repeat("ab", 32), http.StatusUnauthorized},
		"Malformed":   {"A malformed signature is refused.", "sha1=abc", http.StatusUnauthorized},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got, _ := h.webhook("pull_request", "sig-"+name, body, tc.sig); got != tc.want {
				t.Errorf("%s got %d, want %d", tc.reason, got, tc.want)
			}
		})
	}
	if n := len(h.GitHub.Calls()); n != 0 {
		t.Errorf("refused deliveries caused %d GitHub calls", n)
	}
	if _, err := h.St.GetDelivery(t.Context(), "sig-Missing"); err == nil {
		t.Errorf("a refused delivery was recorded as received")
	}
	events, _ := h.St.ListAudit(t.Context(), store.AuditFilter{Action: "auth.failed"})
	if len(events) != len(cases) {
		t.Errorf("%d auth.failed audit events, want %d", len(events), len(cases))
	}
}

func TestWebhookOffWithoutSecret(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{WebhookSecret: []byte{}}})
	code, body := h.webhook("ping", "d1", []byte(`{"zen":"x"}`), "")
	msg, _ := body["error"].(map[string]any)["message"].(string)
	if code != http.StatusNotFound || !strings.Contains(msg, "MERIDIAN_WEBHOOK_SECRET") {
		t.Errorf("got %d %q, want 404 saying how to turn it on", code, msg)
	}
}

func TestWebhookPingAndDuplicates(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	code, body := h.webhook("ping", "ping-1", []byte(`{"zen":"Design for failure.","hook_id":1}`), "")
	if code != http.StatusOK || body["status"] != "pong" {
		t.Fatalf("ping: %d %v", code, body)
	}
	code, body = h.webhook("ping", "ping-1", []byte(`{"zen":"Design for failure.","hook_id":1}`), "")
	if code != http.StatusOK || body["status"] != "duplicate" {
		t.Errorf("redelivered ping: %d %v, want 200 duplicate", code, body)
	}
	code, body = h.webhook("issues", "iss-1", []byte(`{}`), "")
	if code != http.StatusOK || body["status"] != "ignored" {
		t.Errorf("unhandled event: %d %v, want 200 ignored", code, body)
	}
	if d, _ := h.St.GetDelivery(t.Context(), "iss-1"); d.Status != store.DeliveryIgnored {
		t.Errorf("ignored delivery recorded as %q", d.Status)
	}
}

// TestPullRequestReport replays the recorded pull_request deliveries and
// checks the exact REST calls: one comment created, then edited on the next
// push, a commit status each time, and nothing for a redelivery.
func TestPullRequestReport(t *testing.T) {
	h := newHarness(t, harnessOptions{server: web.Options{}, recon: controlplane.ReconcilerOptions{PR: controlplane.PROptions{PublicURL: "https://meridian.example"}}})
	base := config(nil, workload("api", "alice", 2))
	h.Loader.Set("master", snapshot(baseSHA, base))
	h.Loader.Set(baseSHA, snapshot(baseSHA, base))
	// The head adds a workload without an owner: a deny finding.
	h.Loader.Set(headSHA, snapshot(headSHA, config(nil, workload("api", "alice", 3), workload("web", "", 1))))

	code, reply := h.webhook("pull_request", "pr-1", payload(t, "pull_request.opened.payload.json"), "")
	if code != http.StatusAccepted || reply["status"] != "accepted" {
		t.Fatalf("opened: %d %v", code, reply)
	}
	if d := h.waitDelivery("pr-1"); d.Status != store.DeliveryProcessed {
		t.Fatalf("delivery %+v", d)
	}
	want := []string{
		"GET /repos/Codertocat/Hello-World/issues/2/comments?per_page=100&page=1",
		"POST /repos/Codertocat/Hello-World/issues/2/comments",
		"POST /repos/Codertocat/Hello-World/statuses/" + headSHA,
	}
	if diff := cmp.Diff(want, h.GitHub.Methods()); diff != "" {
		t.Fatalf("REST calls for an opened PR (-want +got):\n%s", diff)
	}
	calls := h.GitHub.Calls()
	comment := calls[1].Body["body"].(string)
	for _, s := range []string{"<!-- meridian:pr-report repo=" + controlplanetest.RepoID + " -->", "**Monthly cost:** $20.00 → $40.00 (**+$20.00**",
		"| `web` | – → `aws-a` | 0 → 1 | +$10.00 |", "`TEST-OWNER`",
		"[`workloads/web.yaml:3`](https://github.com/Codertocat/Hello-World/blob/" + headSHA + "/workloads/web.yaml#L3)"} {
		if !strings.Contains(comment, s) {
			t.Errorf("comment lacks %q:\n%s", s, comment)
		}
	}
	status := calls[2].Body
	if status["state"] != "failure" || status["context"] != "meridian/plan" || !strings.HasPrefix(status["target_url"].(string), "https://meridian.example/api/v1/plans/") {
		t.Errorf("status %v: want a failure (deny finding) linking to the plan", status)
	}

	// A redelivery of the same delivery is acknowledged, not processed.
	if code, reply := h.webhook("pull_request", "pr-1", payload(t, "pull_request.opened.payload.json"), ""); code != http.StatusOK || reply["status"] != "duplicate" {
		t.Errorf("redelivery: %d %v", code, reply)
	}
	// Another delivery of the same head changes nothing either.
	h.webhook("pull_request", "pr-2", payload(t, "pull_request.synchronize.payload.json"), "")
	h.waitDelivery("pr-2")
	if n := len(h.GitHub.Calls()); n != 3 {
		t.Errorf("same head again made %d REST calls in total, want 3", n)
	}

	// A new push fixes the finding: the comment is edited, not added.
	const fixed = "1111111111111111111111111111111111111111"
	h.Loader.Set(fixed, snapshot(fixed, config(nil, workload("api", "alice", 3), workload("web", "bob", 1))))
	h.webhook("pull_request", "pr-3", withHead(t, payload(t, "pull_request.synchronize.payload.json"), fixed), "")
	if d := h.waitDelivery("pr-3"); d.Status != store.DeliveryProcessed {
		t.Fatalf("delivery %+v", d)
	}
	want = append(want, "PATCH /repos/Codertocat/Hello-World/issues/comments/1002", "POST /repos/Codertocat/Hello-World/statuses/"+fixed)
	if diff := cmp.Diff(want, h.GitHub.Methods()); diff != "" {
		t.Fatalf("REST calls after a new push (-want +got):\n%s", diff)
	}
	if st := h.GitHub.Calls()[4].Body["state"]; st != "success" {
		t.Errorf("status after the fix = %v, want success", st)
	}
	// Closed without merge: its destroy approvals are settled (revoked),
	// and nothing is reported.
	code, reply = h.webhook("pull_request", "pr-4", payload(t, "pull_request.closed.payload.json"), "")
	if code != http.StatusAccepted || reply["status"] != "accepted" {
		t.Errorf("closed: %d %v", code, reply)
	}
	if d := h.waitDelivery("pr-4"); d.Status != store.DeliveryProcessed {
		t.Fatalf("delivery %+v", d)
	}
	if diff := cmp.Diff(want, h.GitHub.Methods()); diff != "" {
		t.Errorf("a closed pull request is not reported on (-want +got):\n%s", diff)
	}
}

// TestPushWakesTheLoop replays Argo CD's recorded push payload (to master)
// and checks that the new commit gets planned.
func TestPushWakesTheLoop(t *testing.T) {
	h := newHarness(t, harnessOptions{recon: controlplane.ReconcilerOptions{Interval: 24 * 3600e9}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	controlplanetest.WaitFor(t, "the startup plan", func() bool { return h.Recon.State().Commit == "c1" })
	h.Loader.Set("master", snapshot("c2", config(nil, workload("api", "alice", 4))))
	code, _ := h.webhook("push", "push-1", payload(t, "push.branch.argo-cd-testdata.json"), "")
	if code != http.StatusAccepted {
		t.Fatalf("push: %d", code)
	}
	d := h.waitDelivery("push-1")
	if d.Status != store.DeliveryProcessed || h.Recon.State().Commit != "c2" || d.RunID != h.Recon.State().PlanID {
		t.Errorf("after the push: delivery %+v, state %+v", d, h.Recon.State())
	}
	// A tag deletion is not the branch.
	if code, reply := h.webhook("push", "push-2", payload(t, "push.tag-deleted.payload.json"), ""); code != http.StatusOK || reply["status"] != "ignored" {
		t.Errorf("tag push: %d %v", code, reply)
	}
}
