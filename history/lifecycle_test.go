package history

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

var (
	t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(24 * time.Hour)
)

func tagFinding(line int) meridian.Finding {
	return meridian.Finding{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "api", Field: "tags.owner",
		File: "workloads/api.yaml", Line: line, Message: `missing required tag "owner"`}
}

var encFinding = meridian.Finding{Rule: "MER-ENC-001", Severity: meridian.SeverityDeny, Workload: "api", Target: "edge-1",
	Field: "requires.encryption", File: "workloads/api.yaml", Line: 9, Message: "edge-1 cannot provide hsm"}

func waiverFor(rule string, expires time.Time) meridian.Waiver {
	return meridian.Waiver{Rule: rule, Workload: "api", Reason: "migrating", Owner: "alice", Expires: expires,
		Origin: meridian.Origin{File: "waivers/api.yaml", Line: 1}}
}

// record is the record a fresh plan at commit c1 and time t0 opens for f.
func record(f meridian.Finding) meridian.FindingRecord {
	return meridian.FindingRecord{
		RepoID: "r1", Branch: "main", Fingerprint: meridian.Fingerprint(f),
		Rule: f.Rule, Severity: f.Severity, Workload: f.Workload, Target: f.Target, Field: f.Field, Team: "payments",
		Message: f.Message, File: f.File, Line: f.Line, State: meridian.FindingOpen,
		FirstSeen: t0, LastSeen: t0, FirstCommit: "c1", LastCommit: "c1",
	}
}

func with(r meridian.FindingRecord, change func(r *meridian.FindingRecord)) meridian.FindingRecord {
	change(&r)
	return r
}

