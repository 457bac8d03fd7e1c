package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
)

// findingSourceConfig is ?source= for the findings about the config, the
// plans' own; meridian.FindingSourceLive is for those of the audits.
const findingSourceConfig = "config"

// findingBranches maps ?source= to the branches whose finding records it
// lists: config the watched branch's, live its audits' (kept on
// controlplane.LiveBranch, docs/audit.md); empty lists def (which may be
// both).
func (s *Server) findingBranches(src string, def ...string) ([]string, error) {
	branch := s.recon.Branch()
	switch src {
	case "":
		return def, nil
	case findingSourceConfig:
		return []string{branch}, nil
	case meridian.FindingSourceLive:
		return []string{controlplane.LiveBranch(branch)}, nil
	}
	return nil, meridian.Errorf(meridian.EINVALID, "source must be config or live, got %q", clip(src))
}

func (s *Server) findingRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/findings", s.handleFindingList)
}

// handleFindingList lists a plan's policy findings (?plan_id=, default the
// branch's newest plan), filtered by ?severity=, ?rule= and ?workload=.
// With ?state= it lists the branch's finding lifecycle records instead
// (handleFindingRecords).
func (s *Server) handleFindingList(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("state") {
		s.handleFindingRecords(w, r)
		return
	}
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	if sev := q.Get("severity"); sev != "" && !meridian.Severity(sev).Valid() {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "severity must be deny, warn or info, got %q", sev))
		return
	}
	d, err := s.selectPlan(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var out []meridian.Finding
	for _, f := range d.plan.Findings {
		if match(q.Get("severity"), string(f.Severity)) && match(q.Get("rule"), f.Rule) && match(q.Get("workload"), f.Workload) {
			out = append(out, f)
		}
	}
	writeJSON(w, http.StatusOK, pageOf(out, p))
}
