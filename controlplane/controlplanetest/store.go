package controlplanetest

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Store is an in-memory store for the control plane and the server: it
// implements controlplane.Store and web.Store. The zero value is not
// usable; call NewStore. It keeps what the SQLite store keeps, with the
// same guarantees the suites in store/storetest check.
type Store struct {
	mu         sync.Mutex
	now        func() time.Time
	repos      map[string]store.Repo
	plans      map[string]store.PlanRecord
	pruned     map[string]store.PrunedPlan
	runs       map[string]store.Run
	audit      []store.AuditEvent
	locks      map[store.LockKey]store.Lock
	waiters    []store.LockWaiter
	ledger     []store.LedgerEntry
	drift      []meridian.DriftRecord
	driftEvent int64
	tokens     []store.Token
	deliveries map[string]store.Delivery
	comments   []store.PRComment
	approvals  []approval
	// PingErr, when set, is what Ping returns.
	PingErr error
}

// NewStore returns an empty store reading time from now (nil: time.Now).
func NewStore(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, repos: map[string]store.Repo{}, plans: map[string]store.PlanRecord{}, runs: map[string]store.Run{},
		locks: map[store.LockKey]store.Lock{}, deliveries: map[string]store.Delivery{}}
}

// Close implements the store's Close.
func (s *Store) Close() error { return nil }

// Ping implements web.Store: it fails with PingErr.
func (s *Store) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.PingErr
}

// EnsureRepo implements store.Repos.
func (s *Store) EnsureRepo(_ context.Context, r store.Repo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[r.ID]; !ok {
		r.CreatedAt = s.now()
		s.repos[r.ID] = r
	}
	return nil
}

// GetRepo implements store.Repos.
func (s *Store) GetRepo(_ context.Context, id string) (store.Repo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[id]
	if !ok {
		return r, store.NotFound("repo", id)
	}
	return r, nil
}

// SavePlan implements store.Plans.
func (s *Store) SavePlan(_ context.Context, p store.PlanRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now()
	}
	s.plans[p.ID] = p
	return nil
}

// GetPlan implements store.Plans.
func (s *Store) GetPlan(_ context.Context, id string) (store.PlanRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.plans[id]
	if pp, pruned := s.pruned[id]; !ok && pruned {
		return p, &store.PlanPrunedError{Plan: pp}
	}
	if !ok {
		return p, store.NotFound("plan", id)
	}
	return p, nil
}

// PrunePlan deletes a plan as retention does, leaving its tombstone, for
// tests of what pruned plans look like (the SQL stores decide what to
// prune; store/storetest checks them).
func (s *Store) PrunePlan(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.plans[id]
	delete(s.plans, id)
	if s.pruned == nil {
		s.pruned = map[string]store.PrunedPlan{}
	}
	s.pruned[id] = store.PrunedPlan{ID: id, RepoID: p.RepoID, Ref: p.Ref, Commit: p.Commit, CreatedAt: p.CreatedAt, PrunedAt: s.now()}
}

// ListPlans implements store.Plans.
func (s *Store) ListPlans(_ context.Context, repoID string, limit int) ([]store.PlanRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.PlanRecord
	for _, p := range s.plans {
		if repoID == "" || p.RepoID == repoID {
			p.Document, p.Targets = nil, nil
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return head(out, limit), nil
}

func head[T any](xs []T, limit int) []T {
	if limit > 0 && len(xs) > limit {
		return xs[:limit]
	}
	return xs
}

// CreateRun implements store.Runs.
func (s *Store) CreateRun(_ context.Context, r store.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.runs[r.ID]; ok {
		return meridian.Errorf(meridian.ECONFLICT, "run %s exists", r.ID)
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = s.now()
	}
	r.Status = store.RunRunning
	s.runs[r.ID] = r
	return nil
}

// FinishRun implements store.Runs (fences are not checked: the in-memory
// store has no locks of its own beyond what tests put in).
func (s *Store) FinishRun(_ context.Context, id string, _ *store.Fence, f store.RunFinish) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return store.NotFound("run", id)
	}
	if r.Status != store.RunRunning {
		return store.ErrRunNotRunning
	}
	r.Status, r.FinishedAt, r.Output, r.Error, r.Detail = f.Status, s.now(), f.Output, f.Error, f.Detail
	if f.PlanID != "" {
		r.PlanID = f.PlanID
	}
	s.runs[id] = r
	return nil
}

// GetRun implements store.Runs.
func (s *Store) GetRun(_ context.Context, id string) (store.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return r, store.NotFound("run", id)
	}
	return r, nil
}

// ListRuns implements store.Runs.
func (s *Store) ListRuns(_ context.Context, f store.RunFilter) ([]store.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Run
	for _, r := range s.runs {
		if eq(f.RepoID, r.RepoID) && eq(f.PlanID, r.PlanID) && eq(f.ParentID, r.ParentID) && eq(f.Target, r.Target) && eq(string(f.Kind), string(r.Kind)) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.After(out[j].StartedAt)
		}
		return out[i].ID < out[j].ID
	})
	return head(out, f.Limit), nil
}

func eq(want, got string) bool { return want == "" || want == got }

// AppendAudit implements store.Audit.
func (s *Store) AppendAudit(_ context.Context, e store.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.At.IsZero() {
		e.At = s.now()
	}
	e.ID = int64(len(s.audit) + 1)
	s.audit = append(s.audit, e)
	return nil
}

// ListAudit implements store.Audit.
func (s *Store) ListAudit(_ context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.AuditEvent
	for _, e := range s.audit {
		if eq(f.RepoID, e.RepoID) && eq(f.Action, e.Action) && eq(f.Target, e.Target) {
			out = append(out, e)
		}
	}
	return head(out, f.Limit), nil
}

