package web

import (
	"net/http"
	"net/url"
	"path"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/dashboard"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
)

// placementsData is the placements page.
type placementsData struct {
	PlanID string
	dashboard.Result
	Teams, Providers, Targets, Jurisdictions []string
	// Headers are the sortable columns with the link that sorts by each.
	Headers    []sortHeader
	Prev, Next string
}

type sortHeader struct {
	Col, Label, Href string
	// Sort is the column's aria-sort: ascending, descending or none.
	Sort string
	Num  bool
}

var columnLabels = map[string]string{"workload": "Workload", "target": "Target", "team": "Team", "provider": "Provider",
	"jurisdiction": "Jurisdiction", "replicas": "Replicas", "cost": "Monthly", "runner_up": "Runner-up", "extra": "Extra cost", "why": "Why"}

// parsePlacementQuery reads the list's query parameters. Bad numbers are
// an error, not silently the default: a link that asks for page "x" is
// broken.
func parsePlacementQuery(v url.Values) (dashboard.Query, error) {
	q := dashboard.Query{Team: v.Get("team"), Provider: v.Get("provider"), Target: v.Get("target"), Jurisdiction: v.Get("jurisdiction"),
		Search: v.Get("q"), Sort: v.Get("sort"), Desc: v.Get("dir") == "desc"}
	for _, f := range []string{"team", "provider", "target", "jurisdiction", "q"} {
		if len(v.Get(f)) > 200 {
			return q, meridian.Errorf(meridian.EINVALID, "%s is longer than 200 characters", f)
		}
	}
	if d := v.Get("dir"); d != "" && d != "asc" && d != "desc" {
		return q, meridian.Errorf(meridian.EINVALID, "dir must be asc or desc, got %q", clip(d))
	}
	if c := v.Get("sort"); c != "" && columnLabels[c] == "" {
		return q, meridian.Errorf(meridian.EINVALID, "cannot sort by %q", clip(c))
	}
	var err error
	if q.Page, err = intParam(v, "page", 1, dashboard.MaxPerPage*1000); err != nil {
		return q, err
	}
	if q.PerPage, err = intParam(v, "per_page", 1, dashboard.MaxPerPage); err != nil {
		return q, err
	}
	return q.Normalize(), nil
}

func intParam(v url.Values, name string, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, meridian.Errorf(meridian.EINVALID, "%s must be an integer from %d to %d, got %q", name, lo, hi, clip(s))
	}
	return n, nil
}

