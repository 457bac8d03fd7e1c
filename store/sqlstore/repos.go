package sqlstore

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
	_, err := s.exec(ctx, `INSERT INTO repos (id, source, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Source, MS(s.now()))
	if err != nil {
		return fmt.Errorf("ensure repo %s: %w", r.Source, err)
	}
	return nil
}

// GetRepo implements store.Repos.
func (s *DB) GetRepo(ctx context.Context, id string) (store.Repo, error) {
	var r store.Repo
	var at int64
	err := s.queryRow(ctx, `SELECT id, source, created_at FROM repos WHERE id = ?`, id).Scan(&r.ID, &r.Source, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.NotFound("repo", id)
	}
	if err != nil {
		return r, fmt.Errorf("get repo %s: %w", id, err)
	}
	r.CreatedAt = fromMS(at)
	return r, nil
}
