package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

// TestSecretsNeverLogged drives every kind of credential through the
// server (API tokens, good and bad; the webhook secret; the GitHub token)
// and checks that none appears in the debug-level log.
func TestSecretsNeverLogged(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.Loader.Set("master", snapshot(baseSHA, config(nil, workload("api", "alice", 2))))
	h.Loader.Set(baseSHA, snapshot(baseSHA, config(nil, workload("api", "alice", 2))))
	h.Loader.Set(headSHA, snapshot(headSHA, config(nil, workload("api", "", 2))))
	for _, r := range web.Roles {
		h.do("GET", "/api/v1/plans", r, nil, nil)
	}
	var created struct{ Token string }
	h.do("POST", "/api/v1/tokens", web.RoleAdmin, map[string]string{"name": "new", "role": "viewer"}, &created)
	req, _ := http.NewRequest("GET", h.http.URL+"/api/v1/plans?page_token=x", nil)
	req.Header.Set("Authorization", "Bearer mrd_wrongwrongwrong")
	if resp, err := h.http.Client().Do(req); err == nil {
		resp.Body.Close()
	}
	h.webhook("pull_request", "log-1", payload(t, "pull_request.opened.payload.json"), "")
	h.webhook("pull_request", "log-2", payload(t, "pull_request.opened.payload.json"), "sha256="+strings.Repeat("0", 64))
	h.waitDelivery("log-1")
	logs := h.Logs.String()
	if !strings.Contains(logs, `"request_id"`) {
		t.Fatalf("logs carry no request IDs:\n%s", logs)
	}
	secrets := map[string]string{"webhook secret": testSecret, "GitHub token": controlplanetest.GitHubToken, "bad token": "mrd_wrongwrongwrong", "new token": created.Token}
	for r, tok := range h.tokens {
		secrets["token "+string(r)] = tok
	}
	for what, s := range secrets {
		if s == "" {
			t.Fatalf("no %s", what)
		}
		if strings.Contains(logs, s) {
			t.Errorf("the log contains the %s", what)
		}
	}
}

// TestAuthFailuresLimited: a client that keeps failing gets 429 instead of
// 401, and the failures are audited (the refusals once per window). Only
// failures are limited: a valid token passes during the lockout, since
// clients behind one NAT share an address with whoever is failing.
func TestAuthFailuresLimited(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{AuthFailureBurst: 3, AuthFailureEvery: time.Minute, Now: func() time.Time { return now }}})
	var codes []int
	for range 5 {
		codes = append(codes, h.do("GET", "/api/v1/plans", "", nil, nil))
	}
	if diff := cmp.Diff([]int{401, 401, 401, 429, 429}, codes); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := h.do("GET", "/api/v1/plans", web.RoleViewer, nil, nil); got != 200 {
		t.Errorf("valid token while limited: %d, want 200", got)
	}
	if got := h.do("GET", "/api/v1/plans", "", nil, nil); got != 429 {
		t.Errorf("a failure after the valid request: %d, want 429 (the lockout stands)", got)
	}
	failed, _ := h.St.ListAudit(context.Background(), store.AuditFilter{Action: "auth.failed"})
	limited, _ := h.St.ListAudit(context.Background(), store.AuditFilter{Action: "auth.rate_limited"})
	if len(failed) != 3 || len(limited) != 1 {
		t.Errorf("audit: %d auth.failed (want 3), %d auth.rate_limited (want 1, once per window)", len(failed), len(limited))
	}
	if !strings.HasPrefix(failed[0].Actor, "anonymous@127.0.0.1") {
		t.Errorf("actor %q should name the client IP", failed[0].Actor)
	}
	now = now.Add(time.Minute)
	if got := h.do("GET", "/api/v1/plans", web.RoleViewer, nil, nil); got != 200 {
		t.Errorf("after the refill: %d, want 200", got)
	}
}

