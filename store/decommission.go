package store

import (
	"context"
	"time"
)

// Decommissions keeps what decommissioning needs beyond the ledger: the
// protect flag of each target as it was last applied, so that removing a
// protected target from the config does not unprotect it, and the consent
// given to destroy what left the config.
type Decommissions interface {
	// ForgetTarget removes a decommissioned target's ledger rows and its
	// applied-target row in one transaction, if fence still holds the
	// target's lock (ErrLockLost otherwise). Forgetting a target with no
	// rows is not an error.
	ForgetTarget(ctx context.Context, fence Fence) error
	// SaveProtection records, for each target of repoID in protect, whether
	// it is marked protect: true. Targets not in protect keep what was
	// recorded for them.
	SaveProtection(ctx context.Context, repoID string, protect map[string]bool) error
	// ProtectedTargets returns the targets of repoID recorded as protected,
	// sorted.
	ProtectedTargets(ctx context.Context, repoID string) ([]string, error)
	// AddDestroyApproval records a and returns it with ID and a zero At
	// filled in.
	AddDestroyApproval(ctx context.Context, a DestroyApproval) (DestroyApproval, error)
	// DestroyApprovals returns the approvals of repoID that are neither
	// used nor revoked, oldest first.
	DestroyApprovals(ctx context.Context, repoID string) ([]DestroyApproval, error)
	// SettlePRApprovals settles the open approvals of pull request pr when
	// it closes: merged with head mergedHead, those given on that head take
	// effect (MergedAt is set) and the others are revoked; closed without
	// merging (mergedHead empty), all are revoked. It returns how many took
	// effect.
	SettlePRApprovals(ctx context.Context, repoID string, pr int, mergedHead string) (int, error)
	// UseDestroyApprovals marks the approvals ids of repoID as used by the
	// apply of plan planID: an approval consents to one decommissioning,
	// not to every later one of the same name.
	UseDestroyApprovals(ctx context.Context, repoID string, ids []int64, planID string) error
}

// Ways a destroy approval is given (DestroyApproval.Via).
const (
	ApprovalPR  = "pull-request"
	ApprovalAPI = "api"
	// ApprovalCarried is consent an apply had, carried over by name to the
	// later applies that finish removing what it decommissioned (a removed
	// target's files that moves keep until their workloads run elsewhere).
	ApprovalCarried = "carried"
)

// DestroyApproval is consent to destroy the targets and workloads a plan
// decommissions. An approval given through the API covers its plan only;
// one given in a pull request covers its items in any plan of the watched
// branch once the pull request merged with the approved head.
type DestroyApproval struct {
	ID     int64
	RepoID string
	// PlanID is the plan the approval was given on.
	PlanID string
	// PR and Head are the pull request and the head commit approved; zero
	// for an approval through the API.
	PR   int
	Head string
	// Items are the keys (meridian.DestroyItem.Key) approved.
	Items []string
	Actor string
	// Via is ApprovalPR or ApprovalAPI.
	Via string
	At  time.Time
	// MergedAt is when the pull request merged with Head: a pull-request
	// approval takes effect then.
	MergedAt time.Time
}
