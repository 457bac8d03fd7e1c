package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/store"
)

// Alerts is what the alert routes read and do: alerting.Dispatcher
// implements it.
type Alerts interface {
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]meridian.Alert, error)
	ListDeadLetters(ctx context.Context, limit int) ([]store.AlertDelivery, error)
	ReplayDeadLetter(ctx context.Context, id int64) error
}

// AlertTester sends a test message to a sink of the alerting config in
// force (controlplane.AlertingLoader).
type AlertTester interface {
	SendTest(ctx context.Context, sink string) (alerting.Message, error)
}

// Silences keeps the operators' silences (store.Silences).
type Silences interface {
	CreateSilence(ctx context.Context, s meridian.Silence) (meridian.Silence, error)
	ListSilences(ctx context.Context, f store.SilenceFilter) ([]meridian.Silence, error)
	ExpireSilence(ctx context.Context, id string) (meridian.Silence, error)
}

// maxListed bounds what one alert or dead-letter list reads from the
// store before paging.
const maxListed = 5000

func (s *Server) alertRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/alerts", s.handleAlertList)
	r.With(s.require(RoleOperator), s.toLeader).Post("/alerts/test", s.handleAlertTest)
	r.With(s.require(RoleViewer)).Get("/alerts/dead-letters", s.handleDeadLetterList)
	r.With(s.require(RoleOperator)).Post("/alerts/dead-letters/{id}/replay", s.handleDeadLetterReplay)
	s.silenceRoutes(r)
}

// errNoAlerting answers alert routes of a server without a dispatcher.
var errNoAlerting = meridian.Errorf(meridian.EUNAVAILABLE, "alerting is not configured on this server")

// handleAlertList lists the repo's alerts, the most recently changed
// first, filtered by ?state=firing|resolved|silenced.
func (s *Server) handleAlertList(w http.ResponseWriter, r *http.Request) {
	if s.opts.Alerts == nil {
		s.writeError(w, r, errNoAlerting)
		return
	}
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	state := meridian.AlertState(r.URL.Query().Get("state"))
	if state != "" && !state.Valid() {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "state must be firing, resolved or silenced, got %q", clip(string(state))))
		return
	}
	as, err := s.opts.Alerts.ListAlerts(r.Context(), store.AlertFilter{State: state, RepoID: s.recon.RepoID(), Limit: min(p.limit(), maxListed)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(as, p))
}

type alertTestRequest struct {
	Sink string `json:"sink"`
}

// handleAlertTest sends a test message to a sink, at once (outside the
// outbox), and audits it.
func (s *Server) handleAlertTest(w http.ResponseWriter, r *http.Request) {
	if s.opts.AlertTester == nil {
		s.writeError(w, r, errNoAlerting)
		return
	}
	var req alertTestRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Sink == "" {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "sink: name the sink of alerting.yaml to test"))
		return
	}
	p, _ := principalFrom(r.Context())
	m, err := s.opts.AlertTester.SendTest(r.Context(), req.Sink)
	detail := "sink " + clip(req.Sink)
	if err != nil {
		s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "alert.test_failed", Detail: detail})
		s.writeError(w, r, err)
		return
	}
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "alert.test", Detail: detail + " key " + m.Key})
	writeJSON(w, http.StatusOK, map[string]string{"sink": req.Sink, "key": m.Key})
}

// deadLetterView is a delivery that gave up.
type deadLetterView struct {
	ID        int64     `json:"id"`
	Key       string    `json:"key"`
	Sink      string    `json:"sink"`
	Group     string    `json:"group"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Message is the alerting.Message that was not delivered.
	Message json.RawMessage `json:"message"`
}

func viewDeadLetter(d store.AlertDelivery) deadLetterView {
	return deadLetterView{ID: d.ID, Key: d.Key, Sink: d.Sink, Group: d.Group, Attempts: d.Attempts, LastError: d.LastError,
		CreatedAt: d.CreatedAt, Message: d.Message}
}

// handleDeadLetterList lists the dead letters, newest first.
func (s *Server) handleDeadLetterList(w http.ResponseWriter, r *http.Request) {
	if s.opts.Alerts == nil {
		s.writeError(w, r, errNoAlerting)
		return
	}
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ds, err := s.opts.Alerts.ListDeadLetters(r.Context(), min(p.limit(), maxListed))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mapList(pageOf(ds, p), viewDeadLetter))
}

// handleDeadLetterReplay requeues a dead letter with its message and
// idempotency key, and audits it.
func (s *Server) handleDeadLetterReplay(w http.ResponseWriter, r *http.Request) {
	if s.opts.Alerts == nil {
		s.writeError(w, r, errNoAlerting)
		return
	}
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "dead letter ID must be a positive integer, got %q", clip(chi.URLParam(r, "id"))))
		return
	}
	if err := s.opts.Alerts.ReplayDeadLetter(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalFrom(r.Context())
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "alert.replay", Detail: "dead letter " + strconv.FormatInt(id, 10)})
	writeJSON(w, http.StatusOK, map[string]int64{"replayed": id})
}
