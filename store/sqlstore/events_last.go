package sqlstore

import (
	"context"
	"fmt"
)

// LastEventID implements store.Events.
func (s *DB) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.queryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last event id: %w", err)
	}
	return id, nil
}
