package controlplane_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
)

// TestLiveFindingAlerts: a deny live finding of the server's scheduled
// audit fires an alert as a config finding does, through the store's
// outbox and the dispatcher, routed by source and severity, with the
// finding's remediation (which names the resource) and on the live
// branch; the audit that no longer finds it resolves the alert.
func TestLiveFindingAlerts(t *testing.T) {
	ctx := context.Background()
	db, a, reader := hybridAuditor(t)

	now := testNow
	d := alerting.NewDispatcher(db, alerting.DispatcherOptions{Now: func() time.Time { return now },
		Jitter: func(d time.Duration) time.Duration { return d }})
	// The one route takes deny findings only, as an on-call route would.
	acfg, err := alerting.Parse(alerting.FileName, []byte(alertingOK+`    sources: [finding]
    severities: [deny]
    group_by: []
    group_wait: 1s
`))
	if err != nil {
		t.Fatal(err)
	}
	snd := &recordingSender{}
	d.SetConfig(acfg, map[string]alerting.Sender{"am": snd})
	step := func() {
		t.Helper()
		for range 3 {
			now = now.Add(time.Second)
			if err := d.Step(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	rep, err := a.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]meridian.Finding{} // by rule and message
	for _, f := range rep.Findings {
		if f.Blocking() {
			want[f.Rule+" "+f.Message] = f
		}
	}
	if len(want) == 0 {
		t.Fatalf("the audit found no deny finding: %+v", rep.Findings)
	}
	step()
	firing := findingAlerts(t, d)
	got := map[string]bool{}
	for _, al := range firing {
		match, ok := want[al.Name+" "+al.Summary]
		if !ok {
			t.Errorf("alert %s (%s) is of no deny live finding", al.Name, al.Summary)
			continue
		}
		got[al.Name+" "+al.Summary] = true
		if al.Source != meridian.AlertSourceFinding || al.Branch != controlplane.LiveBranch("main") || al.Severity != meridian.SeverityDeny {
			t.Errorf("alert %s: source %s, branch %s, severity %s; want finding, %s, deny", al.Name, al.Source, al.Branch, al.Severity, controlplane.LiveBranch("main"))
		}
		if al.Remediation == "" || al.Remediation != match.Remediation || !strings.Contains(al.Remediation, match.Resource) {
			t.Errorf("alert %s remediation %q, want the finding's %q, naming %s", al.Name, al.Remediation, match.Remediation, match.Resource)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d deny live findings fired %d alerts: %v", len(want), len(got), got)
	}
	var sent int
	for _, m := range snd.msgs {
		for _, al := range m.Alerts {
			if al.State == meridian.AlertFiring && al.Remediation != "" {
				sent++
			}
		}
	}
	if sent != len(firing) {
		t.Errorf("the sink heard of %d firing alerts with a remediation, want %d", sent, len(firing))
	}

	// Everything fixed: the next audit resolves the findings, and their
	// alerts with them.
	reader.path = filepath.Join(t.TempDir(), "fixed.json")
	if err := os.WriteFile(reader.path, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	step()
	if still := findingAlerts(t, d); len(still) != 0 {
		t.Errorf("after the fix: firing finding alerts %v, want none", still)
	}
}

// findingAlerts are the firing alerts of findings (the audit's drift
// fires alerts of its own).
func findingAlerts(t *testing.T, d *alerting.Dispatcher) []meridian.Alert {
	t.Helper()
	all, err := d.ListAlerts(context.Background(), store.AlertFilter{State: meridian.AlertFiring})
	if err != nil {
		t.Fatal(err)
	}
	var out []meridian.Alert
	for _, a := range all {
		if a.Source == meridian.AlertSourceFinding {
			out = append(out, a)
		}
	}
	return out
}
