package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/alerting/alertingtest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// receiver is an httptest server that counts what it is sent.
type receiver struct {
	mu     sync.Mutex
	bodies []map[string]any
	keys   []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, m)
	rc.keys = append(rc.keys, r.Header.Get(alerting.HeaderIdempotency))
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// titles returns the header text of each Slack message received.
func (rc *receiver) titles() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, m := range rc.bodies {
		out = append(out, slackTitle(m))
	}
	return out
}

func slackTitle(m map[string]any) string {
	blocks, _ := m["blocks"].([]any)
	for _, b := range blocks {
		bm, _ := b.(map[string]any)
		if bm["type"] == "header" {
			t, _ := bm["text"].(map[string]any)
			s, _ := t["text"].(string)
			return s
		}
	}
	return ""
}

// amNotifications is Alertmanager's own webhook receiver: what
// Alertmanager decided to tell people, firing and resolved.
type amNotifications struct {
	mu sync.Mutex
	ns []alertingtest.Notification
}

func (a *amNotifications) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n alertingtest.Notification
	_ = json.NewDecoder(r.Body).Decode(&n)
	a.mu.Lock()
	a.ns = append(a.ns, n)
	a.mu.Unlock()
}

// resolved reports whether Alertmanager notified the alert named name of
// workload as resolved.
func (a *amNotifications) resolved(name, workload string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.ns {
		for _, al := range n.Alerts {
			if al.Status == "resolved" && al.Labels["alertname"] == name && al.Labels["workload"] == workload {
				return true
			}
		}
	}
	return false
}