func TestRevokedToken(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	var created struct{ ID, Token string }
	if code := h.do("POST", "/api/v1/tokens", web.RoleAdmin, map[string]string{"name": "ci", "role": "operator"}, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	h.tokens["ci"] = created.Token
	if got := h.do("GET", "/api/v1/plans", "ci", nil, nil); got != 200 {
		t.Fatalf("new token: %d", got)
	}
	if code := h.do("DELETE", "/api/v1/tokens/"+created.ID, web.RoleAdmin, nil, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if got := h.do("GET", "/api/v1/plans", "ci", nil, nil); got != 401 {
		t.Errorf("revoked token: %d, want 401", got)
	}
	if code := h.do("POST", "/api/v1/tokens", web.RoleAdmin, map[string]string{"name": "t-viewer", "role": "viewer"}, nil); code != 409 {
		t.Errorf("duplicate live name: %d, want 409", code)
	}
}

// TestMetrics checks the non-global registry and the meridian_ prefix.
func TestMetrics(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "", 2))))
	controlplanetest.WaitFor(t, "a plan", func() bool { return h.Recon.State().PlanID != "" })
	h.webhook("ping", "m-1", []byte(`{}`), "")
	resp, err := h.http.Client().Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	text := string(b)
	for _, want := range []string{`meridian_plans_total{outcome="blocked",trigger="startup"} 1`, `meridian_findings{rule="TEST-OWNER",severity="deny"} 1`,
		`meridian_monthly_cost{currency="USD",target="aws-a"} 20`, `meridian_webhook_deliveries_total{event="ping",result="processed"} 1`,
		"meridian_plan_duration_seconds_bucket"} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	fams, err := h.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		n := f.GetName()
		if !strings.HasPrefix(n, "meridian_") && !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") {
			t.Errorf("metric %s lacks the meridian_ prefix", n)
		}
	}
}

func TestMetricsAuth(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{MetricsAuth: true}})
	if got := h.do("GET", "/metrics", "", nil, nil); got != 401 {
		t.Errorf("without a token: %d, want 401", got)
	}
	if got := h.do("GET", "/metrics", web.RoleViewer, nil, nil); got != 200 {
		t.Errorf("viewer: %d, want 200", got)
	}
}

func TestReadyz(t *testing.T) {
	now := time.Now()
	h := newHarness(t, harnessOptions{noRun: true, recon: controlplane.ReconcilerOptions{Now: func() time.Time { return now }}})
	var body struct {
		Status string
		Checks map[string]string
	}
	if code := h.do("GET", "/readyz", "", nil, &body); code != 200 || body.Status != "ready" {
		t.Errorf("ready: %d %+v", code, body)
	}
	h.St.PingErr = errors.New("disk I/O error")
	h.Loader.PingErr = errors.New("git: connection refused")
	now = now.Add(time.Minute) // past the cached Git check
	if code := h.do("GET", "/readyz", "", nil, &body); code != 503 || body.Checks["store"] == "ok" || body.Checks["git"] == "ok" {
		t.Errorf("not ready: %d %+v", code, body)
	}
}

// TestPagination walks a list page by page.
func TestPagination(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	for i := range 7 {
		h.Loader.Set(fmt.Sprint("ref", i), snapshot(fmt.Sprint("c", i), config(nil, workload("api", "alice", i+1))))
		if _, err := h.Recon.PlanRef(context.Background(), fmt.Sprint("ref", i), "test"); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	token, pages := "", 0
	for {
		var page struct {
			Items         []struct{ ID string }
			NextPageToken string `json:"next_page_token"`
		}
		if code := h.do("GET", "/api/v1/plans?page_size=3&page_token="+token, web.RoleViewer, nil, &page); code != 200 {
			t.Fatalf("page %d: %d", pages, code)
		}
		pages++
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Errorf("plan %s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	if pages != 3 || len(seen) != 7 {
		t.Errorf("%d pages, %d plans; want 3 pages of 7 plans", pages, len(seen))
	}
}

// TestReports reads placements, findings, costs and forecasts of the
// branch's plan.
func TestReports(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	web1 := workload("web", "bob", 1)
	web1.Pin = "onprem-b"
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2), web1, workload("db", "", 3))))
	controlplanetest.WaitFor(t, "a plan", func() bool { return h.Recon.State().PlanID != "" })
	type item = map[string]any
	var l struct{ Items []item }
	h.do("GET", "/api/v1/placements?target=onprem-b", web.RoleViewer, nil, &l)
	if len(l.Items) != 1 || l.Items[0]["workload"] != "web" {
		t.Errorf("placements on onprem-b: %v", l.Items)
	}
	h.do("GET", "/api/v1/findings?severity=deny", web.RoleViewer, nil, &l)
	if len(l.Items) != 1 || l.Items[0]["workload"] != "db" {
		t.Errorf("deny findings: %v", l.Items)
	}
	var costs struct {
		Items []struct {
			Key         string
			MonthlyCost float64 `json:"monthly_cost"`
			Workloads   int
		}
		Total float64
		Month string
	}
	h.do("GET", "/api/v1/costs?group_by=team", web.RoleViewer, nil, &costs)
	got := map[string]float64{}
	for _, it := range costs.Items {
		got[it.Key] = it.MonthlyCost
	}
	if diff := cmp.Diff(map[string]float64{"team-api": 20, "team-web": 10, "team-db": 30}, got); diff != "" || costs.Total != 60 || len(costs.Month) != 7 {
		t.Errorf("costs by team (-want +got):\n%s (total %v, month %q)", diff, costs.Total, costs.Month)
	}
	h.do("GET", "/api/v1/costs?group_by=tag&tag=owner", web.RoleViewer, nil, &costs)
	if len(costs.Items) != 3 || costs.Items[0].Key != "" || costs.Items[0].MonthlyCost != 30 {
		t.Errorf("costs by owner: %+v", costs.Items)
	}
	var fc struct {
		Workload string
		Sizing   struct{ Method string }
	}
	if code := h.do("GET", "/api/v1/forecasts/api", web.RoleViewer, nil, &fc); code != 200 || fc.Sizing.Method != "replicas.min" {
		t.Errorf("forecast: %d %+v", code, fc)
	}
}