// link is the placements URL of q with changes applied.
func placementsLink(q dashboard.Query, change func(*dashboard.Query)) string {
	change(&q)
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("team", q.Team)
	set("provider", q.Provider)
	set("target", q.Target)
	set("jurisdiction", q.Jurisdiction)
	set("q", q.Search)
	if q.Sort != "workload" || q.Desc {
		set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("dir", "desc")
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PerPage != dashboard.DefaultPerPage {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	if len(v) == 0 {
		return "/placements"
	}
	return "/placements?" + v.Encode()
}

// handleUIPlacements is GET /placements: the branch head's placements,
// filtered, sorted and paged on the server.
func (s *Server) handleUIPlacements(w http.ResponseWriter, r *http.Request) {
	q, err := parsePlacementQuery(r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	id, err := s.headPlan()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	_, sum, err := s.summary(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := placementsData{PlanID: id, Result: sum.Placements(q)}
	v.Teams, v.Providers, v.Targets, v.Jurisdictions = sum.Options()
	for _, c := range dashboard.Columns {
		h := sortHeader{Col: c, Label: columnLabels[c], Sort: "none", Num: c == "replicas" || c == "cost" || c == "extra"}
		desc := false
		if c == v.Query.Sort {
			h.Sort = "ascending"
			if v.Query.Desc {
				h.Sort = "descending"
			} else {
				desc = true
			}
		}
		h.Href = placementsLink(v.Query, func(q *dashboard.Query) { q.Sort, q.Desc, q.Page = c, desc, 1 })
		v.Headers = append(v.Headers, h)
	}
	if v.Query.Page > 1 {
		v.Prev = placementsLink(v.Query, func(q *dashboard.Query) { q.Page-- })
	}
	if v.Query.Page < v.Pages {
		v.Next = placementsLink(v.Query, func(q *dashboard.Query) { q.Page++ })
	}
	s.render(w, r, "placements", "Placements", "placements", v)
}

// workloadData is a workload's page.
type workloadData struct {
	Name   string
	PlanID string
	Rows   []dashboard.Row
	Sizing *meridian.Sizing
	// Load is the load history against the forecast; Forecast the
	// forecast peaks of recent plans.
	Load     forecastChart
	Forecast dashboard.Chart
	History  []workloadPlacement
	Findings []meridian.Finding
	Drift    []meridian.DriftRecord
	Deploy   []meridian.DeployFile
	// DeployFiles are the Applications of the workload's placements in the
	// deploy repo, whether or not the plan changes them.
	DeployFiles []string
	Terraform   []workloadTerraform
	Unplaced    *meridian.Unplaceable
}

// workloadPlacement is where one past plan put the workload.
type workloadPlacement struct {
	PlanID  string
	Commit  string
	At      string
	Targets string
	Cost    meridian.Money
}

type workloadTerraform struct {
	Target, Status string
	Frozen         *meridian.Frozen
}

// workloadHistoryPlans is how many recent plans the placement history
// and the forecast chart read. Each is summarized once (and cached).
const workloadHistoryPlans = 12

// handleUIWorkload is GET /workloads/{name}.
func (s *Server) handleUIWorkload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := chi.URLParam(r, "name")
	id, err := s.headPlan()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d, sum, err := s.summary(ctx, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := workloadData{Name: name, PlanID: id, Rows: sum.WorkloadRows(name)}
	for i := range d.plan.Unplaceable {
		if d.plan.Unplaceable[i].Workload == name {
			v.Unplaced = &d.plan.Unplaceable[i]
		}
	}
	if len(v.Rows) == 0 && v.Unplaced == nil {
		s.pageError(w, r, meridian.Errorf(meridian.ENOTFOUND, "workload %q is not in plan %s", clip(name), id))
		return
	}
	for _, pl := range d.plan.Placements {
		if pl.Workload == name && pl.Explanation.Sizing != nil {
			v.Sizing = pl.Explanation.Sizing
			break
		}
	}
	for _, f := range d.plan.Findings {
		if f.Workload == name {
			v.Findings = append(v.Findings, f)
		}
	}
	if d.plan.Deploy != nil {
		for _, f := range d.plan.Deploy.Files {
			if f.Workload == name {
				v.Deploy = append(v.Deploy, f)
			}
		}
		for _, row := range v.Rows {
			v.DeployFiles = append(v.DeployFiles, path.Join(d.plan.Deploy.Path, deploy.AppFile(name, row.Target)))
		}
	}
	// The Terraform targets the workload is placed on or frozen on.
	placed := map[string]bool{}
	for _, row := range v.Rows {
		placed[row.Target] = true
	}
	for _, c := range d.plan.Terraform {
		wt := workloadTerraform{Target: c.Target, Status: c.Status}
		for i := range c.Frozen {
			if c.Frozen[i].Workload == name {
				wt.Frozen = &c.Frozen[i]
			}
		}
		if placed[c.Target] || wt.Frozen != nil {
			v.Terraform = append(v.Terraform, wt)
		}
	}
	v.Load = s.workloadForecast(ctx, d, name, v.Sizing)
	if v.Drift, err = s.st.ListDrift(ctx, store.DriftFilter{RepoID: s.recon.RepoID(), Workload: name, Limit: 100}); err != nil {
		s.pageError(w, r, err)
		return
	}
	if err := s.workloadHistory(r, name, &v); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, "workload", "Workload "+name, "placements", v)
}

// workloadHistory reads the workload's placements and sizing in the
// repo's recent plans, newest first, and charts the forecast peaks each
// plan sized it for: P50, and the band up to the upper quantile. Plans
// keep the forecast's peaks, not the load series, so the chart shows how
// the forecast moved from plan to plan.
func (s *Server) workloadHistory(r *http.Request, name string, v *workloadData) error {
	ctx := r.Context()
	recs, err := s.st.ListPlans(ctx, s.recon.RepoID(), workloadHistoryPlans)
	if err != nil {
		return err
	}
	var p50, pq []dashboard.Point
	for i := len(recs) - 1; i >= 0; i-- {
		rec := recs[i]
		_, sum, err := s.summary(ctx, rec.ID)
		if err != nil {
			continue // a plan pruned meanwhile
		}
		rows := sum.WorkloadRows(name)
		if len(rows) == 0 {
			continue
		}
		wp := workloadPlacement{PlanID: rec.ID, Commit: rec.Commit, At: fmtTime(rec.CreatedAt)}
		for j, row := range rows {
			if j > 0 {
				wp.Targets += ", "
			}
			wp.Targets += row.Target
			wp.Cost += row.MonthlyCost
		}
		v.History = append([]workloadPlacement{wp}, v.History...)
		if _, p, err := s.recon.SavedPlan(ctx, rec.ID); err == nil {
			for _, pl := range p.Placements {
				if pl.Workload == name && pl.Explanation.Sizing != nil && pl.Explanation.Sizing.Method == "forecast" {
					z := pl.Explanation.Sizing
					p50 = append(p50, dashboard.Point{Time: rec.CreatedAt, Value: z.PeakP50})
					pq = append(pq, dashboard.Point{Time: rec.CreatedAt, Value: z.PeakPq})
					break
				}
			}
		}
	}
	var bands []dashboard.Band
	var lines []dashboard.Series
	if len(p50) > 0 {
		bands = append(bands, dashboard.Band{Name: "forecast band P50 to upper quantile", Class: "band-forecast", Low: p50, High: pq})
		lines = append(lines, dashboard.Series{Name: "forecast peak P50", Class: "line-p50", Points: p50})
	}
	v.Forecast = dashboard.LineChart(720, 200, lines, bands, func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) })
	return nil
}
