package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/meridianhq/meridian/store"
)

// EnsureRepo implements store.Repos.
func (s *DB) EnsureRepo(ctx context.Context, r store.Repo) error {
	if r.ID == "" {
		r.ID = store.RepoID(r.Source)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO repos (id, source, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Source, ms2(s.now()))
	if err != nil {
		return fmt.Errorf("ensure repo %s: %w", r.Source, err)
	}
	return nil
}

// GetRepo implements store.Repos.
func (s *DB) GetRepo(ctx context.Context, id string) (store.Repo, error) {
	var r store.Repo
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT id, source, created_at FROM repos WHERE id = $1`, id).Scan(&r.ID, &r.Source, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.NotFound("repo", id)
	}
	if err != nil {
		return r, fmt.Errorf("get repo %s: %w", id, err)
	}
	r.CreatedAt = fromMS(at)
	return r, nil
}
