package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/dashboard"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/store"
)

// plansData is the plan history.
type plansData struct {
	Plans []planSummary
	Head  string
	listPage
}

// handleUIPlans is GET /plans: the repo's plans, newest first.
func (s *Server) handleUIPlans(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := plansData{Head: s.recon.State().PlanID}
	var err error
	if v.listPage, err = parseListPage(q); err != nil {
		s.pageError(w, r, err)
		return
	}
	recs, err := s.st.ListPlans(r.Context(), s.recon.RepoID(), v.limit())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, p := range cut(recs, &v.listPage, "/plans", q) {
		v.Plans = append(v.Plans, summarize(p))
	}
	s.render(w, r, "plans", "Plans", "plans", v)
}

// planData is one plan's page.
type planData struct {
	planSummary
	Total          meridian.Money
	Blocking       bool
	Summary        *dashboard.Summary
	Unplaceable    []meridian.Unplaceable
	Placements     dashboard.Result
	PlacementsMore bool
	Deploy         *meridian.DeployDiff
	Terraform      []meridian.TargetChange
	Runs           []runView
	// Applicable is set for plans of the watched branch: the only ones an
	// apply accepts.
	Applicable bool
}

// planPagePlacements is how many placements a plan page lists; the rest
// are on /placements.
const planPagePlacements = 100

// handleUIPlan is GET /plans/{planID}: placements, deploy-repo change,
// Terraform summary and apply runs.
func (s *Server) handleUIPlan(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d, sum, err := s.summary(ctx, chi.URLParam(r, "planID"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := planData{planSummary: summarize(d.rec), Total: d.plan.TotalMonthlyCost, Blocking: d.plan.Blocking(), Summary: sum,
		Unplaceable: d.plan.Unplaceable, Deploy: d.plan.Deploy, Terraform: d.plan.Terraform,
		Placements: sum.Placements(dashboard.Query{PerPage: planPagePlacements}),
		Applicable: d.rec.Ref == s.recon.Branch() || d.rec.Ref == "refs/heads/"+s.recon.Branch()}
	v.PlacementsMore = v.Placements.Pages > 1
	runs, err := s.st.ListRuns(ctx, store.RunFilter{RepoID: s.recon.RepoID(), PlanID: d.rec.ID, Kind: store.RunApply, Limit: 100})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, run := range runs {
		v.Runs = append(v.Runs, viewRun(run))
	}
	s.render(w, r, "plan", "Plan "+shortSHA(d.rec.ID), "plans", v)
}

// runData is one run's page with its redacted log.
type runData struct {
	runView
	Children []runView
}

// handleUIRun is GET /runs/{runID}.
func (s *Server) handleUIRun(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	run, err := s.st.GetRun(ctx, chi.URLParam(r, "runID"))
	if err == nil && run.RepoID != s.recon.RepoID() {
		err = store.NotFound("run", run.ID)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := runData{runView: viewRun(run)}
	// Outputs are redacted when they are recorded; redact URLs once more,
	// as every error message is.
	v.Output = gitops.RedactText(run.Output)
	children, err := s.st.ListRuns(ctx, store.RunFilter{RepoID: s.recon.RepoID(), ParentID: run.ID, Limit: 500})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, c := range children {
		cv := viewRun(c)
		cv.Output = gitops.RedactText(c.Output)
		v.Children = append(v.Children, cv)
	}
	s.render(w, r, "run", "Run "+run.ID, "plans", v)
}

// handleUIApply is POST /plans/{planID}/apply: the API's apply, then a
// redirect to the apply's run (or the plan when no run was recorded).
func (s *Server) handleUIApply(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "planID")
	out, err := s.applyPlan(r, id)
	if errors.Is(err, errClientLeft) {
		return
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	target := "/plans/" + url.PathEscape(id)
	if out != nil && out.RunID != "" {
		target = "/runs/" + url.PathEscape(out.RunID)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// locksData is the locks page.
type locksData struct {
	Locks []lockItem
	// Released names the target just released, after a redirect.
	Released string
}

type lockItem struct {
	lockView
	Age string
	// CanRelease is set when the principal may release it: admins any
	// lock, operators their own (the server checks again).
	CanRelease bool
}

// handleUILocks is GET /locks: held locks with holder and age.
func (s *Server) handleUILocks(w http.ResponseWriter, r *http.Request) {
	ls, err := s.st.ListLocks(r.Context(), s.recon.RepoID())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := locksData{Released: clip(r.URL.Query().Get("released"))}
	p, _ := principalFrom(r.Context())
	for _, l := range ls {
		it := lockItem{lockView: s.viewLock(l), Age: strings.TrimSuffix(s.ago(l.AcquiredAt), " ago")}
		it.CanRelease = p != nil && p.Role.Allows(RoleOperator) && (p.Role.Allows(RoleAdmin) || l.Owner.Actor == p.Actor())
		v.Locks = append(v.Locks, it)
	}
	s.render(w, r, "locks", "Locks", "locks", v)
}

// handleUILockRelease is POST /locks/release (form fields target and
// reason): the API's force-unlock, then back to /locks.
func (s *Server) handleUILockRelease(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, meridian.Errorf(meridian.EINVALID, "read the form: %v", err))
		return
	}
	target := r.PostForm.Get("target")
	if target == "" {
		s.pageError(w, r, meridian.Errorf(meridian.EINVALID, "the form names no target"))
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" {
		reason = "released from the dashboard"
	}
	if _, err := s.forceUnlock(r.Context(), target, clip(reason)); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/locks?released="+url.QueryEscape(target), http.StatusSeeOther)
}
