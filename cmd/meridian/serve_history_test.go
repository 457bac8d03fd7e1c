package main

import (
	"bufio"
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// TestServeHistory drives the history of the whole server through Git and
// webhooks, on a Git copy of the example with real Terraform: a commit
// breaks a tag rule and the finding opens, the fix resolves it with both
// commits recorded, an apply writes its events and the applied cost, and a
// Server-Sent Events client replays the feed from the start, in order.
func TestServeHistory(t *testing.T) {
	bin := terraformtest.Binary(t)
	repo, state := exampleRepo(t), t.TempDir()
	m, _ := bootServer(t, repo, state, func(c *ServeConfig) { c.TerraformBin = bin })
	tok := runCLI(t, "token", "create", "--role", "operator", "--name", "ci", "--state-dir", state)
	lines := strings.Split(strings.TrimSpace(tok.stdout), "\n")
	c := &client{t: t, base: "http://" + m.Addr(), token: lines[len(lines)-1], http: &http.Client{Timeout: 5 * time.Minute}}
	waitUntil(t, "the startup plan", func() bool { return m.Reconciler().State().PlanID != "" })

	push := func(id, msg string) string {
		t.Helper()
		git(t, repo, "commit", "-qam", msg)
		sha := git(t, repo, "rev-parse", "HEAD")
		body := signedPayload(t, "push.branch.argo-cd-testdata.json", map[string]any{"ref": "refs/heads/main", "after": sha,
			"repository.full_name": "Codertocat/Hello-World"})
		if code := c.webhook("push", id, body); code != http.StatusAccepted {
			t.Fatalf("push %s: %d", id, code)
		}
		if d := c.waitDelivery(m.Store(), id); d.Status != store.DeliveryProcessed {
			t.Fatalf("push %s: %+v", id, d)
		}
		return sha
	}
	findings := func(state string) []meridian.FindingRecord {
		t.Helper()
		var l struct{ Items []meridian.FindingRecord }
		if code := c.do("GET", "/api/v1/findings?state="+state+"&workload=docs-site&rule=MER-TAG-001", nil, &l); code != 200 {
			t.Fatalf("findings?state=%s: %d", state, code)
		}
		return l.Items
	}

	// 1. A commit drops docs-site's owner tag: the finding opens.
	editFile(t, repo, "workloads/docs-site.yaml", "  owner: team-platform\n", "")
	broke := push("hist-1", "drop the owner tag")
	open := findings("open")
	if len(open) != 1 || open[0].FirstCommit != broke || open[0].File != "workloads/docs-site.yaml" {
		t.Fatalf("open findings after the breaking commit: %+v", open)
	}
	// 2. The fix resolves it, with both commits.
	editFile(t, repo, "workloads/docs-site.yaml", "tags:\n", "tags:\n  owner: team-platform\n")
	fixed := push("hist-2", "restore the owner tag")
	if o := findings("open"); len(o) != 0 {
		t.Fatalf("still open after the fix: %+v", o)
	}
	res := findings("resolved")
	if len(res) != 1 || res[0].FirstCommit != broke || res[0].LastCommit != broke || res[0].ResolvedCommit != fixed ||
		res[0].FirstSeen.IsZero() || res[0].ResolvedAt.Before(res[0].FirstSeen) {
		t.Fatalf("resolved finding: %+v", res)
	}

	// 3. Apply the branch's plan: its events, and the applied cost.
	planID := m.Reconciler().State().PlanID
	var applied struct{ Status string }
	if code := c.do("POST", "/api/v1/plans/"+planID+"/apply", nil, &applied); code != 200 || applied.Status != "succeeded" {
		t.Fatalf("apply: %d %+v", code, applied)
	}
	var plan struct {
		TotalMonthlyCost meridian.Money `json:"total_monthly_cost"`
	}
	c.do("GET", "/api/v1/plans/"+planID, nil, &plan)
	var costs struct {
		Applied, Planned []struct {
			PlanID string         `json:"plan_id"`
			Total  meridian.Money `json:"total"`
		}
	}
	if code := c.do("GET", "/api/v1/costs/history?group_by=team", nil, &costs); code != 200 {
		t.Fatalf("costs/history: %d", code)
	}
	// What was applied costs what its plan said: the same figure as the
	// planned point of that plan, and the plan's total to within the cents
	// of rounding each placement.
	if len(costs.Planned) != 3 || len(costs.Applied) != 1 || costs.Applied[0].PlanID != planID ||
		costs.Planned[2].PlanID != planID || costs.Applied[0].Total != costs.Planned[2].Total ||
		math.Abs(float64(costs.Applied[0].Total-plan.TotalMonthlyCost)) > 0.25 {
		t.Fatalf("cost history: %+v, want 3 planned points and the apply of %s at %v", costs, planID, plan.TotalMonthlyCost)
	}

	// 4. The event feed as JSON, oldest first.
	var evs struct{ Items []meridian.Event }
	c.do("GET", "/api/v1/events?page_size=500", nil, &evs)
	var types []string
	for i, e := range evs.Items {
		if i > 0 && e.ID <= evs.Items[i-1].ID {
			t.Fatalf("event IDs not increasing: %d after %d", e.ID, evs.Items[i-1].ID)
		}
		types = append(types, string(e.Type))
	}
	got := strings.Join(types, " ")
	for _, want := range []string{"plan.created", "finding.opened", "finding.resolved", "apply.started", "lock.acquired", "lock.released", "apply.succeeded"} {
		if !strings.Contains(got, want) {
			t.Errorf("event feed lacks %s: %s", want, got)
		}
	}

	// 5. The same feed as Server-Sent Events, replayed from the start.
	req, _ := http.NewRequestWithContext(context.Background(), "GET", c.base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", "0")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var ids []int64
	for len(ids) < len(evs.Items) && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	for i, id := range ids {
		if id != evs.Items[i].ID {
			t.Fatalf("SSE event %d has id %d, want %d", i, id, evs.Items[i].ID)
		}
	}
	if len(ids) != len(evs.Items) {
		t.Fatalf("SSE replayed %d events, want %d", len(ids), len(evs.Items))
	}
}
