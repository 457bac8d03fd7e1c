package alerting

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// silencedByWaiver is AlertRecord.SilencedBy for an alert a waiver keeps
// quiet; any other value is a silence's ID.
const silencedByWaiver = "waiver"

// AlertID is the identity of the alert of one cause on one target. The
// repo is part of it because finding fingerprints are the same in every
// repo that raises the same finding.
func AlertID(repoID, fingerprint, target string) string {
	return hashParts(repoID, fingerprint, target)
}

// ApplyFingerprint is the fingerprint of a branch's failed-apply alert:
// one per branch, so that the next successful apply resolves it.
func ApplyFingerprint(repoID, branch string) string {
	return hashParts("apply", repoID, branch)
}

// DriftFingerprint is the fingerprint of a drift record's alert.
func DriftFingerprint(d meridian.DriftRecord) string {
	return hashParts("drift", d.RepoID, d.Key())
}

// hashParts hashes length-prefixed parts, so that no two different tuples
// hash alike whatever characters they hold.
func hashParts(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// verdict is what an outbox event says about the alerts of one cause.
type verdict int

const (
	verdictOpen    verdict = iota // the cause is there: fire (or keep firing)
	verdictResolve                // the cause went away
	verdictWaive                  // a waiver covers the cause
)

// cause is one event's reading: the verdict on the alerts with the
// prototype's fingerprint.
type cause struct {
	verdict verdict
	proto   meridian.Alert
	// ledger, when set, is the repo's ledger read once for many causes
	// (retarget); unset, targets reads it itself.
	ledger []store.LedgerEntry
}

// readEvent turns an outbox event into a cause; ok false for an event that
// concerns no alert (or that retention pruned before it was processed).
func readEvent(ev meridian.Event) (cause, bool, error) {
	c := cause{proto: meridian.Alert{RepoID: ev.RepoID, Branch: ev.Branch, Commit: ev.Commit, Workload: ev.Workload, Target: ev.Target}}
	switch ev.Type {
	case meridian.EventFindingOpened, meridian.EventFindingWaiverExpired, meridian.EventFindingResolved, meridian.EventFindingWaived:
		var r meridian.FindingRecord
		if err := json.Unmarshal(ev.Payload, &r); err != nil {
			return c, false, fmt.Errorf("%s: payload: %w", ev.Type, err)
		}
		if r.LastCommit == "" {
			r.LastCommit = ev.Commit
		}
		c.proto = findingAlert(r)
		switch ev.Type {
		case meridian.EventFindingResolved:
			c.verdict = verdictResolve
		case meridian.EventFindingWaived:
			c.verdict = verdictWaive
		}
	case meridian.EventDriftOpened, meridian.EventDriftCleared:
		var d meridian.DriftRecord
		if err := json.Unmarshal(ev.Payload, &d); err != nil {
			return c, false, fmt.Errorf("%s: payload: %w", ev.Type, err)
		}
		if d.RepoID == "" {
			d.RepoID = ev.RepoID
		}
		summary := fmt.Sprintf("%s drift on %s", d.Engine, d.Resource)
		if d.Action != "" {
			summary += ": " + d.Action
		}
		c.proto = meridian.Alert{Fingerprint: DriftFingerprint(d), RepoID: d.RepoID, Source: meridian.AlertSourceDrift, Name: "drift",
			Severity: meridian.SeverityWarn, Workload: d.Workload, Target: d.Target, Summary: summary}
		if ev.Type == meridian.EventDriftCleared {
			c.verdict = verdictResolve
		}
	case meridian.EventApplyFailed, meridian.EventApplySucceeded:
		c.proto.Fingerprint, c.proto.Source, c.proto.Name = ApplyFingerprint(ev.RepoID, ev.Branch), meridian.AlertSourceApply, "apply_failed"
		c.proto.Severity, c.proto.Target = meridian.SeverityDeny, ""
		var p struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(ev.Payload, &p) // the summary does without the error
		c.proto.Summary = fmt.Sprintf("apply of plan %s failed", ev.PlanID)
		if p.Error != "" {
			c.proto.Summary += ": " + p.Error
		}
		if ev.Type == meridian.EventApplySucceeded {
			c.verdict = verdictResolve
		}
	case meridian.EventConditionOpened, meridian.EventConditionCleared:
		var r meridian.ConditionRecord
		if err := json.Unmarshal(ev.Payload, &r); err != nil {
			return c, false, fmt.Errorf("%s: payload: %w", ev.Type, err)
		}
		c.proto = meridian.Alert{Fingerprint: r.Fingerprint, RepoID: r.RepoID, Branch: r.Branch, Source: r.Source, Name: r.Name,
			Severity: r.Severity, Workload: r.Workload, Target: r.Target, Team: r.Team, Summary: r.Summary,
			Remediation: r.Remediation, File: r.File, Line: r.Line, Commit: r.Commit, Frozen: r.Frozen}
		if ev.Type == meridian.EventConditionCleared {
			c.verdict = verdictResolve
		}
	default:
		return c, false, nil
	}
	if c.proto.RepoID == "" {
		c.proto.RepoID = ev.RepoID
	}
	if c.proto.Team == "" {
		c.proto.Team = meridian.Unowned
	}
	return c, c.proto.Fingerprint != "", nil
}

// eventCauses turns an outbox event into the causes it rules on: none for
// an event that concerns no alert (or that retention pruned before it was
// processed), several for a change of an edge site's health.
func eventCauses(ev meridian.Event) ([]cause, error) {
	switch ev.Type {
	case meridian.EventEdgeSiteBehind, meridian.EventEdgeSiteFailing, meridian.EventEdgeSiteStale, meridian.EventEdgeSiteRecovered,
		meridian.EventEdgeSiteRetired:
		return siteCauses(ev)
	}
	c, ok, err := readEvent(ev)
	if !ok {
		return nil, err
	}
	return []cause{c}, err
}

// findingAlert is the prototype of a finding record's alerts.
func findingAlert(r meridian.FindingRecord) meridian.Alert {
	return meridian.Alert{Fingerprint: r.Fingerprint, RepoID: r.RepoID, Branch: r.Branch, Source: meridian.AlertSourceFinding,
		Name: r.Rule, Severity: r.Severity, Workload: r.Workload, Target: r.Target, Team: r.Team, Summary: r.Message,
		Remediation: r.Remediation, File: r.File, Line: r.Line, Commit: r.LastCommit}
}

// retarget re-expands the open workload-level findings of repoID after an
// apply: the targets their workloads run on may have changed, and an
// alert must sit on each target the workload runs on now (a finding
// raised before the first apply fired on "none").
func (d *Dispatcher) retarget(ctx context.Context, repoID string, now time.Time, silences []meridian.Silence) ([]change, error) {
	open, err := d.st.FindingRecords(ctx, store.FindingFilter{RepoID: repoID, State: meridian.FindingOpen})
	if err != nil {
		return nil, fmt.Errorf("findings of %s: %w", repoID, err)
	}
	ledger, err := d.st.LedgerEntries(ctx, repoID)
	if err != nil {
		return nil, fmt.Errorf("ledger of %s: %w", repoID, err)
	}
	if ledger == nil {
		ledger = []store.LedgerEntry{} // read: an empty ledger is not "unset"
	}
	var out []change
	for _, r := range open {
		if r.Workload == "" || r.Target != "" {
			continue
		}
		c := cause{verdict: verdictOpen, proto: findingAlert(r), ledger: ledger}
		if c.proto.Team == "" {
			c.proto.Team = meridian.Unowned
		}
		changes, err := d.transitions(ctx, c, now, silences)
		if err != nil {
			return nil, err
		}
		out = append(out, changes...)
	}
	return out, nil
}

// change is an alert's new record and whether receivers hear of it.
type change struct {
	rec    store.AlertRecord
	notify bool
}

// transitions applies c, seen at now, to the alerts of its fingerprint.
func (d *Dispatcher) transitions(ctx context.Context, c cause, now time.Time, silences []meridian.Silence) ([]change, error) {
	existing, err := d.st.AlertsByFingerprint(ctx, c.proto.RepoID, c.proto.Fingerprint)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.AlertRecord{}
	for _, a := range existing {
		byID[a.ID] = a
	}
	var out []change
	if c.verdict == verdictResolve {
		for _, a := range existing {
			if a.State == meridian.AlertResolved {
				continue
			}
			// A silenced alert already told its receivers it ended.
			notify := a.State == meridian.AlertFiring
			a.State, a.SilencedBy, a.UpdatedAt = meridian.AlertResolved, "", now
			if a.EndsAt.IsZero() {
				a.EndsAt = now
			}
			out = append(out, change{rec: a, notify: notify})
		}
		return out, nil
	}
	targets, err := d.targets(ctx, c.proto, c.ledger)
	if err != nil {
		return nil, err
	}
	// The cause's alerts on targets it is no longer on (its workload moved,
	// or now runs somewhere after firing on "none") end.
	for _, a := range existing {
		if a.State == meridian.AlertResolved || slices.ContainsFunc(targets, func(t string) bool { return AlertID(a.RepoID, a.Fingerprint, t) == a.ID }) {
			continue
		}
		notify := a.State == meridian.AlertFiring
		a.State, a.SilencedBy, a.UpdatedAt = meridian.AlertResolved, "", now
		if a.EndsAt.IsZero() {
			a.EndsAt = now
		}
		out = append(out, change{rec: a, notify: notify})
	}
	for _, target := range targets {
		a := c.proto
		a.Target = target
		a.ID = AlertID(a.RepoID, a.Fingerprint, target)
		d.opts.Enrich(ctx, &a)
		prev, had := byID[a.ID]
		rec := store.AlertRecord{Alert: a, Sinks: prev.Sinks, UpdatedAt: now, SilencedBy: prev.SilencedBy}
		rec.State, rec.StartsAt, rec.EndsAt = prev.State, prev.StartsAt, prev.EndsAt
		ongoing := had && prev.State != meridian.AlertResolved
		switch {
		case c.verdict == verdictWaive && ongoing && prev.State == meridian.AlertFiring:
			rec.State, rec.SilencedBy, rec.EndsAt = meridian.AlertSilenced, silencedByWaiver, now
			out = append(out, change{rec: rec, notify: true})
		case c.verdict == verdictWaive:
			if !ongoing {
				rec.StartsAt = now
			}
			if rec.EndsAt.IsZero() {
				rec.EndsAt = now
			}
			rec.State, rec.SilencedBy = meridian.AlertSilenced, silencedByWaiver
			out = append(out, change{rec: rec})
		case ongoing && !(prev.State == meridian.AlertSilenced && prev.SilencedBy == silencedByWaiver):
			// Still the same cause: refresh what it says, tell nobody.
			out = append(out, change{rec: rec})
		default:
			// New, back after it resolved, or its waiver expired: it
			// starts again, unless a silence covers it.
			rec.StartsAt, rec.EndsAt, rec.State, rec.SilencedBy = now, time.Time{}, meridian.AlertFiring, ""
			if id, ok := silencedBy(rec.Alert, silences, now); ok {
				rec.State, rec.SilencedBy, rec.EndsAt = meridian.AlertSilenced, id, now
			}
			out = append(out, change{rec: rec, notify: rec.State == meridian.AlertFiring})
		}
	}
	return out, nil
}

// targets is where a cause fires: its target; for a workload-level cause
// each target the workload runs on per the ledger; "none" when it runs
// nowhere or has no workload.
func (d *Dispatcher) targets(ctx context.Context, a meridian.Alert, entries []store.LedgerEntry) ([]string, error) {
	if a.Target != "" {
		return []string{a.Target}, nil
	}
	if a.Workload == "" {
		return []string{meridian.AlertTarget}, nil
	}
	if entries == nil {
		var err error
		if entries, err = d.st.LedgerEntries(ctx, a.RepoID); err != nil {
			return nil, fmt.Errorf("ledger of %s: %w", a.RepoID, err)
		}
	}
	var out []string
	for _, e := range entries {
		if e.Workload == a.Workload && e.Replicas > 0 && !slices.Contains(out, e.Target) {
			out = append(out, e.Target)
		}
	}
	if len(out) == 0 {
		return []string{meridian.AlertTarget}, nil
	}
	slices.Sort(out)
	return out, nil
}

// silencedBy returns the ID of the first silence that covers a at now.
func silencedBy(a meridian.Alert, silences []meridian.Silence, now time.Time) (string, bool) {
	for _, s := range silences {
		if s.Matches(a, now) {
			return s.ID, true
		}
	}
	return "", false
}

// processOutbox works through the pending outbox rows in order. It stops
// at the first that fails, so that the alerts of one cause never see its
// events out of order; an event it cannot read is logged and skipped.
func (d *Dispatcher) processOutbox(ctx context.Context) error {
	for {
		n, err := d.processBatch(ctx)
		if err != nil || n < d.opts.Batch || ctx.Err() != nil {
			return err
		}
	}
}

// processBatch processes up to a batch of outbox rows and returns how many
// it read.
func (d *Dispatcher) processBatch(ctx context.Context) (int, error) {
	entries, err := d.st.PendingOutbox(ctx, d.opts.Batch)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	now := d.opts.Now()
	silences, err := d.st.ListSilences(ctx, store.SilenceFilter{ActiveAt: now})
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		commit := store.AlertCommit{EventID: e.EventID, ProcessedAt: now}
		causes, err := eventCauses(e.Event)
		if err != nil {
			d.log.Warn("alert outbox: skipping an event that cannot be read", "event", e.EventID, "err", err)
		}
		var changes []change
		for _, c := range causes {
			cs, err := d.transitions(ctx, c, now, silences)
			if err != nil {
				return 0, fmt.Errorf("event %d: %w", e.EventID, err)
			}
			changes = append(changes, cs...)
		}
		if len(causes) > 0 && e.Event.Type == meridian.EventApplySucceeded {
			moved, err := d.retarget(ctx, causes[0].proto.RepoID, now, silences)
			if err != nil {
				return 0, fmt.Errorf("event %d: %w", e.EventID, err)
			}
			changes = append(changes, moved...)
		}
		if len(causes) > 0 {
			d.route(&commit, changes, now)
		}
		if err := d.st.CommitAlerts(ctx, commit); err != nil {
			if meridian.ErrorCode(err) == meridian.ECONFLICT {
				continue // another dispatcher took it
			}
			return 0, fmt.Errorf("event %d: %w", e.EventID, err)
		}
	}
	return len(entries), nil
}

