package deploy

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MovePhase is where a make-before-break move stands.
type MovePhase string

// Phases of a Move. A finished move is deleted from the store.
const (
	// PhaseAdding: the commit that adds the new placements is being
	// written. Saved before that commit is published, so that a crash in
	// between can never lose track of the old placements.
	PhaseAdding MovePhase = "adding"
	// PhaseWaiting: the new placements are committed; the old ones are
	// removed once the new ones are Synced and Healthy in Argo CD, or, with
	// no Argo CD server configured, once deploy.move_grace has passed.
	PhaseWaiting MovePhase = "waiting"
)

// Move is one workload's make-before-break move in progress: From are kept
// in the deploy repo until every target in To is confirmed running.
type Move struct {
	Workload string    `json:"workload"`
	From     []string  `json:"from"`
	To       []string  `json:"to"`
	Phase    MovePhase `json:"phase"`
	// PlanID is the plan that started the move.
	PlanID string `json:"plan_id"`
	// AddCommit is the deploy repo commit that added To.
	AddCommit string `json:"add_commit,omitempty"`
	// Since is when To was committed; move_grace counts from here.
	Since time.Time `json:"since"`
	// Attempts counts the applies that waited for To without success.
	Attempts int `json:"attempts,omitempty"`
	// LastError is why the last wait did not complete the move.
	LastError string `json:"last_error,omitempty"`
}

// MoveStore keeps moves between applies, so that a restarted Meridian
// resumes a move instead of forgetting the old placement it still holds.
// Scope names one deploy branch and path (see Scope); a store may hold
// several. Implementations must be safe for concurrent use. Calls should
// not block beyond one round trip to the backing store.
type MoveStore interface {
	// LoadMoves returns the moves saved for scope, in any order. No moves
	// is an empty result, not an error.
	LoadMoves(ctx context.Context, scope string) ([]Move, error)
	// SaveMoves replaces every move saved for scope with moves, atomically:
	// after a crash the store holds either the old set or the new one.
	SaveMoves(ctx context.Context, scope string, moves []Move) error
}

// MemStore is an in-memory MoveStore for tests and for one-shot runs that
// need no resume. The zero value is ready to use.
type MemStore struct {
	mu    sync.Mutex
	moves map[string][]Move
}

// LoadMoves implements MoveStore.
func (s *MemStore) LoadMoves(_ context.Context, scope string) ([]Move, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneMoves(s.moves[scope]), nil
}

// SaveMoves implements MoveStore.
func (s *MemStore) SaveMoves(_ context.Context, scope string, moves []Move) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.moves == nil {
		s.moves = map[string][]Move{}
	}
	s.moves[scope] = cloneMoves(moves)
	return nil
}

func cloneMoves(ms []Move) []Move {
	out := make([]Move, len(ms))
	for i, m := range ms {
		m.From, m.To = slices.Clone(m.From), slices.Clone(m.To)
		out[i] = m
	}
	return out
}

// Scope is the MoveStore key of a deploy branch and path: the repository
// (without credentials), branch and path.
func Scope(repo, branch, path string) string { return repo + "#" + branch + ":" + path }
