package web

import (
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
)

func (s *Server) costRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/costs", s.handleCostList)
	r.With(s.require(RoleViewer)).Get("/costs/history", s.handleCostHistory)
}

// costView is a plan's monthly cost, grouped.
type costView struct {
	list[costItem]
	PlanID string `json:"plan_id"`
	// Month is the current calendar month (YYYY-MM, UTC): the costs are
	// the plan's monthly run rate in it.
	Month    string         `json:"month"`
	Currency string         `json:"currency"`
	GroupBy  string         `json:"group_by"`
	Tag      string         `json:"tag,omitempty"`
	Total    meridian.Money `json:"total"`
}

type costItem struct {
	// Key is the target, the team, or the tag's value ("" when a workload
	// lacks the tag).
	Key         string                 `json:"key"`
	MonthlyCost meridian.Money         `json:"monthly_cost"`
	Cost        meridian.CostBreakdown `json:"cost"`
	Workloads   int                    `json:"workloads"`
}

// handleCostList sums a plan's monthly cost (?plan_id=, default the
// branch's newest plan) by ?group_by=target (default), team (the
// workload's team tag, else its owner tag) or tag (with ?tag=KEY), most
// expensive first.
func (s *Server) handleCostList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	groupBy, tag := q.Get("group_by"), q.Get("tag")
	switch groupBy {
	case "":
		groupBy = "target"
	case "target", "team":
	case "tag":
		if tag == "" {
			s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "group_by=tag needs tag=KEY"))
			return
		}
	default:
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "group_by must be target, team or tag, got %q", groupBy))
		return
	}
	d, err := s.selectPlan(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var tags map[string]map[string]string
	if groupBy != "target" {
		if tags, err = s.recon.WorkloadTags(r.Context(), d.rec.Commit); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	items := map[string]*costItem{}
	seen := map[[2]string]bool{}
	for _, pl := range d.plan.Placements {
		var key string
		switch groupBy {
		case "target":
			key = pl.Target
		case "team":
			key = tags[pl.Workload]["team"]
			if key == "" {
				key = tags[pl.Workload]["owner"]
			}
		case "tag":
			key = tags[pl.Workload][tag]
		}
		it := items[key]
		if it == nil {
			it = &costItem{Key: key}
			items[key] = it
		}
		it.MonthlyCost += pl.MonthlyCost
		it.Cost.Compute += pl.Cost.Compute
		it.Cost.Storage += pl.Cost.Storage
		it.Cost.Egress += pl.Cost.Egress
		it.Cost.Migration += pl.Cost.Migration
		if !seen[[2]string{key, pl.Workload}] {
			seen[[2]string{key, pl.Workload}] = true
			it.Workloads++
		}
	}
	all := make([]costItem, 0, len(items))
	for _, it := range items {
		all = append(all, *it)
	}
	sort.Slice(all, func(i, j int) bool {
		if a, b := all[i].MonthlyCost.Round(), all[j].MonthlyCost.Round(); a != b {
			return a > b
		}
		return all[i].Key < all[j].Key
	})
	writeJSON(w, http.StatusOK, costView{list: pageOf(all, p), PlanID: d.rec.ID, Month: s.now().UTC().Format("2006-01"),
		Currency: d.plan.Currency, GroupBy: groupBy, Tag: tag, Total: d.plan.TotalMonthlyCost})
}
