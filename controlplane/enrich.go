package controlplane

import (
	"context"
	"net/url"
	"strings"

	"github.com/meridianhq/meridian"
)

// AlertEnricher returns the dispatcher's enrichment hook
// (alerting.DispatcherOptions.Enrich): it adds to an alert what the store
// does not keep, from the tracked branch's newest plan and config:
//   - Owner, the workload's owner tag;
//   - Remediation, the finding's own, for a finding alert;
//   - Frozen, the replicas a frozen workload is held at on the alert's
//     target (on every target when the alert is on none), so that the
//     alert of a blocking finding says scaling is restricted until it is
//     fixed;
//   - URL, the dashboard's page for the cause, under baseURL (the
//     server's --alert-base-url; none when empty).
//
// It never fails: what it cannot find stays as it was.
func (r *Reconciler) AlertEnricher(baseURL string) func(ctx context.Context, a *meridian.Alert) {
	baseURL = strings.TrimRight(baseURL, "/")
	return func(ctx context.Context, a *meridian.Alert) {
		if baseURL != "" && a.URL == "" {
			a.URL = alertURL(baseURL, a)
		}
		st := r.State()
		if st.PlanID == "" || a.RepoID != r.opts.RepoID {
			return
		}
		if cfg, ok := r.configs.get(st.Commit); ok && a.Owner == "" {
			for _, w := range cfg.Workloads {
				if w.Name == a.Workload {
					a.Owner = w.Tags["owner"]
				}
			}
		}
		_, plan, err := r.SavedPlan(ctx, st.PlanID)
		if err != nil {
			return
		}
		if a.Source == meridian.AlertSourceFinding && a.Remediation == "" {
			for _, f := range plan.Findings {
				if meridian.Fingerprint(f) == a.Fingerprint && f.Remediation != "" {
					a.Remediation = f.Remediation
					break
				}
			}
		}
		if len(a.Frozen) == 0 && a.Workload != "" && (a.Source == meridian.AlertSourceFinding && a.Severity == meridian.SeverityDeny ||
			a.Source == meridian.AlertSourceUnplaceable) {
			a.Frozen = frozenOn(plan, a.Workload, a.Target)
		}
	}
}

// frozenOn lists workload's Frozen entries on target (every target when
// target is "none" or empty).
func frozenOn(plan *meridian.Plan, workload, target string) []meridian.Frozen {
	var out []meridian.Frozen
	for _, tc := range plan.Terraform {
		if target != "" && target != meridian.AlertTarget && tc.Target != target {
			continue
		}
		for _, f := range tc.Frozen {
			if f.Workload == workload {
				out = append(out, f)
			}
		}
	}
	return out
}

// alertURL is the dashboard page for an alert's cause: its workload's
// page, else the findings or the page of its source.
func alertURL(base string, a *meridian.Alert) string {
	switch {
	case a.Workload != "":
		return base + "/workloads/" + url.PathEscape(a.Workload)
	case a.Source == meridian.AlertSourceFinding:
		q := url.Values{"state": {string(meridian.FindingOpen)}, "rule": {a.Name}}
		if strings.HasSuffix(a.Branch, LiveBranch("")) {
			q.Set("source", meridian.FindingSourceLive) // an audit's finding on a live resource
		}
		return base + "/findings?" + q.Encode()
	case a.Source == meridian.AlertSourceDrift:
		return base + "/drift"
	case a.Source == meridian.AlertSourceLock:
		return base + "/locks"
	case a.Source == meridian.AlertSourceSite:
		// Not /targets/SITE: a site enrolled without --repo need not be a
		// target of the config, and every enrolled site has this page.
		return base + "/sites/" + url.PathEscape(a.Target)
	}
	return ""
}
