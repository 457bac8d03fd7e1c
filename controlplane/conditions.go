package controlplane

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/history"
	"github.com/meridianhq/meridian/store"
)

// Condition names: the Name of a ConditionRecord, hence an alert's
// alertname.
const (
	ConditionFrozen        = "frozen"
	ConditionUnplaceable   = "unplaceable"
	ConditionCapacityAhead = "capacity_ahead"
	ConditionLockHeld      = "lock_held"
)

// PlanConditionSources are the condition sources a plan of the tracked
// branch decides (PlanSources says which of them a given plan covered).
// Lock conditions are checked on their own schedule (LockConditions), and
// site conditions have no producer yet.
var PlanConditionSources = []meridian.AlertSource{meridian.AlertSourceFrozen, meridian.AlertSourceUnplaceable, meridian.AlertSourceCapacity}

// PlanSources returns the condition sources plan covered: a sync with
// them replaces every open condition of these sources. Freezes are read
// from Terraform's per-target changes, so a plan in which a target failed
// or was skipped cannot tell whether a freeze is gone, and leaves the
// frozen conditions as they were rather than resolving them for a moment.
func PlanSources(plan *meridian.Plan) []meridian.AlertSource {
	for _, tc := range plan.Terraform {
		if tc.Status == meridian.ChangeStatusFailed || tc.Status == meridian.ChangeStatusSkipped {
			return []meridian.AlertSource{meridian.AlertSourceUnplaceable, meridian.AlertSourceCapacity}
		}
	}
	return PlanConditionSources
}

// conditionFingerprint is a condition's identity within its repo. It is
// meridian.Fingerprint over (source, workload, target, detail), so that
// conditions are length-prefixed exactly as findings are, and the same
// cause seen by the next plan keeps its fingerprint whatever its summary
// says.
func conditionFingerprint(src meridian.AlertSource, workload, target, detail string) string {
	return meridian.Fingerprint(meridian.Finding{Rule: string(src), Workload: workload, Target: target, Field: detail})
}

