package web

import (
	"context"
	"net/http"
	"time"
)

// handleHealthz answers 200 while the process serves requests.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// handleReadyz answers 200 when the store answers and the config repo can
// be read, 503 otherwise, naming the failed check.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	out := readiness{Status: "ready", Checks: map[string]string{"store": "ok", "git": "ok"}}
	if err := s.st.Ping(ctx); err != nil {
		out.Status, out.Checks["store"] = "not ready", err.Error()
	}
	if err := s.recon.GitReady(ctx); err != nil {
		out.Status, out.Checks["git"] = "not ready", err.Error()
	}
	status := http.StatusOK
	if out.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
}

// GitReady reports whether the config repo can be read: a sync succeeded
// recently, or a fresh check (remembered for 15 seconds) does.
func (r *Reconciler) GitReady(ctx context.Context) error {
	r.mu.Lock()
	last, checked, cerr := r.state.LastSync, r.pingAt, r.pingErr
	r.mu.Unlock()
	now := r.now()
	if !last.IsZero() && now.Sub(last) < 2*r.opts.Interval+30*time.Second {
		return nil
	}
	if !checked.IsZero() && now.Sub(checked) < 15*time.Second {
		return cerr
	}
	err := r.loader.Ping(ctx)
	r.mu.Lock()
	r.pingAt, r.pingErr = now, err
	r.mu.Unlock()
	return err
}
