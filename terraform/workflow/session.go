package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Source is the config repo a session works on, as loaded.
type Source struct {
	// Source is the directory or URL (without credentials); the repo ID is
	// derived from it.
	Source string
	Ref    string
	Commit string
	Dirty  bool
	// TreeDigest is TreeDigest of the loaded files.
	TreeDigest string
}

// RepoID is the ID every stored row of this repo carries.
func (s Source) RepoID() string { return store.RepoID(s.Source) }

// Mode says what a session does when a target's lock is held.
type Mode int

// Session modes.
const (
	// ModeApply needs every lock: a held one fails the session (after
	// Options.LockTimeout) with a *store.LockHeldError.
	ModeApply Mode = iota
	// ModePlan skips a target whose lock is held and says so in the plan:
	// a pull-request check must not fail because an apply is running.
	ModePlan
)

// Session is one command's work on one config repo. Close it.
type Session struct {
	w      *Workflow
	src    Source
	repoID string
	mode   Mode
	run    store.Run

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	wg     sync.WaitGroup

	closeOnce sync.Once

	mu     sync.Mutex
	planID string
	locks  map[string]store.Lock
	staged *staged // the Terraform side of the last PlanTerraform
	saved  bool    // SavePlan stored the plan
}

// Begin starts a session: it records the repo and a running run of kind.
func (w *Workflow) Begin(ctx context.Context, kind store.RunKind, src Source, mode Mode) (*Session, error) {
	s := &Session{w: w, src: src, repoID: src.RepoID(), mode: mode, locks: map[string]store.Lock{}, done: make(chan struct{})}
	if err := w.st.EnsureRepo(ctx, store.Repo{ID: s.repoID, Source: src.Source}); err != nil {
		return nil, err
	}
	s.run = store.Run{ID: newID(kind, time.Now()), RepoID: s.repoID, Kind: kind, Owner: w.opts.Owner, StartedAt: time.Now()}
	if err := w.st.CreateRun(ctx, s.run); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	s.wg.Add(1)
	go s.renew()
	return s, nil
}

// RunID is the session's run.
func (s *Session) RunID() string { return s.run.ID }

// Err is nil while the session holds its locks, and says why it stopped
// once it lost one (or was closed).
func (s *Session) Err() error {
	if s.ctx.Err() == nil {
		return nil
	}
	return context.Cause(s.ctx)
}

// RepoID is the config repo's ID.
func (s *Session) RepoID() string { return s.repoID }

// why returns err, or the reason the session stopped if it did: a store
// error saying "context canceled" should say which lock was lost.
func why(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
			return fmt.Errorf("%w (%v)", c, err)
		}
	}
	return err
}

// bind returns a context that ends when ctx ends or the session loses a
// lock, whichever comes first.
func (s *Session) bind(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.ctx, func() { cancel(context.Cause(s.ctx)) })
	return ctx, func() { stop(); cancel(context.Canceled) }
}

// renew extends every held lease every third of the TTL. Losing a lock
// (the lease expired and someone took over, or an operator unlocked it)
// cancels the session: its Terraform processes get an interrupt and its
// store writes are refused by the fence anyway.
func (s *Session) renew() {
	defer s.wg.Done()
	t := time.NewTicker(s.w.opts.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.mu.Lock()
		held := make([]store.Lock, 0, len(s.locks))
		for _, l := range s.locks {
			held = append(held, l)
		}
		s.mu.Unlock()
		for _, l := range held {
			nl, err := s.w.st.RenewLock(context.Background(), l.Fence(), s.w.opts.LeaseTTL)
			if err != nil {
				if errors.Is(err, store.ErrLockLost) {
					s.w.log.Error("lost target lock; stopping", "target", l.Key.Target, "run", s.run.ID, "err", err)
					s.cancel(fmt.Errorf("lost the lock on target %s: %w", l.Key.Target, err))
					return
				}
				s.w.log.Warn("renew target lock", "target", l.Key.Target, "err", err)
				continue
			}
			s.mu.Lock()
			if cur, ok := s.locks[l.Key.Target]; ok && cur.Token == nl.Token {
				s.locks[l.Key.Target] = nl
			}
			s.mu.Unlock()
		}
	}
}

