package controlplanetest

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// SyncDrift implements store.DriftRecords as store/sqlite does, carried
// records included. The events it returns are numbered by the fake alone:
// it keeps no event log.
func (s *Store) SyncDrift(_ context.Context, repoID string, engines []meridian.DriftEngine, current []meridian.DriftRecord) ([]meridian.Event, error) {
	if repoID == "" {
		return nil, meridian.Errorf(meridian.EINVALID, "sync drift: no repo")
	}
	for _, d := range current {
		if !slices.Contains(engines, d.Engine) {
			return nil, meridian.Errorf(meridian.EINVALID, "sync drift: %s drift on %s outside the engines checked (%v)", d.Engine, d.Resource, engines)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	seen := map[string]meridian.DriftRecord{}
	for _, d := range current {
		seen[d.Key()] = d
	}
	var evs []meridian.Event
	open := map[string]int{}
	for i, d := range s.drift {
		if d.RepoID != repoID || !d.ClearedAt.IsZero() {
			continue
		}
		open[d.Key()] = i
		cur, ok := seen[d.Key()]
		switch {
		case ok && cur.ID == d.ID: // carried over: left as it was
		case ok:
			s.drift[i].Action, s.drift[i].Expected, s.drift[i].Actual, s.drift[i].LastSeen = cur.Action, cur.Expected, cur.Actual, now
		case slices.Contains(engines, d.Engine):
			s.drift[i].ClearedAt = now
			evs = append(evs, s.driftEventLocked(meridian.EventDriftCleared, s.drift[i], now))
		}
	}
	for _, d := range current {
		if _, ok := open[d.Key()]; ok {
			continue
		}
		d.ID, d.RepoID, d.FirstSeen, d.LastSeen, d.ClearedAt = int64(len(s.drift)+1), repoID, now, now, time.Time{}
		open[d.Key()] = len(s.drift)
		s.drift = append(s.drift, d)
		evs = append(evs, s.driftEventLocked(meridian.EventDriftOpened, d, now))
	}
	// Opened before cleared, as the SQLite store writes them.
	slices.SortStableFunc(evs, func(a, b meridian.Event) int {
		return cmp.Compare(b.Type, a.Type)
	})
	return evs, nil
}

func (s *Store) driftEventLocked(typ meridian.EventType, d meridian.DriftRecord, now time.Time) meridian.Event {
	s.driftEvent++
	payload, _ := json.Marshal(d)
	return meridian.Event{ID: s.driftEvent, Type: typ, Time: now, RepoID: d.RepoID, Target: d.Target, Workload: d.Workload, Payload: payload}
}

// OpenDrift implements store.DriftRecords.
func (s *Store) OpenDrift(ctx context.Context, repoID string) ([]meridian.DriftRecord, error) {
	return s.ListDrift(ctx, store.DriftFilter{RepoID: repoID})
}

// ClearDrift implements store.DriftRecords.
func (s *Store) ClearDrift(_ context.Context, repoID string, ids []int64) ([]meridian.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	var evs []meridian.Event
	for i, d := range s.drift {
		if d.RepoID == repoID && d.ClearedAt.IsZero() && slices.Contains(ids, d.ID) {
			s.drift[i].ClearedAt = now
			evs = append(evs, s.driftEventLocked(meridian.EventDriftCleared, s.drift[i], now))
		}
	}
	return evs, nil
}

// ListDrift implements store.DriftRecords and web.Store, in the SQLite
// store's order: open records by engine, target, workload and resource,
// then cleared ones, newest first.
func (s *Store) ListDrift(_ context.Context, f store.DriftFilter) ([]meridian.DriftRecord, error) {
	if !f.State.Valid() {
		return nil, meridian.Errorf(meridian.EINVALID, "list drift: unknown state %q", f.State)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []meridian.DriftRecord
	for _, d := range s.drift {
		cleared := !d.ClearedAt.IsZero()
		switch {
		case (f.State == "" || f.State == store.DriftOpen) && cleared, f.State == store.DriftCleared && !cleared:
			continue
		}
		if eq(f.RepoID, d.RepoID) && eq(string(f.Engine), string(d.Engine)) && eq(f.Target, d.Target) && eq(f.Workload, d.Workload) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b meridian.DriftRecord) int {
		ac, bc := !a.ClearedAt.IsZero(), !b.ClearedAt.IsZero()
		switch {
		case ac != bc:
			if ac {
				return 1
			}
			return -1
		case ac:
			if c := b.ClearedAt.Compare(a.ClearedAt); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.Engine, b.Engine), cmp.Compare(a.Target, b.Target), cmp.Compare(a.Workload, b.Workload),
			cmp.Compare(a.Resource, b.Resource), cmp.Compare(b.ID, a.ID))
	})
	return head(out, f.Limit), nil
}
