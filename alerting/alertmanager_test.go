package alerting

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting/alertingtest"
)

// amAlerts are two alerts as a source would raise them: one frozen
// finding with a link, one drift on no workload with only an owner.
func amAlerts(starts time.Time) []meridian.Alert {
	return []meridian.Alert{
		{
			ID: "fp1/aws-eu", Fingerprint: "fp1", RepoID: "platform", Branch: "main", Source: meridian.AlertSourceFinding,
			Name: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "api", Target: "aws-eu", Team: "web",
			Summary: "api lacks the cost-center tag", Remediation: "add tags.cost-center", File: "workloads/api.yaml", Line: 14,
			Commit: "abc123", URL: "https://meridian.example.com/findings/fp1",
			Frozen: []meridian.Frozen{{Workload: "api", Replicas: 3, Planned: 5}},
			State:  meridian.AlertFiring, StartsAt: starts,
		},
		{
			ID: "fp2/gcp-us", Fingerprint: "fp2", RepoID: "platform", Source: meridian.AlertSourceDrift,
			Name: "drift", Severity: meridian.SeverityWarn, Target: "gcp-us", Owner: "alice",
			Summary: "gcp-us drifted from the plan", State: meridian.AlertFiring, StartsAt: starts,
		},
	}
}

func TestAlertmanagerReal(t *testing.T) {
	notes := make(chan alertingtest.Notification, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n alertingtest.Notification
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := json.Unmarshal(b, &n); err == nil {
			notes <- n
		}
	}))
	defer hook.Close()
	am := alertingtest.StartAlertmanager(t, alertingtest.Options{WebhookURL: hook.URL})

	ctx := context.Background()
	snd := NewAlertmanager("am", am.URL, SenderOptions{})
	starts := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	alerts := amAlerts(starts)
	m := Message{Key: "k-firing", Sink: "am", Group: "commit=abc123", Alerts: alerts, Created: time.Now()}
	if err := snd.Send(ctx, m); err != nil {
		t.Fatalf("send firing: %v\n%s", err, am.Log)
	}
	// A repeat a little later must not move startsAt.
	m.Key, m.Repeat, m.Created = "k-repeat", true, time.Now()
	if err := snd.Send(ctx, m); err != nil {
		t.Fatalf("send repeat: %v", err)
	}

	got := am.Alerts(t)
	slices.SortFunc(got, func(a, b alertingtest.GettableAlert) int { return cmpStr(a.Labels["alertname"], b.Labels["alertname"]) })
	type seen struct {
		Labels, Annotations map[string]string
		StartsAt            time.Time
		GeneratorURL        string
		State               string
	}
	var gotSeen []seen
	for _, a := range got {
		gotSeen = append(gotSeen, seen{a.Labels, a.Annotations, a.StartsAt.UTC(), a.GeneratorURL, a.Status.State})
	}
	want := []seen{
		{
			Labels: map[string]string{
				"alertname": "MER-TAG-001", "severity": "deny", "workload": "api", "target": "aws-eu", "team": "web",
				"source": "finding", "fingerprint": "fp1", "repo": "platform", "branch": "main",
			},
			Annotations: map[string]string{
				"summary": alerts[0].Summary, "remediation": alerts[0].Remediation, "file": "workloads/api.yaml:14",
				"commit": "abc123", "frozen": "api frozen at 3 replicas on aws-eu until the finding is fixed",
				"idempotency_key": "k-repeat",
			},
			StartsAt: starts, GeneratorURL: alerts[0].URL, State: "active",
		},
		{
			Labels: map[string]string{
				"alertname": "drift", "severity": "warn", "workload": "none", "target": "gcp-us", "team": "alice",
				"source": "drift", "fingerprint": "fp2", "repo": "platform",
			},
			Annotations: map[string]string{"summary": alerts[1].Summary, "idempotency_key": "k-repeat"},
			StartsAt:    starts, State: "active",
		},
	}
	if diff := cmp.Diff(want, gotSeen); diff != "" {
		t.Fatalf("Alertmanager holds the alerts with non-empty labels and the first startsAt (-want +got):\n%s", diff)
	}
	waitNote(t, notes, "firing", 2)

	ended := time.Now().UTC()
	for i := range alerts {
		alerts[i].State, alerts[i].EndsAt = meridian.AlertResolved, ended
	}
	if err := snd.Send(ctx, Message{Key: "k-resolved", Sink: "am", Alerts: alerts, Created: ended}); err != nil {
		t.Fatalf("send resolved: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(am.Alerts(t)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager still shows resolved alerts active: %+v", am.Alerts(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
	n := waitNote(t, notes, "resolved", 2)
	for _, a := range n.Alerts {
		if !a.StartsAt.Equal(starts) || a.EndsAt.Sub(ended).Abs() > time.Millisecond {
			t.Errorf("resolved %s: startsAt %s endsAt %s, want %s and %s", a.Labels["alertname"], a.StartsAt, a.EndsAt, starts, ended)
		}
	}
}

// waitNote waits for Alertmanager's webhook notification with the given
// status and number of alerts.
func waitNote(t *testing.T, notes <-chan alertingtest.Notification, status string, n int) alertingtest.Notification {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case got := <-notes:
			if got.Status == status && len(got.Alerts) == n {
				return got
			}
		case <-timeout:
			t.Fatalf("no %s notification with %d alerts from Alertmanager", status, n)
		}
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestAlertmanagerAlertsSkipsSilenced(t *testing.T) {
	as := amAlerts(time.Unix(1700000000, 0))
	as[1].State = meridian.AlertSilenced
	got := AlertmanagerAlerts(Message{Key: "k", Alerts: as})
	if len(got) != 1 || got[0].Labels["alertname"] != "MER-TAG-001" || !got[0].EndsAt.IsZero() {
		t.Errorf("a silenced alert is left out and a firing one has no endsAt, got %+v", got)
	}
	for _, a := range got {
		for k, v := range a.Labels {
			if v == "" {
				t.Errorf("label %s is empty: Alertmanager would drop it", k)
			}
		}
	}
}
