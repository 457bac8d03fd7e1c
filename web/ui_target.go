package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/dashboard"
	"github.com/meridianhq/meridian/store"
)

// targetData is a target's page.
type targetData struct {
	Name   string
	PlanID string
	// Target is the target's config, when the config could be read.
	Target *meridian.Target
	Use    dashboard.TargetUse
	// Resources compares what the plan places with the capacity.
	Resources []resourceUse
	Rows      []dashboard.Row
	Drift     []meridian.DriftRecord
}

type resourceUse struct {
	Name      string
	Used      float64
	Available float64
	// Limited is false on a cloud target without a quota: no bound.
	Limited bool
	Percent float64
	// Level is "ok", "high" (at least 80%) or "over" (above 100%), shown
	// in words next to the bar.
	Level string
}

func newResourceUse(name string, used, avail float64) resourceUse {
	u := resourceUse{Name: name, Used: used, Available: avail, Limited: avail > 0, Level: "ok"}
	if u.Limited {
		u.Percent = 100 * used / avail
		switch {
		case u.Percent > 100:
			u.Level = "over"
		case u.Percent >= 80:
			u.Level = "high"
		}
	}
	return u
}

// handleUITarget is GET /targets/{name}.
func (s *Server) handleUITarget(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := chi.URLParam(r, "name")
	id, err := s.headPlan()
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	_, sum, err := s.summary(ctx, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := targetData{Name: name, PlanID: id}
	var placed bool
	v.Use, placed = sum.TargetUse(name)
	if t, ok := sum.Target(name); ok {
		v.Target = &t
	} else if !placed {
		s.pageError(w, r, meridian.Errorf(meridian.ENOTFOUND, "target %q is not in plan %s", clip(name), id))
		return
	}
	var capacity meridian.Capacity
	if v.Target != nil {
		capacity = v.Target.Capacity
	}
	v.Resources = []resourceUse{newResourceUse("vCPU", v.Use.VCPU, capacity.VCPU), newResourceUse("Memory (GiB)", v.Use.MemoryGiB, capacity.MemoryGiB)}
	v.Rows = sum.TargetRows(name)
	if v.Drift, err = s.st.ListDrift(ctx, store.DriftFilter{RepoID: s.recon.RepoID(), Target: name, Limit: 100}); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, "target", "Target "+name, "placements", v)
}
