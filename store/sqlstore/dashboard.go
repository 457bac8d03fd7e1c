package sqlstore

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian"
)

// CountOpenDrift counts a repo's open drift records, for the dashboard's
// overview: one indexed count instead of listing every record.
func (s *DB) CountOpenDrift(ctx context.Context, repoID string) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM drift_records WHERE repo_id = ? AND cleared_at IS NULL`, repoID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count open drift: %w", err)
	}
	return n, nil
}

// CountFindings counts a branch's finding records in one state, by
// severity.
func (s *DB) CountFindings(ctx context.Context, repoID, branch string, state meridian.FindingState) (map[meridian.Severity]int, error) {
	rows, err := s.query(ctx, `SELECT severity, COUNT(*) FROM finding_records WHERE repo_id = ? AND branch = ? AND state = ? GROUP BY severity`,
		repoID, branch, string(state))
	if err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	defer rows.Close()
	out := map[meridian.Severity]int{}
	for rows.Next() {
		var sev string
		var n int
		if err := rows.Scan(&sev, &n); err != nil {
			return nil, fmt.Errorf("count findings: %w", err)
		}
		out[meridian.Severity(sev)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	return out, nil
}
