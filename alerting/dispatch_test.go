package alerting_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/store"
)

func applyEvent(typ meridian.EventType, errText string) meridian.Event {
	b, _ := json.Marshal(map[string]any{"total_monthly_cost": 0, "error": errText})
	return meridian.Event{Type: typ, RepoID: "r1", Branch: "main", Commit: "c2", PlanID: "p2", Payload: b}
}

func driftEvent(typ meridian.EventType) meridian.Event {
	d := meridian.DriftRecord{ID: 1, RepoID: "r1", Engine: meridian.DriftEngineTerraform, Target: "aws-eu", Resource: "aws_s3_bucket.logs", Action: "change"}
	b, _ := json.Marshal(d)
	return meridian.Event{Type: typ, RepoID: "r1", Target: "aws-eu", Payload: b}
}

// applied records in the ledger that workload runs on each target.
func applied(h *harness, workload string, targets ...string) {
	h.t.Helper()
	for _, tgt := range targets {
		lock, err := h.db.AcquireLock(h.ctx, store.LockRequest{Key: store.LockKey{RepoID: "r1", Target: tgt},
			Owner: store.Owner{Host: "test", PID: 1, Actor: "test"}, TTL: time.Minute})
		if err != nil {
			h.t.Fatal(err)
		}
		if err := h.db.RecordApplied(h.ctx, lock.Fence(), store.AppliedTarget{RepoID: "r1", Target: tgt, PlanID: "p1"},
			[]store.LedgerEntry{{RepoID: "r1", Target: tgt, Workload: workload, PlanID: "p1", Replicas: 2}}); err != nil {
			h.t.Fatal(err)
		}
		if err := h.db.ReleaseLock(h.ctx, lock.Fence()); err != nil {
			h.t.Fatal(err)
		}
	}
}

func silence(h *harness, s meridian.Silence) meridian.Silence {
	h.t.Helper()
	s.Comment, s.CreatedBy, s.EndsAt = "maintenance", "alice", h.clock.Now().Add(time.Hour)
	got, err := h.db.CreateSilence(h.ctx, s)
	if err != nil {
		h.t.Fatal(err)
	}
	h.d.Notify(0)
	return got
}