// route adds changes to commit: every alert, and for those receivers hear
// of, a pending notification in the group of each sink of each route that
// takes it.
func (d *Dispatcher) route(commit *store.AlertCommit, changes []change, now time.Time) {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	for _, ch := range changes {
		rec := ch.rec
		if ch.notify {
			rec.Sinks = nil
			for _, r := range cfg.Match(rec.Alert) {
				group := r.GroupKey(rec.Alert)
				for _, sink := range r.Sinks {
					if !slices.Contains(rec.Sinks, sink) {
						rec.Sinks = append(rec.Sinks, sink)
					}
					commit.Pending = append(commit.Pending, store.GroupPending{Sink: sink, Group: group, RouteID: r.ID, AlertID: rec.ID,
						At: now, FlushAt: now.Add(r.GroupWait), GroupInterval: r.GroupInterval, RepeatInterval: r.RepeatInterval})
				}
			}
		}
		commit.Alerts = append(commit.Alerts, rec)
	}
}

// checkSilences applies the silences in force now: a firing alert a
// silence covers is silenced (its receivers hear it ended); a silenced
// alert whose silences all ended fires again.
func (d *Dispatcher) checkSilences(ctx context.Context) error {
	now := d.opts.Now()
	silences, err := d.st.ListSilences(ctx, store.SilenceFilter{ActiveAt: now})
	if err != nil {
		return err
	}
	var changes []change
	firing, err := d.st.ListAlerts(ctx, store.AlertFilter{State: meridian.AlertFiring})
	if err != nil {
		return err
	}
	for _, a := range firing {
		if id, ok := silencedBy(a.Alert, silences, now); ok {
			a.State, a.SilencedBy, a.EndsAt, a.UpdatedAt = meridian.AlertSilenced, id, now, now
			changes = append(changes, change{rec: a, notify: true})
		}
	}
	silenced, err := d.st.ListAlerts(ctx, store.AlertFilter{State: meridian.AlertSilenced})
	if err != nil {
		return err
	}
	for _, a := range silenced {
		if a.SilencedBy == silencedByWaiver {
			continue
		}
		id, ok := silencedBy(a.Alert, silences, now)
		switch {
		case ok && id != a.SilencedBy:
			a.SilencedBy, a.UpdatedAt = id, now
			changes = append(changes, change{rec: a})
		case !ok:
			a.State, a.SilencedBy, a.StartsAt, a.EndsAt, a.UpdatedAt = meridian.AlertFiring, "", now, time.Time{}, now
			changes = append(changes, change{rec: a, notify: true})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	var commit store.AlertCommit
	d.route(&commit, changes, now)
	return d.st.CommitAlerts(ctx, commit)
}
