package dashboard

import (
	"cmp"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// Page sizes of the placements list.
const (
	DefaultPerPage = 50
	MaxPerPage     = 500
)

// Columns the placements list sorts by.
var Columns = []string{"workload", "target", "team", "provider", "jurisdiction", "replicas", "cost", "runner_up", "extra", "why"}

// Query selects a page of a plan's placements. Zero values mean no
// filter, sort by workload ascending, the first page of DefaultPerPage.
type Query struct {
	Team, Provider, Target, Jurisdiction string
	// Search matches workload names containing it, case-insensitively.
	Search string
	Sort   string
	Desc   bool
	// Page counts from 1.
	Page, PerPage int
}

// Normalize clamps q's page and size and drops an unknown sort column.
func (q Query) Normalize() Query {
	if !slices.Contains(Columns, q.Sort) {
		q.Sort = "workload"
	}
	if q.PerPage <= 0 {
		q.PerPage = DefaultPerPage
	}
	q.PerPage = min(q.PerPage, MaxPerPage)
	q.Page = max(q.Page, 1)
	return q
}

// Result is one page of placements.
type Result struct {
	Query Query
	Rows  []Row
	// Matched counts every row that passes the filters; Pages is how many
	// pages they fill (at least 1).
	Matched, Pages int
}

// Placements filters, sorts and pages the plan's placements.
func (s *Summary) Placements(q Query) Result {
	q = q.Normalize()
	search := strings.ToLower(q.Search)
	var rows []Row
	for _, r := range s.rows {
		if match(q.Team, r.Team) && match(q.Provider, r.Provider) && match(q.Target, r.Target) && match(q.Jurisdiction, r.Jurisdiction) &&
			(search == "" || strings.Contains(strings.ToLower(r.Workload), search)) {
			rows = append(rows, r)
		}
	}
	by := compareBy(q.Sort)
	slices.SortStableFunc(rows, func(a, b Row) int {
		c := by(a, b)
		if q.Desc {
			c = -c
		}
		// Ties keep one order whatever the direction, so that pages do
		// not overlap.
		return cmp.Or(c, strings.Compare(a.Workload, b.Workload), strings.Compare(a.Target, b.Target))
	})
	res := Result{Query: q, Matched: len(rows), Pages: max(1, (len(rows)+q.PerPage-1)/q.PerPage)}
	if start := (q.Page - 1) * q.PerPage; start < len(rows) {
		res.Rows = rows[start:min(start+q.PerPage, len(rows))]
	}
	return res
}

func match(want, got string) bool { return want == "" || want == got }

func compareBy(col string) func(a, b Row) int {
	switch col {
	case "target":
		return func(a, b Row) int { return strings.Compare(a.Target, b.Target) }
	case "team":
		return func(a, b Row) int { return strings.Compare(a.Team, b.Team) }
	case "provider":
		return func(a, b Row) int { return strings.Compare(a.Provider, b.Provider) }
	case "jurisdiction":
		return func(a, b Row) int { return strings.Compare(a.Jurisdiction, b.Jurisdiction) }
	case "replicas":
		return func(a, b Row) int { return cmp.Compare(a.Replicas, b.Replicas) }
	case "cost":
		return func(a, b Row) int { return cmpMoney(a.MonthlyCost, b.MonthlyCost) }
	case "runner_up":
		return func(a, b Row) int { return strings.Compare(a.RunnerUp, b.RunnerUp) }
	case "extra":
		return func(a, b Row) int { return cmpMoney(a.RunnerUpExtra, b.RunnerUpExtra) }
	case "why":
		return func(a, b Row) int { return strings.Compare(a.Reason, b.Reason) }
	}
	return func(a, b Row) int { return strings.Compare(a.Workload, b.Workload) }
}

// cmpMoney compares at the cent, as the table shows the amounts.
func cmpMoney(a, b meridian.Money) int { return cmp.Compare(a.Round(), b.Round()) }
