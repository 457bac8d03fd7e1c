package controlplanetest

import (
	"context"
	"slices"

	"github.com/meridianhq/meridian/store"
)

// approval is a destroy approval and whether it was used or revoked.
type approval struct {
	store.DestroyApproval
	closed bool
}

// AddDestroyApproval implements controlplane.Approvals.
func (s *Store) AddDestroyApproval(_ context.Context, a store.DestroyApproval) (store.DestroyApproval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.ID = int64(len(s.approvals) + 1)
	if a.At.IsZero() {
		a.At = s.now()
	}
	a.Items = slices.Clone(a.Items)
	s.approvals = append(s.approvals, approval{DestroyApproval: a})
	return a, nil
}

// DestroyApprovals implements controlplane.Approvals.
func (s *Store) DestroyApprovals(_ context.Context, repoID string) ([]store.DestroyApproval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.DestroyApproval
	for _, a := range s.approvals {
		if a.RepoID == repoID && !a.closed {
			out = append(out, a.DestroyApproval)
		}
	}
	return out, nil
}

// SettlePRApprovals implements controlplane.Approvals.
func (s *Store) SettlePRApprovals(_ context.Context, repoID string, pr int, mergedHead string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.approvals {
		a := &s.approvals[i]
		if a.RepoID != repoID || a.PR != pr || a.closed || !a.MergedAt.IsZero() {
			continue
		}
		if mergedHead != "" && a.Head == mergedHead {
			a.MergedAt = s.now()
			n++
			continue
		}
		a.closed = true
	}
	return n, nil
}