// lock takes the target locks not held yet, in name order so that two
// waiting sessions cannot deadlock. In ModeApply a held lock fails the
// whole call and releases what it took; in ModePlan it is reported in
// skipped.
func (s *Session) lock(ctx context.Context, targets []string, planID string) (skipped map[string]error, err error) {
	sorted := append([]string(nil), targets...)
	sort.Strings(sorted)
	skipped = map[string]error{}
	var taken []string
	for _, t := range sorted {
		s.mu.Lock()
		_, have := s.locks[t]
		s.mu.Unlock()
		if have {
			continue
		}
		req := store.LockRequest{Key: store.LockKey{RepoID: s.repoID, Target: t}, Owner: s.w.opts.Owner, PlanID: planID, RunID: s.run.ID, TTL: s.w.opts.LeaseTTL}
		timeout := s.w.opts.LockTimeout
		switch {
		case t == store.DeployLockTarget:
			timeout = max(timeout, deployLockWait)
		case s.mode == ModePlan:
			timeout = 0
		}
		l, err := store.AcquireWait(ctx, s.w.st, req, store.WaitOptions{Timeout: timeout, OnWait: s.logWait})
		if err != nil {
			if s.mode == ModePlan && store.IsLockHeld(err) {
				skipped[t] = err
				continue
			}
			for _, t := range taken {
				s.unlock(t)
			}
			return nil, err
		}
		s.mu.Lock()
		s.locks[t] = l
		s.mu.Unlock()
		taken = append(taken, t)
	}
	return skipped, nil
}

// fence returns the session's fence on target.
func (s *Session) fence(target string) (store.Fence, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locks[target]
	return l.Fence(), ok
}

func (s *Session) unlock(target string) {
	s.mu.Lock()
	l, ok := s.locks[target]
	delete(s.locks, target)
	s.mu.Unlock()
	if !ok {
		return
	}
	if err := s.w.st.ReleaseLock(context.Background(), l.Fence()); err != nil {
		s.w.log.Warn("release target lock", "target", target, "err", err)
	}
}

// Close releases the session's locks and records its outcome. err is the
// command's result: nil is success; a *RefusedError is a refusal. Only the
// first call counts.
func (s *Session) Close(err error, detail any) {
	s.closeOnce.Do(func() { s.close(err, detail) })
}

func (s *Session) close(err error, detail any) {
	close(s.done)
	s.wg.Wait()
	s.mu.Lock()
	targets := make([]string, 0, len(s.locks))
	for t := range s.locks {
		targets = append(targets, t)
	}
	s.mu.Unlock()
	for _, t := range targets {
		s.unlock(t)
	}
	s.discardUnsaved()
	s.mu.Lock()
	fin := store.RunFinish{Status: store.RunSucceeded, PlanID: s.planID}
	s.mu.Unlock()
	var refused *RefusedError
	switch {
	case err == nil:
	case errors.As(err, &refused), store.IsLockHeld(err):
		fin.Status, fin.Error = store.RunRefused, err.Error()
	case errors.Is(err, ErrNotApproved):
		fin.Status, fin.Error = store.RunSkipped, err.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, store.ErrLockLost):
		fin.Status, fin.Error = store.RunInterrupted, err.Error()
	default:
		fin.Status, fin.Error = store.RunFailed, err.Error()
	}
	if detail != nil {
		if b, jerr := json.Marshal(detail); jerr == nil {
			fin.Detail = b
		}
	}
	if ferr := s.w.st.FinishRun(context.Background(), s.run.ID, nil, fin); ferr != nil {
		s.w.log.Warn("record run outcome", "run", s.run.ID, "err", ferr)
	}
	s.cancel(context.Canceled)
}

// audit appends an audit event for the session; failures are logged, as
// the store write that matters (the run) already happened.
func (s *Session) audit(ctx context.Context, action, target, planID, detail string) {
	err := s.w.st.AppendAudit(ctx, store.AuditEvent{RepoID: s.repoID, Actor: s.w.opts.Owner.Actor, Action: action,
		Target: target, PlanID: planID, RunID: s.run.ID, Detail: detail})
	if err != nil {
		s.w.log.Warn("audit", "action", action, "err", err)
	}
}

// ErrNotApproved is a plan the user declined to apply; it stays saved.
var ErrNotApproved = errors.New("apply not approved")

// RefusedError is a refusal to apply: the plan is stale or unusable. The
// CLI maps it to exit status 2.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

// Unwrap gives the error the ECONFLICT code.
func (e *RefusedError) Unwrap() error { return meridian.Errorf(meridian.ECONFLICT, "refused") }

// forEach runs fn on every item with at most n at once and waits.
func forEach[T any](n int, items []T, fn func(T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(it)
		}()
	}
	wg.Wait()
}
