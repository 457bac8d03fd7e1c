package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// RecordCost implements store.Costs.
func (s *DB) RecordCost(ctx context.Context, p meridian.CostPoint) error {
	if p.RepoID == "" || (p.Kind != meridian.CostApplied && p.Kind != meridian.CostPlanned) {
		return meridian.Errorf(meridian.EINVALID, "record cost: needs a repo and a kind (applied or planned), got %q and %q", p.RepoID, p.Kind)
	}
	for d := range p.By {
		if !d.Valid() {
			return meridian.Errorf(meridian.EINVALID, "record cost: unknown dimension %q", d)
		}
	}
	if p.Time.IsZero() {
		p.Time = s.now()
	}
	err := s.tx(ctx, func(tx *Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO cost_points (repo_id, branch, kind, plan_id, commit_sha, at, total)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.RepoID, p.Branch, string(p.Kind), p.PlanID, p.Commit, MS(p.Time), float64(p.Total)).Scan(&id); err != nil {
			return err
		}
		for d, values := range p.By {
			for v, amount := range values {
				if _, err := tx.ExecContext(ctx, `INSERT INTO cost_values (point_id, dimension, value, amount) VALUES (?, ?, ?, ?)`,
					id, string(d), v, float64(amount)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record cost of plan %s: %w", p.PlanID, err)
	}
	return nil
}

// CostHistory implements store.Costs.
func (s *DB) CostHistory(ctx context.Context, f store.CostFilter) ([]meridian.CostPoint, error) {
	if f.Dimension != "" && !f.Dimension.Valid() {
		return nil, meridian.Errorf(meridian.EINVALID, "cost history: unknown dimension %q", f.Dimension)
	}
	// The join's placeholder comes first in the statement, so its argument
	// goes first.
	var w where
	join := `LEFT JOIN cost_values v ON v.point_id = p.id`
	if f.Dimension != "" {
		join += ` AND v.dimension = ?`
		w.args = append(w.args, string(f.Dimension))
	}
	w.eq("p.repo_id", f.RepoID)
	w.eq("p.branch", f.Branch)
	w.eq("p.kind", string(f.Kind))
	if !f.Since.IsZero() {
		w.add("p.at >= ?", MS(f.Since))
	}
	rows, err := s.query(ctx, `SELECT p.id, p.repo_id, p.branch, p.kind, p.plan_id, p.commit_sha, p.at, p.total, v.dimension, v.value, v.amount
		FROM cost_points p `+join+w.String()+` ORDER BY p.at, p.id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("cost history: %w", err)
	}
	defer rows.Close()
	var out []meridian.CostPoint
	lastID := int64(-1)
	for rows.Next() {
		var id, at int64
		var p meridian.CostPoint
		var kind string
		var total float64
		var dim, value sql.NullString
		var amount sql.NullFloat64
		if err := rows.Scan(&id, &p.RepoID, &p.Branch, &kind, &p.PlanID, &p.Commit, &at, &total, &dim, &value, &amount); err != nil {
			return nil, fmt.Errorf("cost history: %w", err)
		}
		if id != lastID {
			p.Kind, p.Time, p.Total = meridian.CostKind(kind), fromMS(at), meridian.Money(total)
			p.By = map[meridian.CostDimension]map[string]meridian.Money{}
			if f.Dimension != "" {
				// The dimension is there even when the plan placed nothing.
				p.By[f.Dimension] = map[string]meridian.Money{}
			}
			out = append(out, p)
			lastID = id
		}
		if dim.Valid {
			by := out[len(out)-1].By
			d := meridian.CostDimension(dim.String)
			if by[d] == nil {
				by[d] = map[string]meridian.Money{}
			}
			by[d][value.String] = meridian.Money(amount.Float64)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cost history: %w", err)
	}
	return out, nil
}
