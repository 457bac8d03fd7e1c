package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
)

// MoveStore is gitops/deploy's MoveStore on the store's moves records, so
// that a make-before-break move outlives the meridian process that started
// it. The store knows nothing of package deploy: the fields it has no
// column for travel in the record's JSON detail.
type MoveStore struct{ st store.Moves }

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
	return s.st.SaveMoves(ctx, scope, recs)
}
