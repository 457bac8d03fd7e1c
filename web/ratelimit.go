package web

import (
	clist "container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedClients bounds the failure limiter's memory: past it, the
// client whose last failure is oldest is forgotten. A client spread over
// more addresses than this escapes the limit either way.
const maxTrackedClients = 10000

// failureLimiter counts failed authentications per client IP with a token
// bucket: a client may fail burst times, then once per every. It limits
// failures only: callers check credentials first, let valid ones through
// even from a limited IP (a valid token or signature is never guessed, so
// there is nothing to slow down), and answer a limited client's failures
// with 429 instead of 401, which spares the audit log a row per attempt.
type failureLimiter struct {
	every time.Duration
	burst int
	max   int
	now   func() time.Time

	mu        sync.Mutex
	clients   map[string]*clist.Element // of *failures
	order     *clist.List               // least recently failed first
	lastSweep time.Time
}

type failures struct {
	ip  string
	lim *rate.Limiter
	// audited is when the client was last written to the audit log as
	// rate-limited, so that a flood leaves one line per window.
	audited time.Time
}

func newFailureLimiter(every time.Duration, burst int, now func() time.Time) *failureLimiter {
	return &failureLimiter{every: every, burst: burst, max: maxTrackedClients, now: now,
		clients: map[string]*clist.Element{}, order: clist.New()}
}

// blocked reports whether ip has no failures left, and how long until it
// has one.
func (l *failureLimiter) blocked(ip string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.clients[ip]
	if e == nil {
		return 0, false
	}
	f := e.Value.(*failures)
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
	e := l.clients[ip]
	if e == nil {
		e = l.order.PushBack(&failures{ip: ip, lim: rate.NewLimiter(rate.Every(l.every), l.burst)})
		l.clients[ip] = e
		for l.order.Len() > l.max {
			oldest := l.order.Front()
			delete(l.clients, oldest.Value.(*failures).ip)
			l.order.Remove(oldest)
		}
	} else {
		l.order.MoveToBack(e)
	}
	e.Value.(*failures).lim.AllowN(now, 1)
}

// tracked is how many clients the limiter remembers.
func (l *failureLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// shouldAudit reports whether a refused request from ip should be audited:
// once per refill period.
func (l *failureLimiter) shouldAudit(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.clients[ip]
	now := l.now()
	if e == nil {
		return false
	}
	f := e.Value.(*failures)
	if now.Sub(f.audited) < l.every {
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
	for ip, e := range l.clients {
		if e.Value.(*failures).lim.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, ip)
			l.order.Remove(e)
		}
	}
}
