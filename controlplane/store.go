package controlplane

import (
	"context"

	"github.com/meridianhq/meridian/store"
)

// Store is what the reconciler reads and records: runs of failed syncs,
// saved plans and the ledger (for the "before" of a pull-request report),
// the audit log, and its pull-request comments. store/sqlite implements
// it; controlplanetest.Store is an in-memory implementation for tests.
// Implementations must be safe for concurrent use.
type Store interface {
	// GetPlan returns a saved plan, or an ENOTFOUND error.
	GetPlan(ctx context.Context, id string) (store.PlanRecord, error)
	store.Runs
	// AppendAudit records an audit event.
	AppendAudit(ctx context.Context, e store.AuditEvent) error
	// LedgerEntries reads the applied-state ledger of a repo.
	LedgerEntries(ctx context.Context, repoID string) ([]store.LedgerEntry, error)
	Comments
	Approvals
}

// Comments remembers the pull-request comments the server posted, so that
// it edits its one comment per pull request instead of adding another.
type Comments interface {
	// LastComment returns the newest comment recorded for pull request pr.
	LastComment(ctx context.Context, repoID string, pr int) (store.PRComment, bool, error)
	// RecordComment stores c, replacing the record for the same repo, pull
	// request and plan.
	RecordComment(ctx context.Context, c store.PRComment) error
}
