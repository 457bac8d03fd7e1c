package alerting

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/meridianhq/meridian"
)

// The alerts of edge sites' health (source site; docs/alerts.md), one kind
// per unhealthy state, so that a site that goes from behind to failing
// resolves one alert and fires the other, and each keeps its own name in
// routes and silences.
const (
	SiteBehind  = "site_behind"
	SiteFailing = "site_failing"
	SiteStale   = "site_stale"
)

// siteKind is the name of the alert an edge.site_* event fires ("" for
// edge.site_recovered and edge.site_retired, which fire none).
func siteKind(typ meridian.EventType) string {
	switch typ {
	case meridian.EventEdgeSiteBehind:
		return SiteBehind
	case meridian.EventEdgeSiteFailing:
		return SiteFailing
	case meridian.EventEdgeSiteStale:
		return SiteStale
	}
	return ""
}

// SiteFingerprint is the fingerprint of an edge site's alert of one kind.
func SiteFingerprint(repoID, site, kind string) string {
	return hashParts("site", repoID, site, kind)
}

// siteCauses reads an edge.site_* event: the alert of the site's new state
// fires and those of its other states resolve (all of them when it
// recovered or was retired), whatever state it left, so that a missed event cannot leave
// an alert firing.
func siteCauses(ev meridian.Event) ([]cause, error) {
	var p meridian.EdgeSiteHealth
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return nil, fmt.Errorf("%s: payload: %w", ev.Type, err)
	}
	site := ev.Target
	if site == "" {
		site = p.Site
	}
	if site == "" {
		return nil, fmt.Errorf("%s: no site", ev.Type)
	}
	firing := siteKind(ev.Type)
	var out []cause
	for _, kind := range []string{SiteBehind, SiteFailing, SiteStale} {
		c := cause{verdict: verdictResolve, proto: meridian.Alert{Fingerprint: SiteFingerprint(ev.RepoID, site, kind), RepoID: ev.RepoID,
			Source: meridian.AlertSourceSite, Name: kind, Severity: meridian.SeverityWarn, Target: site, Team: meridian.Unowned,
			Commit: ev.Commit}}
		if kind == firing {
			c.verdict = verdictOpen
			c.proto.Summary, c.proto.Remediation = siteSummary(kind, site, ev.Time, p)
			if kind == SiteFailing {
				// The site may be refusing a tampered bundle, or enforce
				// nothing Meridian sent: not a matter of time.
				c.proto.Severity = meridian.SeverityDeny
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// siteSummary says what is wrong with site, as its event at "at" tells,
// and what to do about it.
func siteSummary(kind, site string, at time.Time, p meridian.EdgeSiteHealth) (summary, remediation string) {
	runs := "no bundle"
	if p.ActiveRevision != "" {
		runs = "revision " + p.ActiveRevision
	}
	switch kind {
	case SiteBehind:
		return fmt.Sprintf("edge site %s runs %s, behind the head's %s for %s", site, runs, p.HeadRevision, since(at, p.BehindSince)),
			"check the site's OPA agent log for its bundle downloads; `meridian edge sites` shows what each site runs"
	case SiteFailing:
		return fmt.Sprintf("edge site %s fails to load its bundle (%s: %s); it keeps deciding with %s", site, p.ErrorCode, p.ErrorMessage, runs),
			"a signature error means the bundle was altered on its way or the site's config has an old key: " +
				"re-issue it with `meridian edge agent-config`; otherwise see the site's OPA agent log"
	default:
		return fmt.Sprintf("edge site %s has not reported for %s; it last ran %s", site, since(at, p.LastSeen), runs),
			"check that the site's OPA agent runs and reaches the server; it keeps deciding with its last bundle meanwhile"
	}
}

// since is how long before at t was, to the second ("a while" when t is
// unknown).
func since(at, t time.Time) string {
	if t.IsZero() || at.IsZero() {
		return "a while"
	}
	return at.Sub(t).Round(time.Second).String()
}