func TestAlertLifecycle(t *testing.T) {
	mer1 := finding("MER-1", "api", "aws-eu")
	cases := map[string]struct {
		reason string
		cfg    func(*alerting.Config)
		run    func(h *harness)
		want   []summary
		// wantStates are the alerts' states in the store at the end, by
		// name@target.
		wantStates map[string]meridian.AlertState
	}{
		"FireOnce": {
			reason: "An alert fires once, however often its cause is seen again while it lasts.",
			run: func(h *harness) {
				h.append(findingEvent(meridian.EventFindingOpened, mer1))
				h.advance(2 * time.Minute)
				h.append(applyEvent(meridian.EventApplyFailed, "boom"))
				h.advance(2 * time.Minute)
				h.append(applyEvent(meridian.EventApplyFailed, "boom again"))
				h.advance(3 * time.Minute)
			},
			want: []summary{{Alerts: []string{"MER-1@aws-eu:firing"}}, {Alerts: []string{"apply_failed@none:firing"}}},
		},
		"RepeatInterval": {
			reason: "An alert that still fires is sent again at the route's repeat interval, and only then.",
			cfg:    func(c *alerting.Config) { c.Routes[0].RepeatInterval = 2 * time.Minute },
			run: func(h *harness) {
				h.append(findingEvent(meridian.EventFindingOpened, mer1))
				h.advance(10*time.Second + 2*time.Minute + 2*time.Minute + 30*time.Second)
			},
			want: []summary{{Alerts: []string{"MER-1@aws-eu:firing"}}, {Repeat: true, Alerts: []string{"MER-1@aws-eu:firing"}},
				{Repeat: true, Alerts: []string{"MER-1@aws-eu:firing"}}},
		},
		"ResolveOnClear": {
			reason: "Drift that clears resolves its alert, and a successful apply resolves the failed-apply alert.",
			cfg:    func(c *alerting.Config) { c.Routes[0].GroupBy = nil },
			run: func(h *harness) {
				h.append(driftEvent(meridian.EventDriftOpened), applyEvent(meridian.EventApplyFailed, "boom"))
				h.advance(20 * time.Second)
				h.append(driftEvent(meridian.EventDriftCleared), applyEvent(meridian.EventApplySucceeded, ""))
				h.advance(2 * time.Minute)
			},
			want: []summary{
				{Alerts: []string{"apply_failed@none:firing", "drift@aws-eu:firing"}},
				{Alerts: []string{"apply_failed@none:resolved", "drift@aws-eu:resolved"}},
			},
			wantStates: map[string]meridian.AlertState{"drift@aws-eu": meridian.AlertResolved, "apply_failed@none": meridian.AlertResolved},
		},
		"ResolveBeforeRepeat": {
			reason: "A resolve waiting out its group interval is sent with the repeat that falls due first, never dropped by it.",
			cfg: func(c *alerting.Config) {
				c.Routes[0].GroupInterval, c.Routes[0].RepeatInterval = 5*time.Minute, 2*time.Minute
			},
			run: func(h *harness) {
				h.append(findingEvent(meridian.EventFindingOpened, mer1))
				h.advance(30 * time.Second)
				h.append(findingEvent(meridian.EventFindingResolved, mer1))
				h.advance(2 * time.Minute)
			},
			want: []summary{{Alerts: []string{"MER-1@aws-eu:firing"}}, {Alerts: []string{"MER-1@aws-eu:resolved"}}},
		},
		"Conditions": {
			reason: "A condition fires when a check first sees it and resolves when one no longer does.",
			run: func(h *harness) {
				c := meridian.ConditionRecord{Source: meridian.AlertSourceFrozen, Fingerprint: "frozen-api", Name: "frozen",
					Severity: meridian.SeverityDeny, Workload: "api", Target: "aws-eu", Summary: "api is frozen at 2 replicas"}
				if _, err := h.db.SyncConditions(h.ctx, "r1", []meridian.AlertSource{meridian.AlertSourceFrozen}, []meridian.ConditionRecord{c}); err != nil {
					h.t.Fatal(err)
				}
				h.advance(20 * time.Second)
				if _, err := h.db.SyncConditions(h.ctx, "r1", []meridian.AlertSource{meridian.AlertSourceFrozen}, nil); err != nil {
					h.t.Fatal(err)
				}
				h.advance(2 * time.Minute)
			},
			want:       []summary{{Alerts: []string{"frozen@aws-eu:firing"}}, {Alerts: []string{"frozen@aws-eu:resolved"}}},
			wantStates: map[string]meridian.AlertState{"frozen@aws-eu": meridian.AlertResolved},
		},
		"Waiver": {
			reason: "A waiver silences the alert: receivers hear it ended; when the waiver expires it fires anew.",
			run: func(h *harness) {
				h.append(findingEvent(meridian.EventFindingOpened, mer1))
				h.advance(20 * time.Second)
				w := mer1
				w.State = meridian.FindingWaived
				h.append(findingEvent(meridian.EventFindingWaived, w))
				h.advance(2 * time.Minute)
				h.append(findingEvent(meridian.EventFindingWaiverExpired, mer1))
				h.advance(2 * time.Minute)
			},
			want: []summary{{Alerts: []string{"MER-1@aws-eu:firing"}}, {Alerts: []string{"MER-1@aws-eu:silenced"}},
				{Alerts: []string{"MER-1@aws-eu:firing"}}},
			wantStates: map[string]meridian.AlertState{"MER-1@aws-eu": meridian.AlertFiring},
		},
		"Silence": {
			reason: "A silence quiets matching firing alerts until it is expired, then they fire again.",
			run: func(h *harness) {
				h.append(findingEvent(meridian.EventFindingOpened, mer1))
				h.advance(20 * time.Second)
				s := silence(h, meridian.Silence{Name: "MER-1"})
				h.advance(2 * time.Minute)
				if _, err := h.db.ExpireSilence(h.ctx, s.ID); err != nil {
					h.t.Fatal(err)
				}
				h.advance(2 * time.Minute)
			},
			want: []summary{{Alerts: []string{"MER-1@aws-eu:firing"}}, {Alerts: []string{"MER-1@aws-eu:silenced"}},
				{Alerts: []string{"MER-1@aws-eu:firing"}}},
		},
		"SilenceBeforeFiring": {
			reason: "An alert a silence covers from the start is recorded as silenced and sent to nobody.",
			run: func(h *harness) {
				silence(h, meridian.Silence{Team: "payments"})
				h.append(findingEvent(meridian.EventFindingOpened, mer1))
				h.advance(2 * time.Minute)
			},
			wantStates: map[string]meridian.AlertState{"MER-1@aws-eu": meridian.AlertSilenced},
		},
		"GroupByCommit": {
			reason: "Several alerts of one commit become one message, not one each.",
			run: func(h *harness) {
				h.append(findingEvent(meridian.EventFindingOpened, finding("MER-1", "api", "aws-eu")),
					findingEvent(meridian.EventFindingOpened, finding("MER-2", "api", "gcp-us")))
				h.advance(5 * time.Second)
				h.append(findingEvent(meridian.EventFindingOpened, finding("MER-3", "web", "aws-eu")))
				h.advance(time.Minute)
			},
			want: []summary{{Alerts: []string{"MER-1@aws-eu:firing", "MER-2@gcp-us:firing", "MER-3@aws-eu:firing"}}},
		},
		"WorkloadPerTarget": {
			reason: "A workload-level finding raises one alert per target the workload runs on.",
			run: func(h *harness) {
				applied(h, "api", "aws-eu", "gcp-us")
				h.append(findingEvent(meridian.EventFindingOpened, finding("MER-9", "api", "")))
				h.append(findingEvent(meridian.EventFindingOpened, finding("MER-9", "batch", "")))
				h.advance(time.Minute)
			},
			want: []summary{{Alerts: []string{"MER-9@aws-eu:firing", "MER-9@gcp-us:firing", "MER-9@none:firing"}}},
			wantStates: map[string]meridian.AlertState{"MER-9@aws-eu": meridian.AlertFiring, "MER-9@gcp-us": meridian.AlertFiring,
				"MER-9@none": meridian.AlertFiring},
		},
		"RetargetAfterApply": {
			reason: "A workload-level finding raised before its workload ran fires on none; the apply that starts it moves the alert to the targets it now runs on.",
			cfg:    func(c *alerting.Config) { c.Routes[0].GroupBy = nil },
			run: func(h *harness) {
				f := finding("MER-9", "api", "")
				if _, err := h.db.SaveFindings(h.ctx, []meridian.FindingRecord{f}, []meridian.Event{findingEvent(meridian.EventFindingOpened, f)}); err != nil {
					h.t.Fatal(err)
				}
				h.advance(time.Minute)
				applied(h, "api", "aws-eu", "gcp-us")
				h.append(applyEvent(meridian.EventApplySucceeded, ""))
				h.advance(time.Minute)
			},
			want: []summary{{Alerts: []string{"MER-9@none:firing"}},
				{Alerts: []string{"MER-9@aws-eu:firing", "MER-9@gcp-us:firing", "MER-9@none:resolved"}}},
			wantStates: map[string]meridian.AlertState{"MER-9@aws-eu": meridian.AlertFiring, "MER-9@gcp-us": meridian.AlertFiring,
				"MER-9@none": meridian.AlertResolved},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{cfg: tc.cfg})
			tc.run(h)
			got := summarize(h.recv.delivered(t))
			if diff := cmp.Diff(tc.want, got, sortAlerts); diff != "" {
				t.Errorf("%s\nmessages (-want +got):\n%s", tc.reason, diff)
			}
			if tc.wantStates != nil {
				states := map[string]meridian.AlertState{}
				for _, a := range h.alerts("") {
					states[a.Name+"@"+a.Target] = a.State
				}
				if diff := cmp.Diff(tc.wantStates, states); diff != "" {
					t.Errorf("%s\nalert states (-want +got):\n%s", tc.reason, diff)
				}
			}
		})
	}
}
