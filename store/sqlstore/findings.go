package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// FindingRecords implements store.Findings.
func (s *DB) FindingRecords(ctx context.Context, f store.FindingFilter) ([]meridian.FindingRecord, error) {
	var w where
	w.eq("repo_id", f.RepoID)
	w.eq("branch", f.Branch)
	w.eq("state", string(f.State))
	w.eq("rule", f.Rule)
	w.eq("severity", string(f.Severity))
	w.eq("workload", f.Workload)
	w.eq("target", f.Target)
	w.eq("team", f.Team)
	rows, err := s.query(ctx, `SELECT repo_id, branch, fingerprint, rule, severity, workload, target, field, resource, team,
		message, file, line, remediation, state, first_seen, last_seen, first_commit, last_commit, resolved_commit, resolved_at, waiver, note
		FROM finding_records`+w.String()+` ORDER BY repo_id, branch, fingerprint`+limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	defer rows.Close()
	var out []meridian.FindingRecord
	for rows.Next() {
		var r meridian.FindingRecord
		var severity, state, waiver string
		var first, last int64
		var resolved sql.NullInt64
		if err := rows.Scan(&r.RepoID, &r.Branch, &r.Fingerprint, &r.Rule, &severity, &r.Workload, &r.Target, &r.Field, &r.Resource, &r.Team,
			&r.Message, &r.File, &r.Line, &r.Remediation, &state, &first, &last, &r.FirstCommit, &r.LastCommit, &r.ResolvedCommit, &resolved, &waiver, &r.Note); err != nil {
			return nil, fmt.Errorf("list findings: %w", err)
		}
		r.Severity, r.State = meridian.Severity(severity), meridian.FindingState(state)
		r.FirstSeen, r.LastSeen, r.ResolvedAt = fromMS(first), fromMS(last), fromNullMS(resolved)
		if waiver != "" {
			r.Waiver = &meridian.FindingWaiver{}
			if err := json.Unmarshal([]byte(waiver), r.Waiver); err != nil {
				return nil, fmt.Errorf("list findings: %s: waiver: %w", r.Fingerprint, err)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	return out, nil
}

// SaveFindings implements store.Findings.
func (s *DB) SaveFindings(ctx context.Context, records []meridian.FindingRecord, events []meridian.Event) ([]meridian.Event, error) {
	for _, r := range records {
		if r.RepoID == "" || r.Fingerprint == "" || !r.State.Valid() {
			return nil, meridian.Errorf(meridian.EINVALID, "save findings: record %q of repo %q: needs a repo, a fingerprint and a state (got %q)", r.Fingerprint, r.RepoID, r.State)
		}
	}
	if err := store.CheckEvents(events); err != nil {
		return nil, err
	}
	var out []meridian.Event
	err := s.tx(ctx, func(tx *Tx) error {
		if err := saveFindings(ctx, tx, records); err != nil {
			return err
		}
		var err error
		out, err = appendEvents(ctx, tx, s.now(), events)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save findings: %w", err)
	}
	return out, nil
}

func saveFindings(ctx context.Context, tx *Tx, records []meridian.FindingRecord) error {
	for _, r := range records {
		var waiver string
		if r.Waiver != nil {
			b, err := json.Marshal(r.Waiver)
			if err != nil {
				return err
			}
			waiver = string(b)
		}
		var resolved sql.NullInt64
		if !r.ResolvedAt.IsZero() {
			resolved = sql.NullInt64{Int64: MS(r.ResolvedAt), Valid: true}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO finding_records (repo_id, branch, fingerprint, rule, severity, workload, target, field, resource, team,
			message, file, line, remediation, state, first_seen, last_seen, first_commit, last_commit, resolved_commit, resolved_at, waiver, note)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repo_id, branch, fingerprint) DO UPDATE SET
			  rule = excluded.rule, severity = excluded.severity, workload = excluded.workload, target = excluded.target,
			  field = excluded.field, resource = excluded.resource, team = excluded.team, message = excluded.message, file = excluded.file, line = excluded.line, remediation = excluded.remediation,
			  state = excluded.state, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
			  first_commit = excluded.first_commit, last_commit = excluded.last_commit,
			  resolved_commit = excluded.resolved_commit, resolved_at = excluded.resolved_at,
			  waiver = excluded.waiver, note = excluded.note`,
			r.RepoID, r.Branch, r.Fingerprint, r.Rule, string(r.Severity), r.Workload, r.Target, r.Field, r.Resource, r.Team,
			r.Message, r.File, r.Line, r.Remediation, string(r.State), MS(r.FirstSeen), MS(r.LastSeen), r.FirstCommit, r.LastCommit,
			r.ResolvedCommit, resolved, waiver, r.Note)
		if err != nil {
			return fmt.Errorf("finding %s: %w", r.Fingerprint, err)
		}
	}
	return nil
}