// PlanConditions returns the conditions a plan of branch at commit shows,
// sorted by fingerprint: a workload frozen on a target (one per target,
// saying at how many replicas and which finding holds it), a workload no
// target can host, and a workload whose forecast load over the horizon
// needs more than its target can host (capacity ahead, raised before the
// breach). Times are left zero for the store to fill.
func PlanConditions(cfg *meridian.Config, plan *meridian.Plan, repoID, branch string) []meridian.ConditionRecord {
	workloads := make(map[string]*meridian.Workload, len(cfg.Workloads))
	for i := range cfg.Workloads {
		workloads[cfg.Workloads[i].Name] = &cfg.Workloads[i]
	}
	teams := history.Teams(cfg)
	base := func(src meridian.AlertSource, name, workload, target, detail string) meridian.ConditionRecord {
		c := meridian.ConditionRecord{RepoID: repoID, Branch: branch, Source: src, Name: name, Workload: workload, Target: target,
			Fingerprint: conditionFingerprint(src, workload, target, detail), Team: teams[workload], Commit: plan.Commit}
		if c.Team == "" {
			c.Team = meridian.Unowned
		}
		if w := workloads[workload]; w != nil {
			c.File, c.Line = w.Origin.File, w.Origin.Line
		}
		return c
	}
	var out []meridian.ConditionRecord
	unplaceable := map[string]meridian.Unplaceable{}
	for _, u := range plan.Unplaceable {
		unplaceable[u.Workload] = u
		c := base(meridian.AlertSourceUnplaceable, ConditionUnplaceable, u.Workload, "", "")
		c.Severity = meridian.SeverityDeny
		c.Summary = fmt.Sprintf("%s cannot be placed: %s%s", u.Workload, u.Reason, rejections(u.Targets))
		c.Remediation = "Relax the workload's requirements (requires, pin, spread) or add a target that meets them, with room for it."
		out = append(out, c)
	}
	for _, tc := range plan.Terraform {
		for _, f := range tc.Frozen {
			// A freeze by the workload's own deny finding, or because it
			// cannot be placed, is told by that alert (the enricher adds
			// the frozen replicas to it): a second alert for one cause is
			// noise. Only a freeze no such alert covers (a target-level
			// finding blocking the workload) needs one of its own.
			if _, ok := unplaceable[f.Workload]; ok {
				continue
			}
			if hasBlockingFinding(plan, f.Workload) {
				continue
			}
			c := base(meridian.AlertSourceFrozen, ConditionFrozen, f.Workload, tc.Target, "")
			c.Severity = meridian.SeverityWarn
			c.Frozen = []meridian.Frozen{f}
			c.Summary = frozenSummary(f, tc.Target)
			out = append(out, c)
		}
	}
	out = append(out, capacityAhead(cfg, plan, workloads, base)...)
	if !slices.Contains(PlanSources(plan), meridian.AlertSourceFrozen) {
		out = slices.DeleteFunc(out, func(c meridian.ConditionRecord) bool { return c.Source == meridian.AlertSourceFrozen })
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	return out
}

// frozenSummary says how a frozen workload is held on target.
func frozenSummary(f meridian.Frozen, target string) string {
	if f.Replicas == 0 {
		return fmt.Sprintf("%s is frozen at 0 replicas on %s: it is not started there (the plan wants %d) until its blocking finding is fixed", f.Workload, target, f.Planned)
	}
	return fmt.Sprintf("%s is frozen at %d replicas on %s (the plan wants %d) until its blocking finding is fixed", f.Workload, f.Replicas, target, f.Planned)
}

// hasBlockingFinding reports whether workload has a deny finding of its
// own: what makes the planner block, hence freeze, it.
func hasBlockingFinding(plan *meridian.Plan, workload string) bool {
	return slices.ContainsFunc(plan.Findings, func(f meridian.Finding) bool { return f.Workload == workload && f.Blocking() })
}

// rejections says why the targets were rejected, group by group, naming
// the nearest.
func rejections(gs []meridian.RejectionGroup) string {
	if len(gs) == 0 {
		return ""
	}
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		why := g.Rule
		if g.Reason != "" {
			why = g.Reason
		}
		on := strings.Join(g.Nearest, ", ")
		if g.More() > 0 {
			on = fmt.Sprintf("%s and %d more", on, g.More())
		}
		parts = append(parts, on+": "+why)
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// capacityAhead raises a condition for each placement of a
// forecast-sized workload whose forecast peak (the upper quantile over the
// horizon, with headroom) needs more replicas on its target than the
// target has room for, given everything else the plan puts there. The
// plan itself fits (the scheduler saw to that) only because sizing is
// clamped at replicas.max or because the workload spreads over targets;
// this is the warning that the load is heading past what the target can
// host. Targets of unlimited capacity never raise it.
func capacityAhead(cfg *meridian.Config, plan *meridian.Plan, workloads map[string]*meridian.Workload,
	base func(meridian.AlertSource, string, string, string, string) meridian.ConditionRecord) []meridian.ConditionRecord {
	targets := make(map[string]*meridian.Target, len(cfg.Targets))
	for i := range cfg.Targets {
		targets[cfg.Targets[i].Name] = &cfg.Targets[i]
	}
	type use struct{ vcpu, mem float64 }
	used := map[string]use{}
	for _, pl := range plan.Placements {
		if w := workloads[pl.Workload]; w != nil {
			u := used[pl.Target]
			u.vcpu += float64(pl.Replicas) * w.PerReplica.VCPU
			u.mem += float64(pl.Replicas) * w.PerReplica.MemoryGiB
			used[pl.Target] = u
		}
	}
	var out []meridian.ConditionRecord
	for _, pl := range plan.Placements {
		w, t, sz := workloads[pl.Workload], targets[pl.Target], pl.Explanation.Sizing
		if w == nil || t == nil || sz == nil || sz.Method != "forecast" || w.PerReplica.Capacity <= 0 || !t.Capacity.Limited() {
			continue
		}
		// The same formula as forecast.Size, without its replicas.max
		// clamp: what the forecast asks for, not what the plan allows.
		need := int(math.Ceil(sz.PeakPq/w.PerReplica.Capacity*(1+sz.Headroom) - 1e-9))
		perTarget := int(math.Ceil(float64(need) / float64(w.SpreadCount())))
		if perTarget <= pl.Replicas {
			continue
		}
		u := used[pl.Target]
		others := use{u.vcpu - float64(pl.Replicas)*w.PerReplica.VCPU, u.mem - float64(pl.Replicas)*w.PerReplica.MemoryGiB}
		fits := func(r int) bool {
			return (t.Capacity.VCPU <= 0 || others.vcpu+float64(r)*w.PerReplica.VCPU <= t.Capacity.VCPU+1e-9) &&
				(t.Capacity.MemoryGiB <= 0 || others.mem+float64(r)*w.PerReplica.MemoryGiB <= t.Capacity.MemoryGiB+1e-9)
		}
		if fits(perTarget) {
			continue
		}
		room := pl.Replicas
		for fits(room + 1) {
			room++
		}
		c := base(meridian.AlertSourceCapacity, ConditionCapacityAhead, pl.Workload, pl.Target, "")
		c.Severity = meridian.SeverityWarn
		c.Summary = fmt.Sprintf("%s's forecast peak of %.4g (p%g over the next %s, +%g%% headroom) needs %d replicas on %s, which has room for %d (capacity %s)",
			pl.Workload, sz.PeakPq, sz.Quantile*100, horizon(cfg), sz.Headroom*100, perTarget, pl.Target, room, capacityText(t.Capacity))
		c.Remediation = fmt.Sprintf("Add capacity to %s, allow %s to spread over more targets, or raise its per-replica capacity before the load arrives.", pl.Target, pl.Workload)
		if l := w.Origin.LineOf("load"); l > 0 {
			c.Line = l
		}
		out = append(out, c)
	}
	return out
}

func horizon(cfg *meridian.Config) string {
	if h := cfg.Settings.Forecast.Horizon; h > 0 {
		return h.String()
	}
	return "horizon"
}

func capacityText(c meridian.Capacity) string {
	var parts []string
	if c.VCPU > 0 {
		parts = append(parts, fmt.Sprintf("%g vCPU", c.VCPU))
	}
	if c.MemoryGiB > 0 {
		parts = append(parts, fmt.Sprintf("%g GiB", c.MemoryGiB))
	}
	return strings.Join(parts, ", ")
}

// LockConditions returns a condition for each lock of locks held longer
// than maxAge at now, sorted by fingerprint. A lock is identified by its
// target and fencing token, so that a new lock that is held too long is a
// new condition, not the old one going on.
func LockConditions(repoID string, locks []store.Lock, now time.Time, maxAge time.Duration) []meridian.ConditionRecord {
	var out []meridian.ConditionRecord
	for _, l := range locks {
		age := now.Sub(l.AcquiredAt)
		if maxAge <= 0 || age <= maxAge {
			continue
		}
		run := ""
		if l.RunID != "" {
			run = " (run " + l.RunID + ")"
		}
		out = append(out, meridian.ConditionRecord{
			RepoID: repoID, Source: meridian.AlertSourceLock, Name: ConditionLockHeld, Severity: meridian.SeverityWarn,
			Fingerprint: conditionFingerprint(meridian.AlertSourceLock, "", l.Key.Target, strconv.FormatInt(l.Token, 10)),
			Target:      l.Key.Target, Team: meridian.Unowned,
			Summary: fmt.Sprintf("target %s has been locked by %s%s for %s, longer than %s", l.Key.Target, l.Owner.Actor, run,
				age.Round(time.Second), maxAge),
			Remediation: fmt.Sprintf("Check whether %s's run is still working; if it died or is stuck, release the lock with `meridian unlock %s` (audited).",
				l.Owner.Actor, l.Key.Target),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	return out
}
