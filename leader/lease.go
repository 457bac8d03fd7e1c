package leader

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultTTL is the lease's length unless told otherwise: a new leader
// takes over at most this long after the old one last renewed.
const DefaultTTL = 15 * time.Second

// Why a leader stops leading, as the cause of its leader context.
var (
	// ErrLost: another replica holds the lease (this one's expired).
	ErrLost = errors.New("leader lease lost to another replica")
	// ErrUnrenewed: the lease could not be renewed in time (the database
	// is unreachable), so the leader stopped before it could expire.
	ErrUnrenewed = errors.New("leader lease could not be renewed before it expires")
	// ErrShutdown: the replica is shutting down.
	ErrShutdown = errors.New("the replica is shutting down")
	// errWorkEnded: the leader's work returned by itself.
	errWorkEnded = errors.New("the leader's work ended")
)

// Options tunes an Elector. Zero values mean the defaults.
type Options struct {
	// Name is the lease: the replicas with the same name elect one leader
	// among them (cmd/meridian names the config repo and branch).
	Name string
	// ID names this replica in the lease (default host/pid/random).
	ID string
	// Addr is the base URL at which the other replicas reach this one
	// while it leads, to forward what only the leader does (empty:
	// nowhere).
	Addr string
	// TTL is the lease's length (default DefaultTTL). The leader renews
	// it every TTL/3, retries a failed renewal every TTL/15, and steps
	// down when TTL-TTL/3 has passed since its last successful renewal
	// began: a third of the lease is the margin within which a leader cut
	// off from the database stops its work before another may start.
	TTL time.Duration
	// Publish returns what the leader publishes to the followers with
	// each renewal (cmd/meridian: its branch state); nil publishes
	// nothing.
	Publish func() []byte
	// Observe receives what the leader last published, whenever a
	// follower reads the lease.
	Observe func(state []byte)
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Elector takes part in the election of one lease on PostgreSQL (table
// leader_leases). Run it once per replica.
type Elector struct {
	db  *sql.DB
	o   Options
	log *slog.Logger
	// renewEvery, retryEvery and margin derive from the TTL (see
	// Options.TTL).
	renewEvery, retryEvery, margin time.Duration

	mu sync.Mutex
	st status
}

// status is what Status reports, as last seen.
type status struct {
	leading      bool
	term         int64
	holder, addr string
	// seenAt is when the lease was last read or renewed (local,
	// monotonic); age and remaining were the lease's then.
	seenAt         time.Time
	age, remaining time.Duration
	acquired, lost int
}

// New returns an Elector on db, a database that store/postgres has
// migrated.
func New(db *sql.DB, o Options) *Elector {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.ID == "" {
		o.ID = replicaID()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Publish == nil {
		o.Publish = func() []byte { return nil }
	}
	if o.Observe == nil {
		o.Observe = func([]byte) {}
	}
	return &Elector{db: db, o: o, log: o.Logger.With("lease", o.Name, "replica", o.ID),
		renewEvery: o.TTL / 3, retryEvery: o.TTL / 15, margin: o.TTL / 3}
}

// replicaID names this process: host, PID and randomness, so that a
// restarted process is a new holder.
func replicaID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ID is this replica's name in the lease.
func (e *Elector) ID() string { return e.o.ID }

// Run takes part in the election until ctx ends. Each time this replica
// becomes the leader it calls lead with a context that ends when it stops
// leading (the context's cause says why: ErrLost, ErrUnrenewed or
// ErrShutdown), and waits for lead to return before it follows again. The
// lease is renewed while lead winds down. lead should run until its
// context ends; if it returns earlier, the term ends. When ctx ends, Run
// ends the lease (so that another replica takes over at once) and returns
// nil.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) error {
	for {
		token, start, err := e.follow(ctx)
		if err != nil {
			return nil
		}
		e.lead(ctx, token, start, lead)
		// A pause before the next election, so that work that ends at
		// once cannot make a replica take and drop the lease in a loop.
		t := time.NewTimer(e.retryEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// follow tries to take the lease until it does (returning its token and
// when the winning statement began) or ctx ends. Between tries it reads
// the lease, and sleeps until it expires or for TTL/3, whichever is
// first, so that a leader that stopped renewing is replaced as soon as
// its lease ends.
func (e *Elector) follow(ctx context.Context) (token int64, start time.Time, err error) {
	for {
		start = time.Now()
		token, ok, err := e.acquire(ctx)
		wait := e.retryEvery
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return 0, start, ctx.Err()
			}
			e.log.WarnContext(ctx, "leader election: cannot reach the database", "err", err)
		case ok:
			e.mu.Lock()
			e.st = status{leading: true, term: token, holder: e.o.ID, addr: e.o.Addr, seenAt: start, remaining: e.o.TTL,
				acquired: e.st.acquired + 1, lost: e.st.lost}
			e.mu.Unlock()
			e.log.InfoContext(ctx, "leader election: this replica leads", "term", token)
			return token, start, nil
		default:
			remaining, err := e.observe(ctx)
			if err != nil {
				e.log.WarnContext(ctx, "leader election: read the lease", "err", err)
				break
			}
			// A little past the expiry, so that the next try finds it
			// expired on the database's clock too.
			wait = min(max(remaining+e.retryEvery/10, e.retryEvery/10), e.renewEvery)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, start, ctx.Err()
		case <-t.C:
		}
	}
}

// lead runs one term: lead in a goroutine, and the lease renewed until
// lead has returned. The term's context is cancelled when ctx ends, when
// the lease is lost, or when it could not be renewed before the margin.
func (e *Elector) lead(ctx context.Context, token int64, last time.Time, lead func(context.Context)) {
	lctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(lctx)
	}()
	var once sync.Once
	stepDown := func(cause error) {
		once.Do(func() {
			e.mu.Lock()
			// Not the leader from now on, nor known to lead: followers
			// are not sent here while the work winds down.
			e.st.leading, e.st.holder, e.st.addr = false, "", ""
			e.st.lost++
			e.mu.Unlock()
			e.log.WarnContext(ctx, "leader election: stepping down", "term", token, "why", cause)
			cancel(cause)
		})
	}
	renewing := true
	timer := time.NewTimer(e.renewEvery)
	defer timer.Stop()
	shutdown := ctx.Done()
	for {
		select {
		case <-done:
			stepDown(errWorkEnded)
			e.release(token)
			return
		case <-shutdown:
			// Keep renewing while the work winds down: until it has
			// stopped, nobody else may start.
			shutdown = nil
			stepDown(ErrShutdown)
			continue
		case <-timer.C:
		}
		if !renewing {
			continue
		}
		deadline := last.Add(e.o.TTL - e.margin)
		start := time.Now()
		rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		ok, err := e.renew(rctx, token)
		rcancel()
		switch {
		case ok:
			last = start
			timer.Reset(e.renewEvery)
		case err == nil:
			renewing = false
			stepDown(ErrLost)
		case !time.Now().Before(deadline):
			renewing = false
			e.log.ErrorContext(ctx, "leader election: renewal failed", "term", token, "err", err)
			stepDown(ErrUnrenewed)
		default:
			e.log.WarnContext(ctx, "leader election: renewal failed; retrying", "term", token, "err", err)
			timer.Reset(min(e.retryEvery, time.Until(deadline)))
		}
	}
}

// acquire takes the lease if nobody holds it, or if its holder let it
// expire: then the token moves on, which ends the old term for good.
func (e *Elector) acquire(ctx context.Context) (int64, bool, error) {
	var token int64
	err := e.db.QueryRowContext(ctx, `INSERT INTO leader_leases AS l (name, holder, token, addr, acquired_at, renewed_at, expires_at)
		VALUES ($1, $2, 1, $3, clock_timestamp(), clock_timestamp(), clock_timestamp() + make_interval(secs => $4))
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = l.token + 1, addr = excluded.addr,
			acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
		WHERE l.expires_at <= clock_timestamp()
		RETURNING token`, e.o.Name, e.o.ID, e.o.Addr, e.o.TTL.Seconds()).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("acquire lease %s: %w", e.o.Name, err)
	}
	return token, true, nil
}

// observe reads the lease as a follower: who leads, since when, and what
// it published. It returns how long the lease has left.
func (e *Elector) observe(ctx context.Context) (time.Duration, error) {
	var (
		holder, addr, state string
		token               int64
		age, remaining      float64
	)
	at := time.Now()
	err := e.db.QueryRowContext(ctx, `SELECT holder, token, addr, state,
			EXTRACT(EPOCH FROM clock_timestamp() - renewed_at)::float8, EXTRACT(EPOCH FROM expires_at - clock_timestamp())::float8
		FROM leader_leases WHERE name = $1`, e.o.Name).Scan(&holder, &token, &addr, &state, &age, &remaining)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read lease %s: %w", e.o.Name, err)
	}
	left := time.Duration(remaining * float64(time.Second))
	e.mu.Lock()
	e.st.term, e.st.holder, e.st.addr = token, holder, addr
	e.st.seenAt, e.st.age, e.st.remaining = at, time.Duration(age*float64(time.Second)), left
	e.mu.Unlock()
	if state != "" {
		e.o.Observe([]byte(state))
	}
	return left, nil
}

