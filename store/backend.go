package store

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// What every backend decides the same way, kept here so that SQLite and
// PostgreSQL cannot drift apart: which events may enter the log, which
// ones get an alert outbox row, the events drift and condition records
// make, and which moves may be saved.

// CheckEvents refuses what must never enter the event log (an unknown
// type, a payload that is not JSON) with an EINVALID error, before a
// transaction starts.
func CheckEvents(evs []meridian.Event) error {
	for _, e := range evs {
		if !e.Type.Valid() {
			return meridian.Errorf(meridian.EINVALID, "append events: unknown event type %q", e.Type)
		}
		if len(e.Payload) > 0 && !json.Valid(e.Payload) {
			return meridian.Errorf(meridian.EINVALID, "append events: %s: payload is not JSON", e.Type)
		}
	}
	return nil
}

// AlertRelevant reports whether e can start, change or end an alert, and
// so gets an outbox row in the transaction that appends it. Finding events
// count only on a branch: findings are recorded for tracked branches,
// where what is merged is what runs.
func AlertRelevant(e meridian.Event) bool {
	switch e.Type {
	case meridian.EventFindingOpened, meridian.EventFindingResolved, meridian.EventFindingWaived, meridian.EventFindingWaiverExpired:
		return e.Branch != ""
	case meridian.EventDriftOpened, meridian.EventDriftCleared,
		meridian.EventApplyFailed, meridian.EventApplySucceeded,
		meridian.EventConditionOpened, meridian.EventConditionCleared,
		meridian.EventEdgeSiteBehind, meridian.EventEdgeSiteFailing, meridian.EventEdgeSiteStale, meridian.EventEdgeSiteRecovered,
		meridian.EventEdgeSiteRetired:
		return true
	}
	return false
}

// DriftEvent is the drift.opened or drift.cleared event of d.
func DriftEvent(typ meridian.EventType, d meridian.DriftRecord) meridian.Event {
	// A DriftRecord marshals without error: strings, numbers and times.
	payload, _ := json.Marshal(d)
	return meridian.Event{Type: typ, RepoID: d.RepoID, Target: d.Target, Workload: d.Workload, Payload: payload}
}

// ConditionEvent is the condition.opened or condition.cleared event of c,
// at now.
func ConditionEvent(typ meridian.EventType, c meridian.ConditionRecord, now time.Time) meridian.Event {
	// A ConditionRecord marshals without error: strings, numbers and times.
	payload, _ := json.Marshal(c)
	return meridian.Event{Type: typ, Time: now, RepoID: c.RepoID, Branch: c.Branch, Commit: c.Commit,
		Target: c.Target, Workload: c.Workload, Fingerprint: c.Fingerprint, Payload: payload}
}

// CheckMoves refuses, with an EINVALID error, moves that SaveMoves must
// not store: a workload empty or listed twice, a target name that is empty
// or holds a comma (backends keep target lists comma-separated), a detail
// that is not JSON.
func CheckMoves(scope string, moves []Move) error {
	seen := map[string]bool{}
	for _, m := range moves {
		if m.Workload == "" || seen[m.Workload] {
			return meridian.Errorf(meridian.EINVALID, "save moves of %s: workload %q is empty or listed twice", scope, m.Workload)
		}
		seen[m.Workload] = true
		for _, t := range append(append([]string(nil), m.From...), m.To...) {
			if t == "" || strings.Contains(t, ",") {
				return meridian.Errorf(meridian.EINVALID, "save moves of %s: %s: invalid target name %q", scope, m.Workload, t)
			}
		}
		if len(m.Detail) > 0 && !json.Valid(m.Detail) {
			return meridian.Errorf(meridian.EINVALID, "save moves of %s: %s: detail is not JSON", scope, m.Workload)
		}
	}
	return nil
}
