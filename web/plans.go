package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
)

func (s *Server) planRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/plans", s.handlePlanList)
	r.With(s.require(RoleOperator), s.toLeader).Post("/plans", s.handlePlanCreate)
	r.With(s.require(RoleViewer)).Get("/plans/{planID}", s.handlePlanGet)
	r.With(s.require(RoleOperator)).Post("/plans/{planID}/approve-destroy", s.handlePlanApproveDestroy)
	// POST /plans/{planID}/apply is registered in routes(), outside the
	// request timeout.
}

// planSummary is a plan in a list.
type planSummary struct {
	ID        string    `json:"id"`
	Ref       string    `json:"ref"`
	Commit    string    `json:"commit"`
	Dirty     bool      `json:"dirty,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

func summarize(p store.PlanRecord) planSummary {
	return planSummary{ID: p.ID, Ref: p.Ref, Commit: p.Commit, Dirty: p.Dirty, CreatedAt: p.CreatedAt, CreatedBy: p.CreatedBy}
}

// planView is one plan with its document (docs/plan-json.md).
type planView struct {
	planSummary
	Blocking         bool              `json:"blocking"`
	TotalMonthlyCost meridian.Money    `json:"total_monthly_cost"`
	Currency         string            `json:"currency"`
	Plan             json.RawMessage   `json:"plan"`
	Targets          []planTargetsView `json:"terraform_targets"`
}

type planTargetsView struct {
	Target string                `json:"target"`
	Change meridian.TargetChange `json:"change"`
}

// planDoc is a stored plan of the watched repo with its document decoded,
// as the reconciler caches it.
type planDoc struct {
	rec  store.PlanRecord
	plan *meridian.Plan
}

func (s *Server) planByID(ctx context.Context, id string) (*planDoc, error) {
	rec, p, err := s.recon.SavedPlan(ctx, id)
	if err != nil {
		return nil, err
	}
	return &planDoc{rec: rec, plan: p}, nil
}

// selectPlan is the plan a read of placements, findings, costs or
// forecasts is about: ?plan_id=, or the watched branch's newest plan.
func (s *Server) selectPlan(r *http.Request) (*planDoc, error) {
	id := r.URL.Query().Get("plan_id")
	if id == "" {
		var err error
		if id, err = s.headPlan(); err != nil {
			return nil, fmt.Errorf("%w; or pass plan_id", err)
		}
	}
	return s.planByID(r.Context(), id)
}

// handlePlanList lists the repo's plans, newest first.
func (s *Server) handlePlanList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, err := s.st.ListPlans(r.Context(), s.recon.RepoID(), p.limit())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mapList(pageOf(recs, p), summarize))
}

// handlePlanGet returns one plan with its document.
func (s *Server) handlePlanGet(w http.ResponseWriter, r *http.Request) {
	d, err := s.planByID(r.Context(), chi.URLParam(r, "planID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewPlan(d))
}

func viewPlan(d *planDoc) planView {
	v := planView{planSummary: summarize(d.rec), Blocking: d.plan.Blocking(), TotalMonthlyCost: d.plan.TotalMonthlyCost,
		Currency: d.plan.Currency, Plan: d.rec.Document, Targets: []planTargetsView{}}
	for _, t := range d.rec.Targets {
		v.Targets = append(v.Targets, planTargetsView{Target: t.Target, Change: t.Change})
	}
	return v
}

type planCreateRequest struct {
	// Ref is a branch, tag, full ref name or commit SHA (default: the
	// watched branch).
	Ref string `json:"ref"`
}

// handlePlanCreate plans a ref now. A ref planned before with the same
// inputs returns the same plan.
func (s *Server) handlePlanCreate(w http.ResponseWriter, r *http.Request) {
	var req planCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalFrom(r.Context())
	out, err := s.recon.PlanRef(r.Context(), strings.TrimSpace(req.Ref), p.Actor())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.planByID(r.Context(), out.Plan.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewPlan(d))
}

// handlePlanApply applies a plan of the watched branch and returns what
// each target did. The apply continues if the client hangs up; its run is
// in /api/v1/runs.
//
// An apply outlasts the http.Server's WriteTimeout, so the handler lifts
// its own write deadline: the escape hatch for long-running routes (later
// long polls and event streams do the same).
func (s *Server) handlePlanApply(w http.ResponseWriter, r *http.Request) {
	// Fails only on writers without deadlines (httptest recorders).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	out, err := s.applyPlan(r, chi.URLParam(r, "planID"))
	if errors.Is(err, errClientLeft) {
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// errClientLeft is applyPlan's answer when the client hung up: the apply
// goes on, and there is nobody to answer.
var errClientLeft = errors.New("the client left; the apply goes on")

// applyPlan applies plan id for the request's principal: the one path of
// the API's and the dashboard's applies.
func (s *Server) applyPlan(r *http.Request, id string) (*controlplane.ApplyOutput, error) {
	p, _ := principalFrom(r.Context())
	out, err := s.recon.Apply(r.Context(), id, p.Actor())
	if err != nil {
		if r.Context().Err() != nil {
			return nil, errClientLeft
		}
		if errors.Is(err, context.Canceled) {
			err = controlplane.ErrShutdown
		}
		return nil, err
	}
	return out, nil
}
