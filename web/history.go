package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// HistoryStore is what the history routes read (store.History's event
// log, finding records and cost points) and what event retention prunes.
// store/sqlite implements it.
type HistoryStore interface {
	EventLog
	FindingRecords(ctx context.Context, f store.FindingFilter) ([]meridian.FindingRecord, error)
	CostHistory(ctx context.Context, f store.CostFilter) ([]meridian.CostPoint, error)
}

// initHistory sets up the history routes' store and the event feed. A
// Store that keeps history serves it unless Options.History names another;
// without either, the history routes answer 404 disabled.
func (s *Server) initHistory() {
	if s.opts.History == nil {
		s.opts.History, _ = s.st.(HistoryStore)
	}
	if s.opts.History == nil {
		return
	}
	fo := s.opts.Events
	if fo.Logger == nil {
		fo.Logger = s.log
	}
	if fo.Now == nil {
		fo.Now = s.now
	}
	if fo.RequestTimeout <= 0 {
		fo.RequestTimeout = s.opts.RequestTimeout
	}
	s.feed = NewEventFeed(s.opts.History, fo)
	s.feed.writeError = s.writeError
}

// errNoHistory answers the history routes of a server without a history
// store.
var errNoHistory = meridian.Errorf(EDISABLED, "this server keeps no history (its store has no event log)")

// NotifyEvents wakes the event streams: events up to lastID are
// committed. Pass it as controlplane.RecorderOptions.Notify. Without it,
// streams still see new events at their next poll (1s).
func (s *Server) NotifyEvents(lastID int64) {
	if s.feed != nil {
		s.feed.Notify(lastID)
	}
}

// EventFeed returns the server's event feed, to prune it (RunPruner) and
// to end its streams on shutdown (Close), or nil when the server keeps no
// history.
func (s *Server) EventFeed() *EventFeed { return s.feed }

// handleEvents serves the event feed (see EventFeed). It is registered
// outside the request timeout: a stream lasts as long as its client.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if s.feed == nil {
		s.writeError(w, r, errNoHistory)
		return
	}
	s.feed.ServeHTTP(w, r)
}

// handleFindingRecords lists the finding lifecycle records of the watched
// branch in ?state= (open, resolved or waived), filtered by ?rule=,
// ?severity=, ?workload=, ?target= and ?team=, ordered by fingerprint.
// ?source=live lists the live findings of the branch's audits instead
// (their records on controlplane.LiveBranch); ?source=config, as absent,
// the plans' findings.
func (s *Server) handleFindingRecords(w http.ResponseWriter, r *http.Request) {
	if s.opts.History == nil {
		s.writeError(w, r, errNoHistory)
		return
	}
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	state := meridian.FindingState(q.Get("state"))
	if !state.Valid() {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "state must be open, resolved or waived, got %q", clip(string(state))))
		return
	}
	sev := meridian.Severity(q.Get("severity"))
	if sev != "" && !sev.Valid() {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "severity must be deny, warn or info, got %q", clip(string(sev))))
		return
	}
	branches, err := s.findingBranches(q.Get("source"), s.recon.Branch())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, err := s.opts.History.FindingRecords(r.Context(), store.FindingFilter{
		RepoID: s.recon.RepoID(), Branch: branches[0], State: state, Rule: q.Get("rule"), Severity: sev,
		Workload: q.Get("workload"), Target: q.Get("target"), Team: q.Get("team"), Limit: p.limit(),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(recs, p))
}

// costHistoryView is the cost history of the watched branch along one
// dimension: what ran (applied) and what the branch's head would cost
// (planned), each a time series, oldest first.
type costHistoryView struct {
	GroupBy string             `json:"group_by"`
	Since   time.Time          `json:"since,omitzero"`
	Applied []costHistoryPoint `json:"applied"`
	Planned []costHistoryPoint `json:"planned"`
}

// costHistoryPoint is one plan's or apply's monthly cost.
type costHistoryPoint struct {
	Time   time.Time      `json:"time"`
	PlanID string         `json:"plan_id"`
	Commit string         `json:"commit"`
	Total  meridian.Money `json:"total"`
	// Values maps each value of the dimension (a target, a team, ...) to
	// its monthly cost; they sum to Total.
	Values map[string]meridian.Money `json:"values"`
}

// handleCostHistory returns the monthly cost of every plan and apply of
// the watched branch, by ?group_by= (target, provider, team, cost-center
// or env; default target), since ?since= (RFC 3339, YYYY-MM-DD or a
// duration back from now such as 720h; default all retained history),
// optionally of one ?kind= (planned or applied).
func (s *Server) handleCostHistory(w http.ResponseWriter, r *http.Request) {
	if s.opts.History == nil {
		s.writeError(w, r, errNoHistory)
		return
	}
	q := r.URL.Query()
	dim := meridian.CostDimension(q.Get("group_by"))
	if dim == "" {
		dim = meridian.CostByTarget
	}
	if !dim.Valid() {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "group_by must be target, provider, team, cost-center or env, got %q", clip(string(dim))))
		return
	}
	kind := meridian.CostKind(q.Get("kind"))
	if kind != "" && kind != meridian.CostPlanned && kind != meridian.CostApplied {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "kind must be planned or applied, got %q", clip(string(kind))))
		return
	}
	since, err := parseSince(q.Get("since"), s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	points, err := s.opts.History.CostHistory(r.Context(), store.CostFilter{
		RepoID: s.recon.RepoID(), Branch: s.recon.Branch(), Kind: kind, Dimension: dim, Since: since,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := costHistoryView{GroupBy: string(dim), Since: since, Applied: []costHistoryPoint{}, Planned: []costHistoryPoint{}}
	for _, p := range points {
		v := costHistoryPoint{Time: p.Time, PlanID: p.PlanID, Commit: p.Commit, Total: p.Total, Values: p.By[dim]}
		if v.Values == nil {
			v.Values = map[string]meridian.Money{}
		}
		if p.Kind == meridian.CostApplied {
			out.Applied = append(out.Applied, v)
		} else {
			out.Planned = append(out.Planned, v)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// parseSince reads ?since=: a time, a day (UTC midnight) or a duration
// back from now. Empty is the zero time: everything retained.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, meridian.Errorf(meridian.EINVALID, "since must be an RFC 3339 time, a date (YYYY-MM-DD) or a duration such as 720h, got %q", clip(s))
}