func TestTransition(t *testing.T) {
	tag := tagFinding(3)
	open := record(tag)
	expires := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // holds through t0's day, expired at t1
	waivedFW := &meridian.FindingWaiver{Reason: "migrating", Owner: "alice", Expires: expires, File: "waivers/api.yaml"}
	waived := with(open, func(r *meridian.FindingRecord) {
		r.State, r.Waiver, r.Note = meridian.FindingWaived, waivedFW, "waived by alice until 2026-12-01: migrating"
	})
	type want struct {
		next   []meridian.FindingRecord
		events []meridian.EventType
	}
	cases := map[string]struct {
		reason   string
		prev     []meridian.FindingRecord
		findings []meridian.Finding
		waivers  []meridian.Waiver
		commit   string
		now      time.Time
		want     want
	}{
		"opens": {
			reason:   "a finding no record holds opens with this plan's commit and time",
			findings: []meridian.Finding{tag}, commit: "c1", now: t0,
			want: want{[]meridian.FindingRecord{open}, []meridian.EventType{meridian.EventFindingOpened}},
		},
		"stays open": {
			reason: "a finding raised again keeps its first seen and moves its last seen, even when its line moved, without an event",
			prev:   []meridian.FindingRecord{open}, findings: []meridian.Finding{tagFinding(7)}, commit: "c2", now: t1,
			want: want{[]meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				r.Line, r.LastSeen, r.LastCommit = 7, t1, "c2"
			})}, nil},
		},
		"resolves": {
			reason: "a finding the plan no longer raises resolves with the plan's commit",
			prev:   []meridian.FindingRecord{open}, commit: "c2", now: t1,
			want: want{[]meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				r.State, r.ResolvedCommit, r.ResolvedAt = meridian.FindingResolved, "c2", t1
			})}, []meridian.EventType{meridian.EventFindingResolved}},
		},
		"resolved stays quiet": {
			reason: "a resolved record that is not raised again is neither returned nor announced",
			prev: []meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				r.State, r.ResolvedCommit, r.ResolvedAt = meridian.FindingResolved, "c2", t1
			})}, commit: "c3", now: t1,
			want: want{nil, nil},
		},
		"reopens": {
			reason: "a finding raised after it was resolved opens a new occurrence with a fresh first seen",
			prev: []meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				r.State, r.ResolvedCommit, r.ResolvedAt = meridian.FindingResolved, "c2", t0
			})}, findings: []meridian.Finding{tag}, commit: "c3", now: t1,
			want: want{[]meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				r.FirstSeen, r.LastSeen, r.FirstCommit, r.LastCommit = t1, t1, "c3", "c3"
			})}, []meridian.EventType{meridian.EventFindingOpened}},
		},
		"waived from the start": {
			reason:   "a new finding that a waiver covers is kept and shown as waived, not dropped",
			findings: []meridian.Finding{tag}, waivers: []meridian.Waiver{waiverFor("MER-TAG-001", expires)}, commit: "c1", now: t0,
			want: want{[]meridian.FindingRecord{waived}, []meridian.EventType{meridian.EventFindingWaived}},
		},
		"waived later": {
			reason: "an open finding becomes waived when a waiver is added",
			prev:   []meridian.FindingRecord{open}, findings: []meridian.Finding{tag},
			waivers: []meridian.Waiver{waiverFor("MER-TAG-001", expires)}, commit: "c1", now: t0,
			want: want{[]meridian.FindingRecord{waived}, []meridian.EventType{meridian.EventFindingWaived}},
		},
		"waiver expires": {
			reason: "an expired waiver stops silencing: the finding is open again and says the waiver expired",
			prev:   []meridian.FindingRecord{waived}, findings: []meridian.Finding{tag},
			waivers: []meridian.Waiver{waiverFor("MER-TAG-001", expires)}, commit: "c2", now: t1,
			want: want{[]meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				r.LastSeen, r.LastCommit = t1, "c2"
				w := *waivedFW
				w.Expired = true
				r.Waiver, r.Note = &w, "waiver by alice expired on 2026-12-01"
			})}, []meridian.EventType{meridian.EventFindingWaiverExpired}},
		},
		"still expired": {
			reason: "an open finding whose waiver expired earlier stays open without another event",
			prev: []meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				w := *waivedFW
				w.Expired = true
				r.Waiver, r.Note = &w, "waiver by alice expired on 2026-12-01"
			})}, findings: []meridian.Finding{tag},
			waivers: []meridian.Waiver{waiverFor("MER-TAG-001", expires)}, commit: "c2", now: t1,
			want: want{[]meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				r.LastSeen, r.LastCommit = t1, "c2"
				w := *waivedFW
				w.Expired = true
				r.Waiver, r.Note = &w, "waiver by alice expired on 2026-12-01"
			})}, nil},
		},
		"active beats expired": {
			reason: "a renewed waiver silences even though the old one expired",
			prev:   []meridian.FindingRecord{waived}, findings: []meridian.Finding{tag},
			waivers: []meridian.Waiver{waiverFor("MER-TAG-001", expires), waiverFor("MER-TAG-001", expires.AddDate(0, 1, 0))},
			commit:  "c2", now: t1,
			want: want{[]meridian.FindingRecord{with(waived, func(r *meridian.FindingRecord) {
				r.LastSeen, r.LastCommit = t1, "c2"
				w := *waivedFW
				w.Expires = expires.AddDate(0, 1, 0)
				r.Waiver, r.Note = &w, "waived by alice until 2027-01-01: migrating"
			})}, nil},
		},
		"waiver withdrawn": {
			reason: "deleting a waiver reopens the finding",
			prev:   []meridian.FindingRecord{waived}, findings: []meridian.Finding{tag}, commit: "c2", now: t1,
			want: want{[]meridian.FindingRecord{with(open, func(r *meridian.FindingRecord) {
				r.LastSeen, r.LastCommit, r.Note = t1, "c2", "waiver by alice was withdrawn"
			})}, []meridian.EventType{meridian.EventFindingOpened}},
		},
		"waived resolves": {
			reason: "a waived finding that is fixed resolves like any other",
			prev:   []meridian.FindingRecord{waived}, commit: "c2", now: t1,
			want: want{[]meridian.FindingRecord{with(waived, func(r *meridian.FindingRecord) {
				r.State, r.ResolvedCommit, r.ResolvedAt, r.Note = meridian.FindingResolved, "c2", t1, ""
			})}, []meridian.EventType{meridian.EventFindingResolved}},
		},
		"placement rule refused": {
			reason:   "a waiver never silences a rule that decides placement: it can only be fixed",
			findings: []meridian.Finding{encFinding}, waivers: []meridian.Waiver{waiverFor("MER-ENC-001", expires)}, commit: "c1", now: t0,
			want: want{[]meridian.FindingRecord{with(record(encFinding), func(r *meridian.FindingRecord) {
				r.Note = "MER-ENC-001 decides placement (encryption): it cannot be waived, only fixed"
			})}, []meridian.EventType{meridian.EventFindingOpened}},
		},
		"duplicates fold": {
			reason:   "the same finding raised on two lines is one record and one event",
			findings: []meridian.Finding{tag, tagFinding(8)}, commit: "c1", now: t0,
			want: want{[]meridian.FindingRecord{open}, []meridian.EventType{meridian.EventFindingOpened}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			next, events := Transition(tc.prev, Input{
				RepoID: "r1", Branch: "main", Commit: tc.commit, PlanID: "p-" + tc.commit, Now: tc.now,
				Findings: tc.findings, Waivers: tc.waivers, Teams: map[string]string{"api": "payments"},
			})
			if diff := cmp.Diff(tc.want.next, next); diff != "" {
				t.Errorf("%s: records (-want +got):\n%s", tc.reason, diff)
			}
			var types []meridian.EventType
			for i, e := range events {
				types = append(types, e.Type)
				if e.RepoID != "r1" || e.Branch != "main" || e.Commit != tc.commit || e.PlanID != "p-"+tc.commit || !e.Time.Equal(tc.now) {
					t.Errorf("event %d: subject %+v, want repo r1, branch main, commit %s at %s", i, e, tc.commit, tc.now)
				}
				var r meridian.FindingRecord
				if err := json.Unmarshal(e.Payload, &r); err != nil || r.Fingerprint != e.Fingerprint {
					t.Errorf("event %d: payload %s is not the record of %s (%v)", i, e.Payload, e.Fingerprint, err)
				}
			}
			if diff := cmp.Diff(tc.want.events, types); diff != "" {
				t.Errorf("%s: events (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestTransitionSequence follows one finding across a branch's plans, each
// step feeding the store's view (prev updated with next) into the next.
func TestTransitionSequence(t *testing.T) {
	tag := tagFinding(3)
	w := waiverFor("MER-TAG-001", time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC))
	steps := []struct {
		findings []meridian.Finding
		waivers  []meridian.Waiver
		want     meridian.EventType
		state    meridian.FindingState
	}{
		{[]meridian.Finding{tag}, nil, meridian.EventFindingOpened, meridian.FindingOpen},
		{[]meridian.Finding{tag}, []meridian.Waiver{w}, meridian.EventFindingWaived, meridian.FindingWaived},
		{[]meridian.Finding{tag}, []meridian.Waiver{w}, "", meridian.FindingWaived},
		{[]meridian.Finding{tag}, []meridian.Waiver{w}, meridian.EventFindingWaiverExpired, meridian.FindingOpen},
		{nil, []meridian.Waiver{w}, meridian.EventFindingResolved, meridian.FindingResolved},
		{[]meridian.Finding{tag}, nil, meridian.EventFindingOpened, meridian.FindingOpen},
	}
	store := map[string]meridian.FindingRecord{}
	for i, s := range steps {
		var prev []meridian.FindingRecord
		for _, r := range store {
			prev = append(prev, r)
		}
		now := t0.AddDate(0, 0, i)
		next, events := Transition(prev, Input{RepoID: "r1", Branch: "main", Commit: "c" + string(rune('0'+i)), Now: now, Findings: s.findings, Waivers: s.waivers})
		for _, r := range next {
			store[r.Fingerprint] = r
		}
		var got meridian.EventType
		if len(events) > 1 {
			t.Fatalf("step %d: %d events, want at most one", i, len(events))
		}
		if len(events) == 1 {
			got = events[0].Type
		}
		r := store[meridian.Fingerprint(tag)]
		if got != s.want || r.State != s.state {
			t.Errorf("step %d (%s): event %q, state %s; want %q, %s", i, now.Format(time.DateOnly), got, r.State, s.want, s.state)
		}
	}
}
