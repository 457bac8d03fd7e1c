package history

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/meridianhq/meridian"
)

// Input is one plan of a branch, as the finding lifecycle sees it.
type Input struct {
	RepoID string
	Branch string
	// Commit is the plan's commit; PlanID names the plan in events.
	Commit string
	PlanID string
	Now    time.Time
	// Findings are every finding the plan raised.
	Findings []meridian.Finding
	// Waivers are the config repo's waivers at Commit.
	Waivers []meridian.Waiver
	// Teams maps a workload name to its team (see Teams), to label records.
	Teams map[string]string
}

// Transition moves a branch's finding records from prev (what the store
// holds) to the state that in's plan implies, and returns the records that
// changed or were raised again, with one event per state change:
//
//   - a new finding (or one raised again after it was resolved) opens, with
//     first seen and first commit of this plan: finding.opened, or
//     finding.waived when a waiver silences it from the start;
//   - a finding raised again keeps its first seen and first commit and
//     moves last seen and last commit; it emits an event only when its
//     state changes (waived, waiver expired, waiver withdrawn);
//   - an open or waived finding the plan no longer raises resolves with
//     this plan's commit: finding.resolved;
//   - a waiver whose expiry passed stops silencing: the finding is open
//     again and says so (finding.waiver_expired);
//   - a waiver never silences a rule that decides placement (see
//     meridian.PlacementRule), even if one slipped past the config check.
//
// Records that are resolved and stay resolved are not returned: they are
// history the store already holds. The result is ordered by fingerprint,
// and the events follow the same order.
func Transition(prev []meridian.FindingRecord, in Input) ([]meridian.FindingRecord, []meridian.Event) {
	now := in.Now.UTC()
	old := make(map[string]meridian.FindingRecord, len(prev))
	for _, r := range prev {
		old[r.Fingerprint] = r
	}
	var next []meridian.FindingRecord
	var events []meridian.Event
	seen := map[string]bool{}
	for _, f := range in.Findings {
		fp := meridian.Fingerprint(f)
		if seen[fp] {
			continue // the same finding raised twice (e.g. two lines) is one record
		}
		seen[fp] = true
		r, existed := old[fp]
		reopened := existed && r.State == meridian.FindingResolved
		if !existed || reopened {
			r = meridian.FindingRecord{
				RepoID: in.RepoID, Branch: in.Branch, Fingerprint: fp,
				FirstSeen: now, FirstCommit: in.Commit,
			}
		}
		prevState, prevWaiver := r.State, r.Waiver
		r.Rule, r.Severity, r.Workload, r.Target, r.Field, r.Resource = f.Rule, f.Severity, f.Workload, f.Target, f.Field, f.Resource
		r.Team = in.Teams[f.Workload]
		r.Message, r.File, r.Line, r.Remediation = f.Message, f.File, f.Line, f.Remediation
		r.LastSeen, r.LastCommit = now, in.Commit
		r.ResolvedCommit, r.ResolvedAt = "", time.Time{}
		r.State, r.Waiver, r.Note = waive(f, in.Waivers, now)

		var typ meridian.EventType
		switch {
		case prevState == "" || reopened:
			typ = meridian.EventFindingOpened
			if r.State == meridian.FindingWaived {
				typ = meridian.EventFindingWaived
			}
		case prevState == r.State:
			// Still open or still waived: nothing to announce.
		case r.State == meridian.FindingWaived:
			typ = meridian.EventFindingWaived
		case prevState == meridian.FindingWaived && r.Waiver != nil && r.Waiver.Expired:
			typ = meridian.EventFindingWaiverExpired
		default:
			// Its waiver was withdrawn (deleted or narrowed): open again.
			typ = meridian.EventFindingOpened
			if prevWaiver != nil {
				r.Note = fmt.Sprintf("waiver by %s was withdrawn", prevWaiver.Owner)
			}
		}
		next = append(next, r)
		if typ != "" {
			events = append(events, event(typ, in, r))
		}
	}
	for _, r := range prev {
		if seen[r.Fingerprint] || r.State == meridian.FindingResolved {
			continue
		}
		r.State = meridian.FindingResolved
		r.ResolvedCommit, r.ResolvedAt = in.Commit, now
		r.Note = ""
		next = append(next, r)
		events = append(events, event(meridian.EventFindingResolved, in, r))
	}
	sort.Slice(next, func(i, j int) bool { return next[i].Fingerprint < next[j].Fingerprint })
	sort.SliceStable(events, func(i, j int) bool { return events[i].Fingerprint < events[j].Fingerprint })
	return next, events
}

// waive decides a raised finding's state from the waivers. An active
// waiver wins over expired ones; among several, the one that lasts longest
// is shown, so the record names the waiver that actually silences it.
func waive(f meridian.Finding, waivers []meridian.Waiver, now time.Time) (meridian.FindingState, *meridian.FindingWaiver, string) {
	if protects, ok := meridian.PlacementRule(f.Rule); ok {
		for _, w := range waivers {
			if w.Matches(f) {
				return meridian.FindingOpen, nil, fmt.Sprintf("%s decides placement (%s): it cannot be waived, only fixed", f.Rule, protects)
			}
		}
		return meridian.FindingOpen, nil, ""
	}
	var active, expired *meridian.Waiver
	for i := range waivers {
		w := &waivers[i]
		if !w.Matches(f) {
			continue
		}
		best := &expired
		if !w.Expired(now) {
			best = &active
		}
		if *best == nil || w.Expires.After((*best).Expires) {
			*best = w
		}
	}
	switch {
	case active != nil:
		return meridian.FindingWaived, findingWaiver(active, false),
			fmt.Sprintf("waived by %s until %s: %s", active.Owner, active.ExpiryDate(), active.Reason)
	case expired != nil:
		return meridian.FindingOpen, findingWaiver(expired, true),
			fmt.Sprintf("waiver by %s expired on %s", expired.Owner, expired.ExpiryDate())
	}
	return meridian.FindingOpen, nil, ""
}

func findingWaiver(w *meridian.Waiver, expired bool) *meridian.FindingWaiver {
	return &meridian.FindingWaiver{Reason: w.Reason, Owner: w.Owner, Expires: w.Expires, File: w.Origin.File, Expired: expired}
}

func event(typ meridian.EventType, in Input, r meridian.FindingRecord) meridian.Event {
	// A FindingRecord marshals without error: it holds only strings,
	// numbers and times.
	payload, _ := json.Marshal(r)
	return meridian.Event{
		Type: typ, Time: in.Now.UTC(), RepoID: in.RepoID, Branch: in.Branch, Commit: in.Commit, PlanID: in.PlanID,
		Target: r.Target, Workload: r.Workload, Fingerprint: r.Fingerprint, Payload: payload,
	}
}