// TestLocks: operators unlock only their own locks, admins any.
func TestLocks(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	h.St.PutLock(store.Lock{Key: store.LockKey{RepoID: controlplanetest.RepoID, Target: "aws-a"}, Token: 3, Owner: store.Owner{Actor: "api:t-operator"}, ExpiresAt: time.Now().Add(time.Minute)})
	h.St.PutLock(store.Lock{Key: store.LockKey{RepoID: controlplanetest.RepoID, Target: "onprem-b"}, Token: 1, Owner: store.Owner{Actor: "alice"}, ExpiresAt: time.Now().Add(time.Minute)})
	h.St.PutWaiter(store.LockWaiter{Key: store.LockKey{RepoID: controlplanetest.RepoID, Target: "aws-a"}, Position: 1, Owner: store.Owner{Actor: "bob"}, RunID: "apply-2"})
	var l struct {
		Items []struct {
			Target  string
			Waiters []struct {
				Position int
				Actor    string
				RunID    string `json:"run_id"`
			}
		}
	}
	if h.do("GET", "/api/v1/locks", web.RoleViewer, nil, &l); len(l.Items) != 2 {
		t.Fatalf("locks: %+v", l.Items)
	}
	if w := l.Items[0].Waiters; l.Items[0].Target != "aws-a" || len(w) != 1 || w[0].Position != 1 || w[0].Actor != "bob" || w[0].RunID != "apply-2" || len(l.Items[1].Waiters) != 0 {
		t.Errorf("locks with their queues: %+v; want bob queued for aws-a only", l.Items)
	}
	if got := h.do("DELETE", "/api/v1/locks/onprem-b", web.RoleOperator, nil, nil); got != 403 {
		t.Errorf("operator unlocking alice's lock: %d, want 403", got)
	}
	if got := h.do("DELETE", "/api/v1/locks/aws-a?reason=stuck", web.RoleOperator, nil, nil); got != 200 {
		t.Errorf("operator unlocking own lock: %d, want 200", got)
	}
	if got := h.do("DELETE", "/api/v1/locks/onprem-b", web.RoleAdmin, nil, nil); got != 200 {
		t.Errorf("admin unlocking: %d, want 200", got)
	}
	ev, _ := h.St.ListAudit(context.Background(), store.AuditFilter{Action: "lock.force_unlock"})
	if len(ev) != 2 || ev[0].Detail != "stuck" || ev[0].Actor != "api:t-operator" {
		t.Errorf("audit: %+v", ev)
	}
}

// TestShutdown: Run returns once its context ends, after background work
// (a PR review holding a plan) has finished or been abandoned.
func TestShutdown(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	h.Planner.Gate = make(chan struct{}) // never opened: plans hang until cancelled
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.Recon.Run(ctx) }()
	h.Loader.Set("b1", snapshot("b1", config(nil)))
	h.Loader.Set("h1", snapshot("h1", config(nil)))
	code, _ := h.webhook("pull_request", "sd-1", withHead(t, payload(t, "pull_request.opened.payload.json"), "h1"), "")
	if code != 202 {
		t.Fatalf("delivery: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d, _ := h.St.GetDelivery(context.Background(), "sd-1")
	if d.Status != store.DeliveryFailed {
		t.Errorf("a delivery abandoned at shutdown is %q, want failed (so that a redelivery retries it)", d.Status)
	}
}
