package web

import (
	"context"
	"sync"
	"time"

	"github.com/meridianhq/meridian/store"
)

// memSessionStore keeps sessions and sign-in codes in memory, for a server
// whose store has no session tables: browsers sign in again after a
// restart. Expired entries are dropped whenever a new one is made.
type memSessionStore struct {
	mu       sync.Mutex
	sessions map[string]store.Session
	codes    map[string]store.LoginCode
}

func newMemSessionStore() *memSessionStore {
	return &memSessionStore{sessions: map[string]store.Session{}, codes: map[string]store.LoginCode{}}
}

func (m *memSessionStore) CreateSession(_ context.Context, ss store.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, x := range m.sessions {
		if !ss.CreatedAt.Before(x.ExpiresAt) {
			delete(m.sessions, h)
		}
	}
	m.sessions[ss.Hash] = ss
	return nil
}

func (m *memSessionStore) SessionByHash(_ context.Context, hash string) (store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ss, ok := m.sessions[hash]
	if !ok {
		return ss, store.NotFound("session", "(by hash)")
	}
	return ss, nil
}

func (m *memSessionStore) TouchSession(_ context.Context, hash string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ss, ok := m.sessions[hash]; ok {
		ss.LastSeenAt = at
		m.sessions[hash] = ss
	}
	return nil
}

func (m *memSessionStore) DeleteSession(_ context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, hash)
	return nil
}

func (m *memSessionStore) CreateLoginCode(_ context.Context, c store.LoginCode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, x := range m.codes {
		if !c.CreatedAt.Before(x.ExpiresAt) {
			delete(m.codes, h)
		}
	}
	m.codes[c.Hash] = c
	return nil
}

func (m *memSessionStore) ConsumeLoginCode(_ context.Context, hash string) (store.LoginCode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[hash]
	if !ok {
		return c, store.NotFound("sign-in code", "(by hash)")
	}
	delete(m.codes, hash)
	return c, nil
}
