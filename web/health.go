package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/meridianhq/meridian/store"
)

// handleHealthz answers 200 while the process serves requests.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	// Leader says whether this replica leads the replicas sharing its
	// store (always true for a server alone on it). Followers are ready:
	// they serve the API, the dashboard and webhooks.
	Leader bool `json:"leader"`
	// Forwarding says whether a follower forwards plans and applies to
	// the leader ("ok"), or why not. A refusal leaves the replica ready:
	// it serves everything else.
	Forwarding string `json:"forwarding,omitempty"`
}

// handleReadyz answers 200 when the store takes writes and the config
// repo can be read, 503 otherwise, naming the failed check; its "leader"
// says whether this replica leads. The endpoint
// needs no token, so the answer says which check failed and why in general
// terms only; the log has the error itself (which names files and hosts).
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	log := logger(ctx, s.log)
	out := readiness{Status: "ready", Checks: map[string]string{"store": "ok", "git": "ok"}, Leader: s.leading(), Forwarding: s.forwarding(ctx)}
	if err := s.storeReady(ctx); err != nil {
		log.ErrorContext(ctx, "readiness: store", "err", err)
		msg := "failing: the store does not answer"
		var ue *store.UnavailableError
		if errors.As(err, &ue) {
			msg = "failing: the store does not take writes (" + ue.Reason + ")"
		}
		out.Status, out.Checks["store"] = "not ready", msg
	}
	if err := s.recon.GitReady(ctx); err != nil {
		log.WarnContext(ctx, "readiness: git", "err", err)
		out.Status, out.Checks["git"] = "not ready", "failing: the config repo cannot be read"
	}
	status := http.StatusOK
	if out.Status != "ready" {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	writeJSON(w, status, out)
}

// readyzProbeEvery is how often /readyz may probe the store.
const readyzProbeEvery = 2 * time.Second

// storeReady is the store's write probe (a small write transaction, rolled
// back), run at most once every readyzProbeEvery: /readyz needs no token,
// so a flood of it must not become a flood of writes. Concurrent callers
// share one probe.
func (s *Server) storeReady(ctx context.Context) error {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if now := s.now(); !s.readyAt.IsZero() && now.Sub(s.readyAt) < readyzProbeEvery && now.After(s.readyAt) {
		return s.readyErr
	}
	s.readyErr = s.st.Ping(ctx)
	s.readyAt = s.now()
	return s.readyErr
}
