package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/dashboard"
	"github.com/meridianhq/meridian/store"
)

// trendWindow is how far back the overview's cost chart reaches.
const trendWindow = 90 * 24 * time.Hour

// breakdownRows is how many values of a dimension the overview lists
// before summing the rest into "other".
const breakdownRows = 8

// costSide is one of the overview's two costs: as applied, or as the
// branch head would cost.
type costSide struct {
	// Name says which cost it is, for the tables' captions.
	Name   string
	Known  bool
	Total  meridian.Money
	PlanID string
	At     time.Time
	// Dims is the breakdown by provider, target and team.
	Dims []costDim
}

type costDim struct {
	Name   string
	Values []dashboard.Amount
}

// overviewData is the overview page.
type overviewData struct {
	State   controlplane.BranchState
	Applied costSide
	Planned costSide
	Trend   dashboard.Chart
	// RunnerUpSaving is against placing every workload on its runner-up.
	RunnerUpSaving     meridian.Money
	RunnerUpPlacements int
	// StaticSaving is against static peak provisioning (dashboard.Summary).
	StaticSaving    meridian.Money
	StaticWorkloads int
	Counts          overviewCounts
	LastReconcile   *runView
	LastApply       *runView
}

type overviewCounts struct {
	Drift, Deny, Warn, Blocked, Unplaceable, Frozen, Locks int
	// LiveDeny and LiveWarn count the open findings of the branch's
	// audits on live resources (controlplane.LiveBranch); Deny and Warn
	// those about the config.
	LiveDeny, LiveWarn int
}

// openCounter counts in SQL what the overview shows as numbers, so that a
// store with thousands of records need not list them. store/sqlite
// implements it; other stores are counted by listing.
type openCounter interface {
	CountOpenDrift(ctx context.Context, repoID string) (int, error)
	CountFindings(ctx context.Context, repoID, branch string, state meridian.FindingState) (map[meridian.Severity]int, error)
}

// handleUIOverview is GET /: costs, savings, counts and the last runs.
func (s *Server) handleUIOverview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := overviewData{State: s.recon.State()}
	if v.State.PlanID != "" {
		d, sum, err := s.summary(ctx, v.State.PlanID)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v.Planned = costSide{Name: "Planned", Known: true, Total: d.plan.TotalMonthlyCost, PlanID: d.rec.ID, At: d.rec.CreatedAt, Dims: dims(sum.By)}
		v.RunnerUpSaving, v.RunnerUpPlacements = sum.RunnerUpSaving, sum.RunnerUpPlacements
		v.StaticSaving, v.StaticWorkloads = sum.StaticSaving, sum.StaticWorkloads
		v.Counts.Blocked, v.Counts.Unplaceable, v.Counts.Frozen = sum.Blocked, sum.Unplaceable, sum.Frozen
	}
	if err := s.overviewCosts(ctx, &v); err != nil {
		s.pageError(w, r, err)
		return
	}
	if err := s.overviewCounts(ctx, &v.Counts); err != nil {
		s.pageError(w, r, err)
		return
	}
	repo := s.recon.RepoID()
	plans, err := s.st.ListRuns(ctx, store.RunFilter{RepoID: repo, Kind: store.RunPlan, Limit: 1})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if len(plans) > 0 {
		rv := viewRun(plans[0])
		v.LastReconcile = &rv
	}
	// Per-target child runs share the kind; the apply is their parent.
	applies, err := s.st.ListRuns(ctx, store.RunFilter{RepoID: repo, Kind: store.RunApply, Limit: 50})
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, a := range applies {
		if a.ParentID == "" {
			rv := viewRun(a)
			v.LastApply = &rv
			break
		}
	}
	s.render(w, r, "overview", "Overview", "overview", v)
}

func dims(by map[meridian.CostDimension]map[string]meridian.Money) []costDim {
	var out []costDim
	for _, d := range []meridian.CostDimension{meridian.CostByProvider, meridian.CostByTarget, meridian.CostByTeam} {
		out = append(out, costDim{Name: string(d), Values: dashboard.Sorted(by[d], breakdownRows)})
	}
	return out
}

