package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// testAlerts runs the checks of store.Alerts: the outbox written with its
// events, condition records, silences, and the dispatcher's state.
func testAlerts(t *testing.T, open Opener) {
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("Conditions", func(t *testing.T) { testConditions(t, open) })
	t.Run("Silences", func(t *testing.T) { testSilences(t, open) })
	t.Run("AlertState", func(t *testing.T) { testAlertState(t, open) })
}

func outboxIDs(t *testing.T, s store.Store) []int64 {
	t.Helper()
	entries, err := s.PendingOutbox(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range entries {
		if e.Event.ID != e.EventID {
			t.Errorf("outbox entry %d carries event %d", e.EventID, e.Event.ID)
		}
		out = append(out, e.EventID)
	}
	return out
}

// testOutbox: every event that can start, change or end an alert gets an
// outbox row, whichever writer appends it; no other event does.
func testOutbox(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	ctx := context.Background()
	rec, _ := json.Marshal(meridian.FindingRecord{RepoID: "r1", Branch: "main", Fingerprint: "f1", Rule: "MER-1", State: meridian.FindingOpen})
	evs, err := s.AppendEvents(ctx, []meridian.Event{
		{Type: meridian.EventPlanCreated, RepoID: "r1", Branch: "main"},
		{Type: meridian.EventApplyFailed, RepoID: "r1", Branch: "main"},
		{Type: meridian.EventLockAcquired, RepoID: "r1", Target: "t"},
		{Type: meridian.EventApplySucceeded, RepoID: "r1", Branch: "main"},
		{Type: meridian.EventFindingOpened, RepoID: "r1", Payload: rec}, // no branch: not tracked
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{evs[1].ID, evs[3].ID}
	saved, err := s.SaveFindings(ctx, []meridian.FindingRecord{{RepoID: "r1", Branch: "main", Fingerprint: "f1", Rule: "MER-1", State: meridian.FindingOpen}},
		[]meridian.Event{{Type: meridian.EventPlanCreated, RepoID: "r1", Branch: "main"}, {Type: meridian.EventFindingOpened, RepoID: "r1", Branch: "main", Payload: rec}})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, saved[1].ID)
	drift, err := s.SyncDrift(ctx, "r1", []meridian.DriftEngine{meridian.DriftEngineTerraform},
		[]meridian.DriftRecord{{Engine: meridian.DriftEngineTerraform, Target: "t", Resource: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, drift[0].ID)
	if diff := cmp.Diff(want, outboxIDs(t, s)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	// A failed append writes no outbox row either.
	if _, err := s.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventApplyFailed}, {Type: "bogus"}}); err == nil {
		t.Fatal("appending an unknown event type succeeded")
	}
	if diff := cmp.Diff(want, outboxIDs(t, s)); diff != "" {
		t.Errorf("outbox after a failed append (-want +got):\n%s", diff)
	}
	st, err := s.AlertStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OutboxDepth != len(want) || st.OldestUndelivered.IsZero() {
		t.Errorf("stats = %+v, want depth %d and an oldest time", st, len(want))
	}
}

func testConditions(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	frozen := []meridian.AlertSource{meridian.AlertSourceFrozen}
	a := meridian.ConditionRecord{Source: meridian.AlertSourceFrozen, Fingerprint: "fa", Name: "frozen", Workload: "api", Summary: "api frozen"}
	lock := meridian.ConditionRecord{Source: meridian.AlertSourceLock, Fingerprint: "fl", Name: "lock_held", Summary: "held"}
	evs, err := s.SyncConditions(ctx, "r1", []meridian.AlertSource{meridian.AlertSourceFrozen, meridian.AlertSourceLock}, []meridian.ConditionRecord{a, lock})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]meridian.EventType{meridian.EventConditionOpened, meridian.EventConditionOpened}, types(evs)); diff != "" {
		t.Fatalf("first sync events (-want +got):\n%s", diff)
	}
	if evs[0].Fingerprint != "fa" || evs[0].Workload != "api" {
		t.Errorf("condition.opened = %+v, want fingerprint and workload set", evs[0])
	}
	first := c.Now()
	c.Advance(time.Minute)
	a.Summary = "api still frozen"
	evs, err = s.SyncConditions(ctx, "r1", frozen, []meridian.ConditionRecord{a})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("seeing the same condition again wrote events %v", types(evs))
	}
	got, err := s.OpenConditions(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Fingerprint != "fa" || got[0].Summary != "api still frozen" || !got[0].FirstSeen.Equal(first) || !got[0].LastSeen.Equal(c.Now()) {
		t.Errorf("open conditions = %+v, want fa refreshed (first seen %s, last seen %s) and fl", got, first, c.Now())
	}
	evs, err = s.SyncConditions(ctx, "r1", frozen, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != meridian.EventConditionCleared || evs[0].Fingerprint != "fa" {
		t.Fatalf("clearing sync events = %+v, want condition.cleared of fa only (the lock source was not checked)", evs)
	}
	var cleared meridian.ConditionRecord
	if err := json.Unmarshal(evs[0].Payload, &cleared); err != nil || !cleared.ClearedAt.Equal(c.Now()) {
		t.Errorf("cleared payload = %s (%v), want the record cleared at %s", evs[0].Payload, err, c.Now())
	}
	if got, _ := s.OpenConditions(ctx, "r1"); len(got) != 1 || got[0].Fingerprint != "fl" {
		t.Errorf("open conditions after clearing = %+v, want fl only", got)
	}
	for name, cur := range map[string][]meridian.ConditionRecord{
		"outside sources": {lock},
		"no fingerprint":  {{Source: meridian.AlertSourceFrozen, Name: "frozen"}},
	} {
		if _, err := s.SyncConditions(ctx, "r1", frozen, cur); meridian.ErrorCode(err) != meridian.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
	if n := len(outboxIDs(t, s)); n != 3 {
		t.Errorf("outbox holds %d rows, want one per condition event (3)", n)
	}
}

func testSilences(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	if _, err := s.CreateSilence(ctx, meridian.Silence{RepoID: "r1", EndsAt: c.Now().Add(time.Hour)}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("silence without matcher: err = %v, want EINVALID", err)
	}
	if _, err := s.CreateSilence(ctx, meridian.Silence{Name: "x", EndsAt: c.Now().Add(-time.Hour)}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("silence ending before it starts: err = %v, want EINVALID", err)
	}
	sl, err := s.CreateSilence(ctx, meridian.Silence{RepoID: "r1", Team: "payments", Comment: "deploy", CreatedBy: "alice", EndsAt: c.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if sl.ID == "" || !sl.StartsAt.Equal(c.Now()) {
		t.Errorf("created silence = %+v, want an ID and starting now", sl)
	}
	active, err := s.ListSilences(ctx, store.SilenceFilter{ActiveAt: c.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]meridian.Silence{sl}, active); diff != "" {
		t.Errorf("active silences (-want +got):\n%s", diff)
	}
	c.Advance(time.Minute)
	expired, err := s.ExpireSilence(ctx, sl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !expired.ExpiredAt.Equal(c.Now()) {
		t.Errorf("expired silence = %+v, want ExpiredAt %s", expired, c.Now())
	}
	if active, _ := s.ListSilences(ctx, store.SilenceFilter{ActiveAt: c.Now()}); len(active) != 0 {
		t.Errorf("active silences after expiry = %+v, want none", active)
	}
	if all, _ := s.ListSilences(ctx, store.SilenceFilter{RepoID: "r1"}); len(all) != 1 {
		t.Errorf("all silences = %+v, want the expired one kept", all)
	}
	if _, err := s.ExpireSilence(ctx, "nope"); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("expire unknown silence: err = %v, want ENOTFOUND", err)
	}
}

// testAlertState: outbox rows are processed once, a flush is taken once,
// a message is stored once per key, and dead letters replay.
func testAlertState(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	evs, err := s.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventApplyFailed, RepoID: "r1", Branch: "main"}})
	if err != nil {
		t.Fatal(err)
	}
	now := c.Now()
	alert := store.AlertRecord{Alert: meridian.Alert{ID: "a1", Fingerprint: "fp", RepoID: "r1", Name: "apply_failed", Target: "none",
		State: meridian.AlertFiring, StartsAt: now}, Sinks: []string{"hook"}, UpdatedAt: now}
	commit := store.AlertCommit{EventID: evs[0].ID, ProcessedAt: now, Alerts: []store.AlertRecord{alert},
		Pending: []store.GroupPending{{Sink: "hook", Group: "g", RouteID: "routes.0", AlertID: "a1", At: now, FlushAt: now.Add(10 * time.Second),
			GroupInterval: time.Minute, RepeatInterval: time.Hour}}}
	if err := s.CommitAlerts(ctx, commit); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitAlerts(ctx, commit); meridian.ErrorCode(err) != meridian.ECONFLICT {
		t.Errorf("processing an outbox row twice: err = %v, want ECONFLICT", err)
	}
	if n := len(outboxIDs(t, s)); n != 0 {
		t.Errorf("%d outbox rows pending after commit, want 0", n)
	}
	got, err := s.AlertsByFingerprint(ctx, "r1", "fp")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.AlertRecord{alert}, got); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if due, _ := s.DueGroups(ctx, now.Add(9*time.Second)); len(due) != 0 {
		t.Errorf("groups due before their wait = %+v", due)
	}
	due, err := s.DueGroups(ctx, now.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Seq != 0 || due[0].RepeatInterval != time.Hour {
		t.Fatalf("due groups = %+v, want g at sequence 0", due)
	}
	members, err := s.GroupAlerts(ctx, "hook", "g")
	if err != nil || len(members) != 1 || !members[0].Pending {
		t.Fatalf("members = %+v (%v), want a1 pending", members, err)
	}
	at := now.Add(10 * time.Second)
	flush := store.GroupFlush{Sink: "hook", Group: "g", Seq: 1, RepeatAt: at.Add(time.Hour),
		Delivery: store.AlertDelivery{Key: "k1", Message: json.RawMessage(`{"key":"k1"}`), CreatedAt: at}}
	if err := s.FlushGroup(ctx, flush); err != nil {
		t.Fatal(err)
	}
	if err := s.FlushGroup(ctx, flush); meridian.ErrorCode(err) != meridian.ECONFLICT {
		t.Errorf("flushing the same sequence twice: err = %v, want ECONFLICT", err)
	}
	if due, _ := s.DueGroups(ctx, at.Add(59*time.Minute)); len(due) != 0 {
		t.Errorf("groups due before the repeat = %+v", due)
	}
	dl, err := s.DueDeliveries(ctx, at, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 1 || dl[0].Key != "k1" || dl[0].Status != store.DeliveryPending {
		t.Fatalf("due deliveries = %+v, want k1 pending", dl)
	}
	if err := s.FinishAttempt(ctx, store.DeliveryAttempt{ID: dl[0].ID, Status: store.DeliveryDead, Attempts: 3, LastError: "503", At: at}); err != nil {
		t.Fatal(err)
	}
	dead, err := s.ListDeliveries(ctx, store.DeliveryFilter{Status: store.DeliveryDead})
	if err != nil || len(dead) != 1 || dead[0].Attempts != 3 || dead[0].LastError != "503" {
		t.Fatalf("dead letters = %+v (%v), want k1 after 3 attempts", dead, err)
	}
	later := at.Add(time.Hour)
	if err := s.ReplayDeadLetter(ctx, dead[0].ID, later); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplayDeadLetter(ctx, dead[0].ID, later); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("replaying a pending delivery: err = %v, want ENOTFOUND", err)
	}
	dl, _ = s.DueDeliveries(ctx, later, 0)
	if len(dl) != 1 || dl[0].Attempts != 0 {
		t.Errorf("due after replay = %+v, want k1 with attempts reset", dl)
	}
	if err := s.FinishAttempt(ctx, store.DeliveryAttempt{ID: dl[0].ID, Status: store.DeliveryDelivered, Attempts: 0, At: later}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAttempt(ctx, store.DeliveryAttempt{ID: dl[0].ID, Status: store.DeliveryPending, Attempts: 1, At: later}); meridian.ErrorCode(err) != meridian.ECONFLICT {
		t.Errorf("an attempt on a delivered message: err = %v, want ECONFLICT", err)
	}
	firing, err := s.ListAlerts(ctx, store.AlertFilter{State: meridian.AlertFiring, RepoID: "r1"})
	if err != nil || len(firing) != 1 {
		t.Errorf("firing alerts = %+v (%v), want a1", firing, err)
	}
	if _, err := s.ListAlerts(ctx, store.AlertFilter{State: "burning"}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("unknown state: err = %v, want EINVALID", err)
	}
	// Pruning takes the processed outbox row and the delivered message,
	// never the alert that still fires.
	n, err := s.PruneAlerts(ctx, later.Add(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("pruned %d rows, want 2 (the processed outbox row and the delivered message)", n)
	}
	if ds, _ := s.ListDeliveries(ctx, store.DeliveryFilter{}); len(ds) != 0 {
		t.Errorf("deliveries after pruning = %+v, want none", ds)
	}
	if firing, _ := s.ListAlerts(ctx, store.AlertFilter{State: meridian.AlertFiring}); len(firing) != 1 {
		t.Errorf("firing alerts after pruning = %+v, want a1 kept", firing)
	}
}
