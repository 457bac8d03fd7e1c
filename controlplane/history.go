package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/history"
	"github.com/meridianhq/meridian/store"
)

// HistoryStore is the part of store.History the Recorder writes.
// store/sqlite implements it. Every method commits its rows and their
// events in one transaction and returns the events with their IDs.
type HistoryStore interface {
	AppendEvents(ctx context.Context, evs []meridian.Event) ([]meridian.Event, error)
	FindingRecords(ctx context.Context, f store.FindingFilter) ([]meridian.FindingRecord, error)
	SaveFindings(ctx context.Context, records []meridian.FindingRecord, events []meridian.Event) ([]meridian.Event, error)
	RecordCost(ctx context.Context, p meridian.CostPoint) error
	SyncDrift(ctx context.Context, repoID string, engines []meridian.DriftEngine, current []meridian.DriftRecord) ([]meridian.Event, error)
	SyncConditions(ctx context.Context, repoID string, sources []meridian.AlertSource, current []meridian.ConditionRecord) ([]meridian.Event, error)
}

// RecorderOptions tunes a Recorder. Zero values mean the defaults.
type RecorderOptions struct {
	// Now is the clock (default time.Now). Waiver expiry is judged by it.
	Now func() time.Time
	// Notify is called with the newest event ID after every write that
	// appended events, so that live feeds wake at once instead of at their
	// next poll (web.Server.NotifyEvents). It must not block. Default: none;
	// feeds still see the events by polling the store.
	Notify func(lastID int64)
}

// Recorder turns what the reconcile loop does into history: the event
// feed, the finding lifecycle of each branch and the cost history. It is
// safe for concurrent use; it serializes the plans it records, since a
// finding transition reads the records the previous one wrote.
type Recorder struct {
	st     HistoryStore
	now    func() time.Time
	notify func(int64)

	planMu sync.Mutex
}

// NewRecorder returns a Recorder writing to st.
func NewRecorder(st HistoryStore, opts RecorderOptions) *Recorder {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Notify == nil {
		opts.Notify = func(int64) {}
	}
	return &Recorder{st: st, now: opts.Now, notify: opts.Notify}
}

// planCreated is the payload of a plan.created event.
type planCreated struct {
	TotalMonthlyCost meridian.Money `json:"total_monthly_cost"`
	Currency         string         `json:"currency"`
	Placements       int            `json:"placements"`
	Unplaceable      int            `json:"unplaceable"`
	Findings         int            `json:"findings"`
	Blocking         bool           `json:"blocking"`
}

// Planned records a plan of branch at commit, made from cfg: plan.created
// and the branch's finding transition (history.Transition) in one
// transaction, then the plan's planned cost point. It returns the events
// written. Call it for the plans of tracked branches only: a finding
// record is per branch, and a pull request's head is not a branch the
// control plane tracks.
//
// Recording the same plan twice is harmless for findings (nothing changes,
// no finding event) but adds a second plan.created and cost point: call it
// once per plan made.
func (r *Recorder) Planned(ctx context.Context, repoID, branch, commit string, cfg *meridian.Config, plan *meridian.Plan) ([]meridian.Event, error) {
	r.planMu.Lock()
	defer r.planMu.Unlock()
	now := r.now().UTC()
	prev, err := r.st.FindingRecords(ctx, store.FindingFilter{RepoID: repoID, Branch: branch})
	if err != nil {
		return nil, fmt.Errorf("record plan %s: %w", plan.ID, err)
	}
	records, events := history.Transition(prev, history.Input{
		RepoID: repoID, Branch: branch, Commit: commit, PlanID: plan.ID, Now: now,
		Findings: configFindings(plan.Findings), Waivers: cfg.Waivers, Teams: history.Teams(cfg),
	})
	payload, err := json.Marshal(planCreated{
		TotalMonthlyCost: plan.TotalMonthlyCost, Currency: plan.Currency, Placements: len(plan.Placements),
		Unplaceable: len(plan.Unplaceable), Findings: len(plan.Findings), Blocking: plan.Blocking(),
	})
	if err != nil {
		return nil, fmt.Errorf("record plan %s: %w", plan.ID, err)
	}
	// plan.created comes first, so that a feed reader sees the plan before
	// the findings it opened or resolved.
	created := meridian.Event{Type: meridian.EventPlanCreated, Time: now, RepoID: repoID, Branch: branch,
		Commit: commit, PlanID: plan.ID, Payload: payload}
	written, err := r.st.SaveFindings(ctx, records, append([]meridian.Event{created}, events...))
	if err != nil {
		return nil, fmt.Errorf("record plan %s: %w", plan.ID, err)
	}
	r.wake(written)
	p := history.PlanCost(cfg, plan, meridian.CostPlanned)
	p.RepoID, p.Branch, p.Time, p.Commit = repoID, branch, now, commit
	if err := r.st.RecordCost(ctx, p); err != nil {
		return written, fmt.Errorf("record plan %s: cost: %w", plan.ID, err)
	}
	return written, nil
}

// HistoryApply names one apply of a plan, for ApplyStarted and
// ApplyFinished.
type HistoryApply struct {
	RepoID string
	Branch string
	RunID  string
	// Config is the config the plan was made from (for the cost
	// breakdown's tags and providers); Plan is the plan applied.
	Config *meridian.Config
	Plan   *meridian.Plan
}

