package leadertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is what a Peer recorded of one request.
type Request struct {
	Path, Authorization, Cookie, ForwardedBy, Body string
}

// Peer is a real HTTP server standing for the replica a lease names as
// leader: it records every request and answers 201 {"id":"from-the-leader"}.
// A test points a lease at it to see what a follower forwards, or that it
// forwards nothing.
type Peer struct {
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string

	mu   sync.Mutex
	reqs []Request
}

// NewPeer starts a Peer, closed when the test ends.
func NewPeer(tb testing.TB) *Peer {
	tb.Helper()
	p := &Peer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.reqs = append(p.reqs, Request{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Cookie: r.Header.Get("Cookie"),
			// web.HeaderForwarded, spelled out: this package stays
			// below web.
			ForwardedBy: r.Header.Get("X-Meridian-Forwarded-By"), Body: string(b)})
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"from-the-leader"}`)
	}))
	tb.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Requests returns the requests received so far.
func (p *Peer) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}