// TestServeAlertsEndToEnd is issue 13's end-to-end story on the whole
// server, real Terraform, a real Git repo and a real Alertmanager: an
// applied workload loses its owner tag, so the finding opens and the
// workload freezes; exactly one alert reaches Slack and Alertmanager,
// naming the remediation and saying it is frozen; the fix resolves both
// and the next plan no longer freezes anything.
func TestServeAlertsEndToEnd(t *testing.T) {
	bin := terraformtest.Binary(t)
	amHook := &amNotifications{}
	amHookSrv := httptest.NewServer(amHook)
	t.Cleanup(amHookSrv.Close)
	am := alertingtest.StartAlertmanager(t, alertingtest.Options{WebhookURL: amHookSrv.URL})
	slack := &receiver{}
	slackSrv := httptest.NewServer(slack)
	t.Cleanup(slackSrv.Close)
	// The Slack URL is a secret: the server reads it from its environment,
	// never from Git.
	t.Setenv("E2E_SLACK_URL", slackSrv.URL+"/services/T000/B000/XXXX")

	repo, state := exampleRepo(t), t.TempDir()
	alertingYAML := fmt.Sprintf(`apiVersion: meridian/v1
kind: Alerting
sinks:
  - name: chat
    type: slack
    url_env: E2E_SLACK_URL
  - name: am
    type: alertmanager
    url: %s
routes:
  # Every deny alert and every freeze: a freeze alerted on its own as
  # well as through its finding would show as a second alert.
  - severities: [deny]
    sinks: [chat, am]
    continue: true
    group_wait: 1s
    group_interval: 1s
    repeat_interval: 1h
  - sources: [frozen]
    sinks: [chat, am]
    group_wait: 1s
    group_interval: 1s
    repeat_interval: 1h
`, am.URL)
	if err := os.WriteFile(filepath.Join(repo, "alerting.yaml"), []byte(alertingYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", "alerting.yaml")
	git(t, repo, "commit", "-qm", "route tag findings to chat and Alertmanager")

	m, _ := bootServer(t, repo, state, func(c *ServeConfig) {
		c.TerraformBin = bin
		c.AlertBaseURL = "https://meridian.example.com/"
		c.AlertDispatch = alerting.DispatcherOptions{Tick: 100 * time.Millisecond}
	})
	tok := runCLI(t, "token", "create", "--role", "operator", "--name", "ci", "--state-dir", state)
	lines := strings.Split(strings.TrimSpace(tok.stdout), "\n")
	c := &client{t: t, base: "http://" + m.Addr(), token: lines[len(lines)-1], http: &http.Client{Timeout: 5 * time.Minute}}
	waitUntil(t, "the startup plan", func() bool { return m.Reconciler().State().PlanID != "" })
	if st := m.Reconciler().State().Alerting; st.Error != "" || st.Commit == "" {
		t.Fatalf("alerting.yaml not in force: %+v", st)
	}

	// 0. docs-site must run before it can be frozen: apply the head.
	var applied struct{ Status string }
	if code := c.do("POST", "/api/v1/plans/"+m.Reconciler().State().PlanID+"/apply", nil, &applied); code != 200 || applied.Status != "succeeded" {
		t.Fatalf("apply: %d %+v", code, applied)
	}

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
	planOf := func() *meridian.Plan {
		t.Helper()
		var v struct {
			Plan meridian.Plan `json:"plan"`
		}
		if code := c.do("GET", "/api/v1/plans/"+m.Reconciler().State().PlanID, nil, &v); code != 200 {
			t.Fatalf("plan: %d", code)
		}
		return &v.Plan
	}
	frozen := func(p *meridian.Plan) []string {
		var out []string
		for _, tc := range p.Terraform {
			for _, f := range tc.Frozen {
				out = append(out, fmt.Sprintf("%s@%s=%d", f.Workload, tc.Target, f.Replicas))
			}
		}
		return out
	}
	amTagAlerts := func() []alertingtest.GettableAlert {
		var out []alertingtest.GettableAlert
		for _, a := range am.Alerts(t) {
			if a.Labels["alertname"] == "MER-TAG-001" {
				out = append(out, a)
			}
		}
		return out
	}

	// 1. A commit drops docs-site's owner tag: the finding opens and the
	// running workload freezes.
	editFile(t, repo, "workloads/docs-site.yaml", "  owner: team-platform\n", "")
	push("alert-1", "drop the owner tag")
	var open struct{ Items []meridian.FindingRecord }
	c.do("GET", "/api/v1/findings?state=open&rule=MER-TAG-001&workload=docs-site", nil, &open)
	if len(open.Items) != 1 {
		t.Fatalf("open MER-TAG-001 findings: %+v", open.Items)
	}
	broken := planOf()
	if fz := frozen(broken); len(fz) != 1 || !strings.HasPrefix(fz[0], "docs-site@onprem-fra-dc1=1") {
		t.Fatalf("frozen after the breaking commit: %v, want docs-site held at 1 replica on onprem-fra-dc1", fz)
	}
	var remediation string
	for _, f := range broken.Findings {
		if f.Rule == "MER-TAG-001" && f.Workload == "docs-site" {
			remediation = f.Remediation
		}
	}

	// 2. Exactly one alert reaches Slack and Alertmanager.
	waitUntil(t, "the alert in Alertmanager", func() bool { return len(amTagAlerts()) > 0 })
	waitUntil(t, "the Slack message", func() bool { return len(slack.titles()) > 0 })
	time.Sleep(2 * time.Second) // group_interval: anything more would have come by now
	if got := slack.titles(); len(got) != 1 || !strings.HasPrefix(got[0], "1 firing") {
		t.Fatalf("Slack messages after the breaking commit: %q, want one with one firing alert", got)
	}
	amAlerts := amTagAlerts()
	if len(amAlerts) != 1 {
		t.Fatalf("Alertmanager holds %d MER-TAG-001 alerts, want 1: %+v", len(amAlerts), amAlerts)
	}
	a := amAlerts[0]
	want := map[string]string{"alertname": "MER-TAG-001", "severity": "deny", "workload": "docs-site", "target": "onprem-fra-dc1", "team": meridian.Unowned}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("Alertmanager label %s = %q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if remediation == "" || a.Annotations["remediation"] != remediation || !strings.Contains(a.Annotations["frozen"], "docs-site frozen at 1 replicas on onprem-fra-dc1") ||
		a.Annotations["file"] != "workloads/docs-site.yaml:"+fmt.Sprint(open.Items[0].Line) {
		t.Errorf("Alertmanager annotations: %v", a.Annotations)
	}
	if a.GeneratorURL != "https://meridian.example.com/workloads/docs-site" {
		t.Errorf("generatorURL %q", a.GeneratorURL)
	}
	// The API lists it firing, and the freeze only on the finding's alert.
	var firing struct{ Items []meridian.Alert }
	c.do("GET", "/api/v1/alerts?state=firing", nil, &firing)
	sources := map[string]int{}
	for _, al := range firing.Items {
		if al.Workload == "docs-site" && al.Severity == meridian.SeverityDeny {
			sources[string(al.Source)+" "+al.Name]++
		}
	}
	if len(sources) != 1 || sources["finding MER-TAG-001"] != 1 {
		t.Errorf("firing alerts of docs-site by source: %v (%+v)", sources, firing.Items)
	}

	// 3. The fix resolves both, and scaling resumes.
	editFile(t, repo, "workloads/docs-site.yaml", "tags:\n", "tags:\n  owner: team-platform\n")
	push("alert-2", "restore the owner tag")
	if fz := frozen(planOf()); len(fz) != 0 {
		t.Errorf("still frozen after the fix: %v", fz)
	}
	waitUntil(t, "the resolved Slack message", func() bool { return len(slack.titles()) >= 2 })
	waitUntil(t, "Alertmanager to drop the resolved alert", func() bool { return len(amTagAlerts()) == 0 })
	waitUntil(t, "Alertmanager's resolved notification", func() bool { return amHook.resolved("MER-TAG-001", "docs-site") })
	time.Sleep(2 * time.Second)
	if got := slack.titles(); len(got) != 2 || !strings.HasPrefix(got[1], "1 resolved") {
		t.Errorf("Slack messages: %q, want the firing one and one resolved", got)
	}
	slack.mu.Lock()
	if len(slack.keys) != 2 || slack.keys[0] == "" || slack.keys[0] == slack.keys[1] {
		t.Errorf("idempotency keys: %q, want two distinct", slack.keys)
	}
	slack.mu.Unlock()
	var resolved struct{ Items []meridian.Alert }
	c.do("GET", "/api/v1/alerts?state=resolved", nil, &resolved)
	ended := map[meridian.AlertSource]bool{}
	for _, al := range resolved.Items {
		if al.Workload == "docs-site" && !al.EndsAt.IsZero() {
			ended[al.Source] = true
		}
	}
	if !ended[meridian.AlertSourceFinding] {
		t.Errorf("resolved alerts of docs-site by source: %v", ended)
	}

	// /metrics carries the dispatcher's figures.
	resp, err := http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`meridian_alerts{sink="chat",state="resolved"}`, "meridian_alert_outbox_depth 0", `meridian_alert_deliveries_total{outcome="delivered",sink="am"}`} {
		if !strings.Contains(string(metricsText), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The operator's view agrees: `meridian alerts list` on the same store.
	out := runCLI(t, "alerts", "list", "--state", "resolved", "--format", "json", "--state-dir", state)
	if out.code != 0 || !strings.Contains(out.stdout, `"MER-TAG-001"`) {
		t.Errorf("alerts list: %d %s %s", out.code, out.stdout, out.stderr)
	}
}