// applyPayload is the payload of the apply.* events.
type applyPayload struct {
	TotalMonthlyCost meridian.Money `json:"total_monthly_cost"`
	Error            string         `json:"error,omitempty"`
}

// maxEventError bounds an error's text in an event: the feed is for
// telling what happened, the run's record has the whole story.
const maxEventError = 1024

// ApplyStarted records apply.started.
func (r *Recorder) ApplyStarted(ctx context.Context, a HistoryApply) (meridian.Event, error) {
	ev, err := r.applyEvent(meridian.EventApplyStarted, a, nil)
	if err != nil {
		return meridian.Event{}, err
	}
	evs, err := r.Record(ctx, ev)
	if err != nil {
		return meridian.Event{}, err
	}
	return evs[0], nil
}

// ApplyFinished records how an apply ended. failure nil means every
// target applied: apply.succeeded and the plan's cost as the applied cost
// point, since it is now what runs. Otherwise apply.failed with failure's
// text (the caller passes an error fit to show, secrets redacted, as for
// a run's record); a partly failed apply records no applied cost, because
// what runs is then neither the old plan nor the new one.
func (r *Recorder) ApplyFinished(ctx context.Context, a HistoryApply, failure error) (meridian.Event, error) {
	typ := meridian.EventApplySucceeded
	if failure != nil {
		typ = meridian.EventApplyFailed
	}
	ev, err := r.applyEvent(typ, a, failure)
	if err != nil {
		return meridian.Event{}, err
	}
	evs, err := r.Record(ctx, ev)
	if err != nil {
		return meridian.Event{}, err
	}
	if failure == nil {
		p := history.PlanCost(a.Config, a.Plan, meridian.CostApplied)
		p.RepoID, p.Branch, p.Time = a.RepoID, a.Branch, ev.Time
		if err := r.st.RecordCost(ctx, p); err != nil {
			return evs[0], fmt.Errorf("record apply of %s: cost: %w", a.Plan.ID, err)
		}
	}
	return evs[0], nil
}

func (r *Recorder) applyEvent(typ meridian.EventType, a HistoryApply, failure error) (meridian.Event, error) {
	p := applyPayload{TotalMonthlyCost: a.Plan.TotalMonthlyCost}
	if failure != nil {
		p.Error = failure.Error()
		if len(p.Error) > maxEventError {
			p.Error = p.Error[:maxEventError] + "…"
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return meridian.Event{}, fmt.Errorf("%s: %w", typ, err)
	}
	return meridian.Event{Type: typ, Time: r.now().UTC(), RepoID: a.RepoID, Branch: a.Branch,
		Commit: a.Plan.Commit, PlanID: a.Plan.ID, RunID: a.RunID, Payload: b}, nil
}

// Drift records one drift check of repoID that covered engines, with the
// drift it found (see store.DriftRecords.SyncDrift): drift.opened for new
// drift, drift.cleared for drift of those engines no longer seen.
func (r *Recorder) Drift(ctx context.Context, repoID string, engines []meridian.DriftEngine, current []meridian.DriftRecord) ([]meridian.Event, error) {
	evs, err := r.st.SyncDrift(ctx, repoID, engines, current)
	if err != nil {
		return nil, fmt.Errorf("record drift of %s: %w", repoID, err)
	}
	r.wake(evs)
	return evs, nil
}

// Conditions records one check of repoID's watched conditions that
// covered sources, with the conditions it found (see
// store.Conditions.SyncConditions): condition.opened for new ones,
// condition.cleared for those of these sources no longer seen. Only the
// sources actually checked may be passed, so that a check that did not
// look never reads as "the condition is gone".
func (r *Recorder) Conditions(ctx context.Context, repoID string, sources []meridian.AlertSource, current []meridian.ConditionRecord) ([]meridian.Event, error) {
	evs, err := r.st.SyncConditions(ctx, repoID, sources, current)
	if err != nil {
		return nil, fmt.Errorf("record conditions of %s: %w", repoID, err)
	}
	r.wake(evs)
	return evs, nil
}

// Record appends events that no other record goes with (lock.acquired,
// lock.released, move.started, move.completed), in one transaction, and
// returns them with their IDs. A zero Time is the recorder's clock.
func (r *Recorder) Record(ctx context.Context, evs ...meridian.Event) ([]meridian.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	now := r.now().UTC()
	for i := range evs {
		if evs[i].Time.IsZero() {
			evs[i].Time = now
		}
	}
	out, err := r.st.AppendEvents(ctx, evs)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", evs[0].Type, err)
	}
	r.wake(out)
	return out, nil
}

// wake tells the live feeds about committed events.
func (r *Recorder) wake(evs []meridian.Event) {
	if len(evs) > 0 {
		r.notify(evs[len(evs)-1].ID)
	}
}

// configFindings leaves out the live findings a plan was given: they have
// records of their own on LiveBranch, which the audits move.
func configFindings(fs []meridian.Finding) []meridian.Finding {
	return slices.DeleteFunc(slices.Clone(fs), func(f meridian.Finding) bool { return f.Source == meridian.FindingSourceLive })
}
