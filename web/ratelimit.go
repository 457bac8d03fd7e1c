package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// failureLimiter counts failed authentications per client IP with a token
// bucket: a client may fail burst times, then once per every; beyond that
// its requests are refused before their credentials are even checked, so
// that tokens and webhook secrets cannot be guessed at speed.
type failureLimiter struct {
	every time.Duration
	burst int
	now   func() time.Time

	mu        sync.Mutex
	clients   map[string]*failures
	lastSweep time.Time
}

type failures struct {
	lim *rate.Limiter
	// audited is when the client was last written to the audit log as
	// rate-limited, so that a flood leaves one line per window.
	audited time.Time
}

func newFailureLimiter(every time.Duration, burst int, now func() time.Time) *failureLimiter {
	return &failureLimiter{every: every, burst: burst, now: now, clients: map[string]*failures{}}
}

// blocked reports whether ip has no failures left, and how long until it
// has one.
func (l *failureLimiter) blocked(ip string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.clients[ip]
	if f == nil {
		return 0, false
	}
	now := l.now()
	if f.lim.TokensAt(now) >= 1 {
		return 0, false
	}
	r := f.lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return max(wait, time.Second), true
}

// fail records a failed authentication from ip.
func (l *failureLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	f := l.clients[ip]
	if f == nil {
		f = &failures{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.clients[ip] = f
	}
	f.lim.AllowN(now, 1)
}

// shouldAudit reports whether a refused request from ip should be audited:
// once per refill period.
func (l *failureLimiter) shouldAudit(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.clients[ip]
	now := l.now()
	if f == nil || now.Sub(f.audited) < l.every {
		return false
	}
	f.audited = now
	return true
}

// sweep forgets clients whose bucket is full again, at most once a minute.
func (l *failureLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for ip, f := range l.clients {
		if f.lim.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, ip)
		}
	}
}