// overviewCosts reads the cost history: the applied cost and its
// breakdown, and the trend of both kinds. The trend needs totals only, so
// it is read along env, the dimension with the fewest values; the
// breakdowns are read for the one applied point they are about.
func (s *Server) overviewCosts(ctx context.Context, v *overviewData) error {
	h := s.opts.History
	if h == nil {
		return nil
	}
	f := store.CostFilter{RepoID: s.recon.RepoID(), Branch: s.recon.Branch(), Dimension: meridian.CostByEnv, Since: s.now().Add(-trendWindow)}
	points, err := h.CostHistory(ctx, f)
	if err != nil {
		return fmt.Errorf("overview: cost history: %w", err)
	}
	var applied, planned []dashboard.Point
	var last *meridian.CostPoint
	for i, p := range points {
		pt := dashboard.Point{Time: p.Time, Value: float64(p.Total.Round())}
		if p.Kind == meridian.CostApplied {
			applied, last = append(applied, pt), &points[i]
		} else {
			planned = append(planned, pt)
		}
	}
	v.Trend = dashboard.LineChart(720, 220, []dashboard.Series{
		{Name: "applied", Class: "line-applied", Points: applied},
		{Name: "planned (branch head)", Class: "line-planned", Points: planned},
	}, nil, func(f float64) string { return meridian.Money(f).String() })
	// The latest applied point, with every dimension: from its time on
	// (an apply older than the trend's window is still what runs).
	f.Kind, f.Dimension, f.Since = meridian.CostApplied, "", time.Time{}
	if last != nil {
		f.Since = last.Time
	}
	pts, err := h.CostHistory(ctx, f)
	if err != nil {
		return fmt.Errorf("overview: applied cost: %w", err)
	}
	if len(pts) == 0 {
		return nil
	}
	p := pts[len(pts)-1]
	v.Applied = costSide{Name: "Applied", Known: true, Total: p.Total, PlanID: p.PlanID, At: p.Time, Dims: dims(p.By)}
	// The applied plan's own total, as /api/v1/costs?plan_id= reports it
	// (the point sums placements rounded to the cent, so it may differ in
	// the last cent); the point's when the plan is gone.
	if _, plan, err := s.recon.SavedPlan(ctx, p.PlanID); err == nil {
		v.Applied.Total = plan.TotalMonthlyCost
	} else if meridian.ErrorCode(err) != meridian.ENOTFOUND {
		logger(ctx, s.log).WarnContext(ctx, "overview: read the applied plan", "plan", p.PlanID, "err", err)
	}
	return nil
}

// overviewCounts counts open drift, open deny and warn findings about the
// config and on live resources, and locks.
func (s *Server) overviewCounts(ctx context.Context, c *overviewCounts) error {
	repo, branch := s.recon.RepoID(), s.recon.Branch()
	locks, err := s.st.ListLocks(ctx, repo)
	if err != nil {
		return fmt.Errorf("overview: locks: %w", err)
	}
	c.Locks = len(locks)
	oc, counts := s.st.(openCounter)
	if counts {
		if c.Drift, err = oc.CountOpenDrift(ctx, repo); err != nil {
			return err
		}
	} else {
		drift, err := s.st.ListDrift(ctx, store.DriftFilter{RepoID: repo, State: store.DriftOpen})
		if err != nil {
			return fmt.Errorf("overview: drift: %w", err)
		}
		c.Drift = len(drift)
	}
	if s.opts.History == nil {
		return nil
	}
	for _, side := range []struct {
		branch     string
		deny, warn *int
	}{{branch, &c.Deny, &c.Warn}, {controlplane.LiveBranch(branch), &c.LiveDeny, &c.LiveWarn}} {
		bySev := map[meridian.Severity]int{}
		if counts {
			if bySev, err = oc.CountFindings(ctx, repo, side.branch, meridian.FindingOpen); err != nil {
				return err
			}
		} else {
			recs, err := s.opts.History.FindingRecords(ctx, store.FindingFilter{RepoID: repo, Branch: side.branch, State: meridian.FindingOpen})
			if err != nil {
				return fmt.Errorf("overview: findings: %w", err)
			}
			for _, f := range recs {
				bySev[f.Severity]++
			}
		}
		*side.deny, *side.warn = bySev[meridian.SeverityDeny], bySev[meridian.SeverityWarn]
	}
	return nil
}
