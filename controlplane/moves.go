package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/meridianhq/meridian"
	"log/slog"
	"strings"
	"time"

	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
)

// MoveStore is gitops/deploy's MoveStore on the store's moves records, so
// that a make-before-break move outlives the meridian process that started
// it. The store knows nothing of package deploy: the fields it has no
// column for travel in the record's JSON detail.
type MoveStore struct {
	st  store.Moves
	rec *Recorder
	log *slog.Logger
	// fence, when set, is the deploy lock the saves must still hold.
	fence *store.Fence
}

// WithFence returns a MoveStore whose saves fail with store.ErrLockLost,
// writing nothing, once fence no longer holds its lock: the apply's
// deploy lock (store.DeployLockTarget), so that a deploy step that lost
// it cannot overwrite the moves of the apply that took it over.
func (s MoveStore) WithFence(f store.Fence) MoveStore {
	s.fence = &f
	return s
}

// WithRecorder returns a MoveStore that also records move.started and
// move.completed events (rec nil: none), logging to log those it cannot
// write.
func (s MoveStore) WithRecorder(rec *Recorder, log *slog.Logger) MoveStore {
	s.rec, s.log = rec, log
	return s
}

// NewMoveStore returns a deploy.MoveStore keeping moves in st.
func NewMoveStore(st store.Moves) MoveStore { return MoveStore{st: st} }

var _ deploy.MoveStore = MoveStore{}

// moveDetail is the part of a deploy.Move kept in store.Move.Detail.
type moveDetail struct {
	AddCommit string    `json:"add_commit,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"last_error,omitempty"`
}

// LoadMoves implements deploy.MoveStore.
func (s MoveStore) LoadMoves(ctx context.Context, scope string) ([]deploy.Move, error) {
	recs, err := s.st.LoadMoves(ctx, scope)
	if err != nil {
		return nil, err
	}
	out := make([]deploy.Move, 0, len(recs))
	for _, r := range recs {
		var d moveDetail
		if len(r.Detail) > 0 {
			if err := json.Unmarshal(r.Detail, &d); err != nil {
				return nil, fmt.Errorf("move of %s in %s: detail: %w", r.Workload, scope, err)
			}
		}
		out = append(out, deploy.Move{Workload: r.Workload, From: r.From, To: r.To, Phase: deploy.MovePhase(r.State),
			PlanID: r.PlanID, AddCommit: d.AddCommit, Since: d.Since, Attempts: d.Attempts, LastError: d.LastError})
	}
	return out, nil
}

// SaveMoves implements deploy.MoveStore.
func (s MoveStore) SaveMoves(ctx context.Context, scope string, moves []deploy.Move) error {
	recs := make([]store.Move, 0, len(moves))
	for _, m := range moves {
		d, err := json.Marshal(moveDetail{AddCommit: m.AddCommit, Since: m.Since, Attempts: m.Attempts, LastError: m.LastError})
		if err != nil {
			return fmt.Errorf("move of %s: %w", m.Workload, err)
		}
		recs = append(recs, store.Move{Scope: scope, Workload: m.Workload, From: m.From, To: m.To,
			PlanID: m.PlanID, State: string(m.Phase), Detail: d})
	}
	var before []store.Move
	if s.rec != nil {
		var err error
		if before, err = s.st.LoadMoves(ctx, scope); err != nil {
			return err
		}
	}
	save := s.st.SaveMoves
	if s.fence != nil {
		save = func(ctx context.Context, scope string, recs []store.Move) error {
			return s.st.SaveMovesFenced(ctx, *s.fence, scope, recs)
		}
	}
	if err := save(ctx, scope, recs); err != nil {
		return err
	}
	s.recordMoves(ctx, scope, before, recs)
	return nil
}

// recordMoves records a move.started for each move that SaveMoves added
// and a move.completed for each it dropped: deploy drops a move once its
// old placement is gone.
func (s MoveStore) recordMoves(ctx context.Context, scope string, before, after []store.Move) {
	if s.rec == nil {
		return
	}
	key := func(m store.Move) string {
		return m.Workload + "\x00" + strings.Join(m.From, ",") + "\x00" + strings.Join(m.To, ",")
	}
	was := make(map[string]bool, len(before))
	for _, m := range before {
		was[key(m)] = true
	}
	is := make(map[string]bool, len(after))
	var evs []meridian.Event
	for _, m := range after {
		is[key(m)] = true
		if !was[key(m)] {
			evs = append(evs, moveEvent(meridian.EventMoveStarted, scope, m))
		}
	}
	for _, m := range before {
		if !is[key(m)] {
			evs = append(evs, moveEvent(meridian.EventMoveCompleted, scope, m))
		}
	}
	if len(evs) == 0 {
		return
	}
	if _, err := s.rec.Record(context.WithoutCancel(ctx), evs...); err != nil {
		// The moves are saved; only their events are missing.
		s.log.ErrorContext(ctx, "record move events", "scope", scope, "err", err)
	}
}

func moveEvent(t meridian.EventType, scope string, m store.Move) meridian.Event {
	payload, _ := json.Marshal(struct {
		From []string `json:"from"`
		To   []string `json:"to"`
	}{m.From, m.To})
	return meridian.Event{Type: t, RepoID: scope, Workload: m.Workload, Target: strings.Join(m.To, ","), PlanID: m.PlanID, Payload: payload}
}
