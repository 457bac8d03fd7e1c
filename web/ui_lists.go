package web

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/dashboard"
	"github.com/meridianhq/meridian/store"
)

// listPage is a page of a list read from the store, with prev and next
// links that keep the filters.
type listPage struct {
	Page, PerPage int
	Prev, Next    string
}

// parseListPage reads page= and per_page= (default 50, at most 500).
func parseListPage(v url.Values) (listPage, error) {
	p := listPage{Page: 1, PerPage: dashboard.DefaultPerPage}
	n, err := intParam(v, "page", 1, maxPageOffset/dashboard.DefaultPerPage)
	if err != nil {
		return p, err
	}
	p.Page = max(n, 1)
	if n, err = intParam(v, "per_page", 1, dashboard.MaxPerPage); err != nil {
		return p, err
	}
	if n > 0 {
		p.PerPage = n
	}
	if (p.Page-1)*p.PerPage > maxPageOffset {
		return p, meridian.Errorf(meridian.EINVALID, "page %d is past item %d: filter the list instead of paging this deep", p.Page, maxPageOffset)
	}
	return p, nil
}

// limit is how many rows to read for the page: up to its end, and one
// more to know whether a next page exists.
func (p listPage) limit() int { return p.Page*p.PerPage + 1 }

// cut returns the page's items out of all (read with limit) and sets the
// links, which keep v's other parameters.
func cut[T any](all []T, p *listPage, path string, v url.Values) []T {
	start := (p.Page - 1) * p.PerPage
	link := func(page int) string {
		q := url.Values{}
		for k, vs := range v {
			q[k] = vs
		}
		q.Del("page")
		if page > 1 {
			q.Set("page", strconv.Itoa(page))
		}
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if len(all) > start+p.PerPage {
		p.Next = link(p.Page + 1)
	}
	if start >= len(all) {
		return nil
	}
	return all[start:min(start+p.PerPage, len(all))]
}

// driftData is the drift page.
type driftData struct {
	State   store.DriftState
	Engine  string
	Target  string
	Engines []meridian.DriftEngine
	Items   []driftItem
	// FixPlan is the branch head's plan: applying it puts back what the
	// config says.
	FixPlan string
	listPage
}

type driftItem struct {
	meridian.DriftRecord
	// Owner is the workload's team; CostImpact is the workload's monthly
	// cost on the target in the branch head's plan, when it has one there:
	// what the drift puts at stake.
	Owner      string
	CostImpact meridian.Money
	HasCost    bool
}

// handleUIDrift is GET /drift: drift across Terraform, the deploy repo and
// Argo CD, open (default) or cleared, filtered by engine and target.
func (s *Server) handleUIDrift(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	v := driftData{State: store.DriftState(q.Get("state")), Engine: q.Get("engine"), Target: q.Get("target"),
		Engines: meridian.DriftEngines()}
	if v.State == "" {
		v.State = store.DriftOpen
	}
	if v.State != store.DriftOpen && v.State != store.DriftCleared {
		s.pageError(w, r, meridian.Errorf(meridian.EINVALID, "state must be open or cleared, got %q", clip(string(v.State))))
		return
	}
	if e := meridian.DriftEngine(v.Engine); e != "" && !e.Valid() {
		s.pageError(w, r, meridian.Errorf(meridian.EINVALID, "engine must be one of %v, got %q", meridian.DriftEngines(), clip(v.Engine)))
		return
	}
	var err error
	if v.listPage, err = parseListPage(q); err != nil {
		s.pageError(w, r, err)
		return
	}
	recs, err := s.st.ListDrift(ctx, store.DriftFilter{RepoID: s.recon.RepoID(), State: v.State, Engine: meridian.DriftEngine(v.Engine),
		Target: v.Target, Limit: v.limit()})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	recs = cut(recs, &v.listPage, "/drift", q)
	var sum *dashboard.Summary
	if id := s.recon.State().PlanID; id != "" {
		v.FixPlan = id
		if _, sum, err = s.summary(ctx, id); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	for _, d := range recs {
		it := driftItem{DriftRecord: d}
		if sum != nil && d.Workload != "" {
			for _, row := range sum.WorkloadRows(d.Workload) {
				it.Owner = row.Team
				if row.Target == d.Target {
					it.CostImpact, it.HasCost = row.MonthlyCost, true
				}
			}
		}
		v.Items = append(v.Items, it)
	}
	s.render(w, r, "drift", "Drift", "drift", v)
}

// findingsData is the findings page.
type findingsData struct {
	State meridian.FindingState
	// States and Sources are the state and source tabs, each a link that
	// keeps the other filters.
	States []findingTab
	// Source is "" (all), config or live.
	Source  string
	Sources []findingTab
	// Rule filters by rule ID ("": all).
	Rule   string
	Groups []findingGroup
	Total  int
	listPage
}

// findingTab is one tab of the findings page's state or source filter.
type findingTab struct {
	Name, Href string
	Current    bool
}

// findingsHref is the findings page's link for state, source and rule.
func findingsHref(state meridian.FindingState, source, rule string) string {
	q := url.Values{"state": {string(state)}}
	if source != "" {
		q.Set("source", source)
	}
	if rule != "" {
		q.Set("rule", rule)
	}
	return "/findings?" + q.Encode()
}

// findingGroup is the findings of one rule and severity.
type findingGroup struct {
	Rule     string
	Severity meridian.Severity
	Items    []findingItem
}

type findingItem struct {
	meridian.FindingRecord
	// Href is the web link to File:Line at the last commit that raised
	// it ("" for a repo without one); Loc is the "file:line" text.
	Href, Loc string
	// Live marks a finding about a live resource (an audit's).
	Live bool
}

// handleUIFindings is GET /findings?state=open|resolved|waived: the
// watched branch's finding records in one state, grouped by rule and
// severity, those about the config and those of its audits on live
// resources (?source=config|live for one kind), of one ?rule= or all.
func (s *Server) handleUIFindings(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	v := findingsData{State: meridian.FindingState(q.Get("state")), Source: q.Get("source"), Rule: q.Get("rule")}
	if v.State == "" {
		v.State = meridian.FindingOpen
	}
	if !v.State.Valid() {
		s.pageError(w, r, meridian.Errorf(meridian.EINVALID, "state must be open, resolved or waived, got %q", clip(string(v.State))))
		return
	}
	if s.opts.History == nil {
		s.pageError(w, r, errNoHistory)
		return
	}
	var err error
	if v.listPage, err = parseListPage(q); err != nil {
		s.pageError(w, r, err)
		return
	}
	live := controlplane.LiveBranch(s.recon.Branch())
	branches, err := s.findingBranches(v.Source, s.recon.Branch(), live)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	// Each branch's first limit records are enough: the page ends before
	// the limit-th record of their concatenation.
	var recs []meridian.FindingRecord
	for _, b := range branches {
		got, err := s.opts.History.FindingRecords(ctx, store.FindingFilter{RepoID: s.recon.RepoID(), Branch: b, State: v.State, Rule: v.Rule, Limit: v.limit()})
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		recs = append(recs, got...)
	}
	for _, st := range []meridian.FindingState{meridian.FindingOpen, meridian.FindingResolved, meridian.FindingWaived} {
		v.States = append(v.States, findingTab{Name: string(st), Href: findingsHref(st, v.Source, v.Rule), Current: st == v.State})
	}
	for _, src := range []string{"", findingSourceConfig, meridian.FindingSourceLive} {
		name := src
		if name == "" {
			name = "all"
		}
		v.Sources = append(v.Sources, findingTab{Name: name, Href: findingsHref(v.State, src, v.Rule), Current: src == v.Source})
	}
	recs = cut(recs, &v.listPage, "/findings", q)
	remediation := s.remediations(r)
	repo := s.recon.Source()
	groups := map[[2]string]*findingGroup{}
	for _, f := range recs {
		it := findingItem{FindingRecord: f, Live: f.Branch == live}
		if it.Remediation == "" {
			// Records written before they kept the remediation.
			it.Remediation = remediation[f.Fingerprint]
		}
		it.Href, it.Loc = dashboard.SourceLink(repo, f.LastCommit, f.File, f.Line)
		k := [2]string{f.Rule, string(f.Severity)}
		g := groups[k]
		if g == nil {
			g = &findingGroup{Rule: f.Rule, Severity: f.Severity}
			groups[k] = g
		}
		g.Items = append(g.Items, it)
		v.Total++
	}
	sevRank := map[meridian.Severity]int{meridian.SeverityDeny: 0, meridian.SeverityWarn: 1, meridian.SeverityInfo: 2}
	for _, g := range groups {
		v.Groups = append(v.Groups, *g)
	}
	sort.Slice(v.Groups, func(i, j int) bool {
		a, b := v.Groups[i], v.Groups[j]
		if sevRank[a.Severity] != sevRank[b.Severity] {
			return sevRank[a.Severity] < sevRank[b.Severity]
		}
		return a.Rule < b.Rule
	})
	s.render(w, r, "findings", "Findings", "findings", v)
}

// remediations maps the fingerprints of the branch head's findings to
// their remediation: records keep the message, the plan keeps the advice.
func (s *Server) remediations(r *http.Request) map[string]string {
	out := map[string]string{}
	id := s.recon.State().PlanID
	if id == "" {
		return out
	}
	d, err := s.planByID(r.Context(), id)
	if err != nil {
		return out
	}
	for _, f := range d.plan.Findings {
		if f.Remediation != "" {
			out[meridian.Fingerprint(f)] = f.Remediation
		}
	}
	return out
}
