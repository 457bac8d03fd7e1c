package store

import (
	"context"
	"encoding/json"
	"time"
)

// Moves keeps the GitOps output's make-before-break moves between applies,
// so that a restarted Meridian resumes a move instead of forgetting the old
// placement the deploy repo still holds for it. A scope names one deploy
// repository, branch and path; the store treats it as an opaque key.
type Moves interface {
	// LoadMoves returns the moves saved for scope, ordered by workload. No
	// moves is an empty result, not an error.
	LoadMoves(ctx context.Context, scope string) ([]Move, error)
	// SaveMoves replaces every move saved for scope with moves, in one
	// transaction: after a crash the store holds either the old set or the
	// new one. A workload's CreatedAt is kept across saves; UpdatedAt is
	// the store's clock. Two moves of one workload are an EINVALID error.
	SaveMoves(ctx context.Context, scope string, moves []Move) error
	// SaveMovesFenced is SaveMoves for a writer that holds a lock (an
	// apply's deploy lock, DeployLockTarget): it fails with ErrLockLost,
	// writing nothing, unless fence still holds its lock, checked in the
	// same transaction.
	SaveMovesFenced(ctx context.Context, fence Fence, scope string, moves []Move) error
}

// Move is one workload's make-before-break move between targets: its old
// placements (From) stay in the deploy repo until the new ones (To) are
// confirmed running. gitops/deploy defines what State and Detail hold; the
// CLI maps its moves to this record.
type Move struct {
	Scope    string
	Workload string
	// From and To are target names (DNS labels, so never with commas).
	From []string
	To   []string
	// PlanID is the plan that started the move.
	PlanID string
	// State is the move's phase (gitops/deploy: adding, waiting).
	State string
	// Detail is the rest of the move as a JSON object, opaque to the store.
	Detail    json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}