// renew extends the lease by a TTL from now and publishes the leader's
// state. It reports false with a nil error when the lease is no longer
// this term's.
func (e *Elector) renew(ctx context.Context, token int64) (bool, error) {
	res, err := e.db.ExecContext(ctx, `UPDATE leader_leases
		SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + make_interval(secs => $4), state = $5
		WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > clock_timestamp()`,
		e.o.Name, e.o.ID, token, e.o.TTL.Seconds(), string(e.o.Publish()))
	if err != nil {
		return false, fmt.Errorf("renew lease %s: %w", e.o.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	e.mu.Lock()
	e.st.seenAt, e.st.age, e.st.remaining = time.Now(), 0, e.o.TTL
	e.mu.Unlock()
	return true, nil
}

// release ends this term's lease now, so that a follower need not wait
// for it to expire. It changes nothing once the lease moved on.
func (e *Elector) release(token int64) {
	ctx, cancel := context.WithTimeout(context.Background(), e.retryEvery+time.Second)
	defer cancel()
	if _, err := e.db.ExecContext(ctx, `UPDATE leader_leases SET expires_at = clock_timestamp()
		WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > clock_timestamp()`, e.o.Name, e.o.ID, token); err != nil {
		e.log.Warn("leader election: release the lease; it expires by itself", "term", token, "err", err)
	}
}

// Status returns this replica's view of the election.
func (e *Elector) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Status{Leading: e.st.leading, Term: e.st.term, Holder: e.st.holder, Addr: e.st.addr, LeaseAge: -1,
		Acquired: e.st.acquired, Lost: e.st.lost}
	if !e.st.seenAt.IsZero() {
		since := time.Since(e.st.seenAt)
		s.LeaseAge = e.st.age + since
		if e.st.remaining-since <= 0 && !s.Leading {
			// The lease seen last has expired: nobody is known to lead.
			s.Holder, s.Addr = "", ""
		}
	}
	return s
}

// Leading reports whether this replica leads now.
func (e *Elector) Leading() bool { return e.Status().Leading }

// LeaderURL is the leader's address while another replica leads and its
// lease is live, else "".
func (e *Elector) LeaderURL() string {
	s := e.Status()
	if s.Leading {
		return ""
	}
	return s.Addr
}
