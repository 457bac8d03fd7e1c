package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/meridianhq/meridian/store"
)

// Moves live in migration 2's moves table. Its repo_id holds the move's
// scope (the deploy repository, branch and path, which is what a move
// belongs to), from_target and to_target hold comma-separated target
// names (a move may span several targets; names are DNS labels), state the
// phase, and detail the rest of the move as JSON. The id is the scope and
// the workload, so a scope holds at most one move per workload.

// LoadMoves implements store.Moves.
func (s *DB) LoadMoves(ctx context.Context, scope string) ([]store.Move, error) {
	rows, err := s.query(ctx, `SELECT workload, from_target, to_target, plan_id, state, detail, created_at, updated_at
		FROM moves WHERE repo_id = ? ORDER BY workload`, scope)
	if err != nil {
		return nil, fmt.Errorf("load moves of %s: %w", scope, err)
	}
	defer rows.Close()
	out := []store.Move{}
	for rows.Next() {
		m := store.Move{Scope: scope}
		var from, to, detail string
		var created, updated int64
		if err := rows.Scan(&m.Workload, &from, &to, &m.PlanID, &m.State, &detail, &created, &updated); err != nil {
			return nil, fmt.Errorf("load moves of %s: %w", scope, err)
		}
		m.From, m.To = splitTargets(from), splitTargets(to)
		if detail != "" {
			m.Detail = json.RawMessage(detail)
		}
		m.CreatedAt, m.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load moves of %s: %w", scope, err)
	}
	return out, nil
}

// SaveMoves implements store.Moves.
func (s *DB) SaveMoves(ctx context.Context, scope string, moves []store.Move) error {
	return s.saveMoves(ctx, nil, scope, moves)
}

// SaveMovesFenced implements store.Moves.
func (s *DB) SaveMovesFenced(ctx context.Context, fence store.Fence, scope string, moves []store.Move) error {
	return s.saveMoves(ctx, &fence, scope, moves)
}

func (s *DB) saveMoves(ctx context.Context, fence *store.Fence, scope string, moves []store.Move) error {
	if err := store.CheckMoves(scope, moves); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx *Tx) error {
		if fence != nil {
			if err := checkFence(ctx, tx, *fence); err != nil {
				return err
			}
		}
		// Saves of one scope queue here, so that the second replaces the
		// first's set rather than colliding with its new rows.
		if err := s.d.lockScope(ctx, tx, scopeMoves+scope); err != nil {
			return err
		}
		created, err := createdAt(ctx, tx, scope)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM moves WHERE repo_id = ?`, scope); err != nil {
			return err
		}
		now := MS(s.now())
		for _, m := range moves {
			at, ok := created[m.Workload]
			if !ok {
				at = now
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO moves (id, repo_id, workload, from_target, to_target, plan_id, state, detail, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				moveID(scope, m.Workload), scope, m.Workload, strings.Join(m.From, ","), strings.Join(m.To, ","), m.PlanID, m.State, string(m.Detail), at, now)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save moves of %s: %w", scope, err)
	}
	return nil
}

// createdAt returns when each of scope's saved moves was first saved.
func createdAt(ctx context.Context, tx *Tx, scope string) (map[string]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT workload, created_at FROM moves WHERE repo_id = ?`, scope)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var w string
		var at int64
		if err := rows.Scan(&w, &at); err != nil {
			return nil, err
		}
		out[w] = at
	}
	return out, rows.Err()
}

// moveID is unique per (scope, workload): workload names hold no spaces,
// so the last space splits the two apart.
func moveID(scope, workload string) string { return scope + " " + workload }

func splitTargets(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}