// PutLock makes a lock held, for tests.
func (s *Store) PutLock(l store.Lock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locks[l.Key] = l
}

// ListLocks implements web.Store (LockStore).
func (s *Store) ListLocks(_ context.Context, repoID string) ([]store.Lock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Lock
	for _, l := range s.locks {
		if eq(repoID, l.Key.RepoID) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.Target < out[j].Key.Target })
	return out, nil
}

// PutWaiter queues a run for a lock, for tests: this store's AcquireLock
// does not queue.
func (s *Store) PutWaiter(w store.LockWaiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters = append(s.waiters, w)
}

// ListLockWaiters implements web.Store (LockStore): the waiters PutWaiter
// queued, in the order it queued them.
func (s *Store) ListLockWaiters(_ context.Context, repoID string) ([]store.LockWaiter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.LockWaiter
	for _, w := range s.waiters {
		if repoID == "" || w.Key.RepoID == repoID {
			out = append(out, w)
		}
	}
	return out, nil
}

// ForceUnlock implements web.Store (LockStore), auditing like the real store.
func (s *Store) ForceUnlock(_ context.Context, key store.LockKey, actor, reason string) (store.Lock, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locks[key]
	if !ok {
		return l, false, nil
	}
	delete(s.locks, key)
	s.audit = append(s.audit, store.AuditEvent{ID: int64(len(s.audit) + 1), At: s.now(), RepoID: key.RepoID, Actor: actor,
		Action: "lock.force_unlock", Target: key.Target, RunID: l.RunID, Detail: reason})
	return l, true, nil
}

// SetLedger replaces the ledger, for tests.
func (s *Store) SetLedger(es []store.LedgerEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger = slices.Clone(es)
}

// LedgerEntries implements controlplane.Store.
func (s *Store) LedgerEntries(_ context.Context, repoID string) ([]store.LedgerEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.LedgerEntry
	for _, e := range s.ledger {
		if eq(repoID, e.RepoID) {
			out = append(out, e)
		}
	}
	return out, nil
}

// CreateToken implements web.Store (Tokens).
func (s *Store) CreateToken(_ context.Context, t store.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.tokens {
		if x.ID == t.ID || x.Hash == t.Hash {
			return meridian.Errorf(meridian.ECONFLICT, "token %s exists", t.ID)
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	s.tokens = append(s.tokens, t)
	return nil
}

// TokenByHash implements web.Store (Tokens).
func (s *Store) TokenByHash(_ context.Context, hash string) (store.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.Hash == hash {
			return t, nil
		}
	}
	return store.Token{}, store.NotFound("token", "(by hash)")
}

// ListTokens implements web.Store (Tokens).
func (s *Store) ListTokens(context.Context) ([]store.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens), nil
}

// RevokeToken implements web.Store (Tokens).
func (s *Store) RevokeToken(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.tokens {
		if s.tokens[i].ID == id {
			if s.tokens[i].RevokedAt.IsZero() {
				s.tokens[i].RevokedAt = at.UTC()
			}
			return nil
		}
	}
	return store.NotFound("token", id)
}

// TouchToken implements web.Store (Tokens).
func (s *Store) TouchToken(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.tokens {
		if s.tokens[i].ID == id {
			s.tokens[i].LastUsedAt = at.UTC()
		}
	}
	return nil
}

// ClaimDelivery implements web.Store (Deliveries).
func (s *Store) ClaimDelivery(_ context.Context, d store.Delivery) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.deliveries[d.ID]; ok && old.Status != store.DeliveryFailed {
		return false, nil
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = s.now()
	}
	d.ReceivedAt = d.ReceivedAt.UTC()
	d.Status, d.RunID, d.Error = store.DeliveryReceived, "", ""
	s.deliveries[d.ID] = d
	return true, nil
}

// FinishDelivery implements web.Store (Deliveries).
func (s *Store) FinishDelivery(_ context.Context, id, status, runID, errMsg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[id]
	if !ok {
		return store.NotFound("delivery", id)
	}
	d.Status, d.RunID, d.Error = status, runID, errMsg
	s.deliveries[id] = d
	return nil
}

// GetDelivery implements web.Store (Deliveries).
func (s *Store) GetDelivery(_ context.Context, id string) (store.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[id]
	if !ok {
		return d, store.NotFound("delivery", id)
	}
	return d, nil
}

// CountDeliveries implements web.Store (Deliveries).
func (s *Store) CountDeliveries(context.Context) (map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, d := range s.deliveries {
		out[d.Status]++
	}
	return out, nil
}

// LastComment implements controlplane.Store (Comments).
func (s *Store) LastComment(_ context.Context, repoID string, pr int) (store.PRComment, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best store.PRComment
	found := false
	for _, c := range s.comments {
		if c.RepoID == repoID && c.PR == pr && (!found || !c.PostedAt.Before(best.PostedAt)) {
			best, found = c, true
		}
	}
	return best, found, nil
}

// RecordComment implements controlplane.Store (Comments).
func (s *Store) RecordComment(_ context.Context, c store.PRComment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.PostedAt.IsZero() {
		c.PostedAt = s.now()
	}
	c.PostedAt = c.PostedAt.UTC()
	for i, x := range s.comments {
		if x.RepoID == c.RepoID && x.PR == c.PR && x.PlanID == c.PlanID {
			s.comments = append(s.comments[:i], s.comments[i+1:]...)
			break
		}
	}
	s.comments = append(s.comments, c)
	return nil
}
