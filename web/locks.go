package web

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

func (s *Server) lockRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/locks", s.handleLockList)
	r.With(s.require(RoleOperator)).Delete("/locks/{target}", s.handleLockDelete)
}

// lockView is a held target lock.
type lockView struct {
	Target     string    `json:"target"`
	Token      int64     `json:"token"`
	Actor      string    `json:"actor"`
	Host       string    `json:"host,omitempty"`
	PID        int       `json:"pid,omitempty"`
	PlanID     string    `json:"plan_id,omitempty"`
	RunID      string    `json:"run_id,omitempty"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	// Expired is set when the lease ran out and nobody took the lock over
	// yet: the next run will.
	Expired bool `json:"expired"`
	// Waiters are the runs queued for the lock, first come, first served.
	Waiters []lockWaiterView `json:"waiters,omitempty"`
}

// lockWaiterView is a run queued for a lock.
type lockWaiterView struct {
	Position   int       `json:"position"`
	Actor      string    `json:"actor"`
	Host       string    `json:"host,omitempty"`
	PID        int       `json:"pid,omitempty"`
	PlanID     string    `json:"plan_id,omitempty"`
	RunID      string    `json:"run_id,omitempty"`
	EnqueuedAt time.Time `json:"enqueued_at"`
}

func (s *Server) viewLock(l store.Lock) lockView {
	return lockView{Target: l.Key.Target, Token: l.Token, Actor: l.Owner.Actor, Host: l.Owner.Host, PID: l.Owner.PID,
		PlanID: l.PlanID, RunID: l.RunID, AcquiredAt: l.AcquiredAt, ExpiresAt: l.ExpiresAt, Expired: s.now().After(l.ExpiresAt)}
}

// handleLockList lists the repo's held target locks.
func (s *Server) handleLockList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ls, err := s.st.ListLocks(r.Context(), s.recon.RepoID())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, err := s.st.ListLockWaiters(r.Context(), s.recon.RepoID())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	queued := map[string][]lockWaiterView{}
	for _, q := range ws {
		queued[q.Key.Target] = append(queued[q.Key.Target], lockWaiterView{Position: q.Position, Actor: q.Owner.Actor, Host: q.Owner.Host,
			PID: q.Owner.PID, PlanID: q.PlanID, RunID: q.RunID, EnqueuedAt: q.EnqueuedAt})
	}
	writeJSON(w, http.StatusOK, mapList(pageOf(ls, p), func(l store.Lock) lockView {
		v := s.viewLock(l)
		v.Waiters = queued[l.Key.Target]
		return v
	}))
}

// handleLockDelete force-unlocks a target: operators may unlock locks they
// hold themselves, admins any. The holder's run is recorded as
// interrupted and the store audits the unlock, with ?reason=.
func (s *Server) handleLockDelete(w http.ResponseWriter, r *http.Request) {
	reason := r.URL.Query().Get("reason")
	if reason == "" {
		reason = "force-unlocked through the API"
	}
	prev, err := s.forceUnlock(r.Context(), chi.URLParam(r, "target"), reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"unlocked": s.viewLock(prev)})
}

// forceUnlock releases the lock of target for the context's principal,
// by the rules of both the API and the dashboard: operators may unlock
// locks they hold themselves, admins any.
func (s *Server) forceUnlock(ctx context.Context, target, reason string) (store.Lock, error) {
	p, ok := principalFrom(ctx)
	if !ok {
		return store.Lock{}, meridian.Errorf(meridian.EUNAUTHORIZED, "authentication required")
	}
	ls, err := s.st.ListLocks(ctx, s.recon.RepoID())
	if err != nil {
		return store.Lock{}, err
	}
	var held *store.Lock
	for i := range ls {
		if ls[i].Key.Target == target {
			held = &ls[i]
		}
	}
	if held == nil {
		return store.Lock{}, meridian.Errorf(meridian.ENOTFOUND, "target %q is not locked", clip(target))
	}
	if !p.Role.Allows(RoleAdmin) && held.Owner.Actor != p.Actor() {
		return store.Lock{}, meridian.Errorf(meridian.EFORBIDDEN, "target %s is locked by %s; operators may unlock only their own locks", target, held.Owner.Actor)
	}
	prev, was, err := s.st.ForceUnlock(ctx, held.Key, p.Actor(), reason)
	if err != nil {
		return store.Lock{}, err
	}
	if !was {
		return store.Lock{}, meridian.Errorf(meridian.ENOTFOUND, "target %q is not locked", clip(target))
	}
	return prev, nil
}
