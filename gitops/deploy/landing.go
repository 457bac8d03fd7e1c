package deploy

import (
	"fmt"

	"github.com/meridianhq/meridian"
)

// landed returns the placements the network objects follow: those the
// plan makes, except that a workload the plan holds back (a blocking
// finding, or no target for it) stays where it runs now, per the ledger
// and the deploy repo, and opts.Running keeps the old end of a move.
func (r *renderer) landed(plan *meridian.Plan, opts RenderOptions) []meridian.Placement {
	running := map[string][]string{}
	for w, ts := range opts.Running {
		running[w] = append(running[w], ts...)
	}
	held := meridian.HeldBack(plan)
	for w, ts := range opts.Current.Workloads() {
		if held[w] {
			running[w] = append(running[w], ts...)
		}
	}
	var out []meridian.Placement
	for _, p := range meridian.LandedPlacements(plan, running) {
		_, wok := workload(r.cfg, p.Workload)
		_, tok := r.cfg.Target(p.Target)
		if wok && tok {
			out = append(out, p)
		}
	}
	return out
}

// peersNowhere warns about the traffic rules of landed workloads that name
// a workload running nowhere: Meridian opens nothing for it (there is no
// address to open), which the user should hear about rather than find out
// from a timeout.
func (r *renderer) peersNowhere(landed []meridian.Placement) {
	seen := map[string]bool{}
	for _, p := range landed {
		w, _ := workload(r.cfg, p.Workload)
		if seen[w.Name] {
			continue
		}
		seen[w.Name] = true
		warn := func(field, other, what string) {
			if _, known := workload(r.cfg, other); !known || len(r.placedOn[other]) > 0 {
				return
			}
			r.findings = append(r.findings, meridian.Finding{
				Rule: RulePeerNowhere, Severity: meridian.SeverityWarn, Workload: w.Name, Field: field,
				File: w.Origin.File, Line: w.Origin.LineOf(field),
				Message: fmt.Sprintf("%s names %s in %s, but %s runs nowhere (it is unplaceable or held before it ever ran): no traffic %s it is opened",
					w.Name, other, field, other, what),
				Remediation: "place " + other + " (see its explanation in the plan), or drop it from " + w.Name + "'s traffic rules",
			})
		}
		for _, ref := range w.PeerRefs() {
			what := "to"
			if ref.Ingress {
				what = "from"
			}
			warn(ref.Field, ref.Workload, what)
		}
	}
}
