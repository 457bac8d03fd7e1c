package leader_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian/leader"
	"github.com/meridianhq/meridian/leader/leadertest"
	"github.com/meridianhq/meridian/store/postgres"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
)

// testTTL is short, so that takeovers happen within a test; the elector
// derives every other period from it.
const testTTL = 1500 * time.Millisecond

// newDatabase is a migrated database of its own, and its URL.
func newDatabase(t *testing.T) string {
	t.Helper()
	u := postgrestest.NewDatabase(t)
	st, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return u
}

func open(t *testing.T, connURL string) *sql.DB {
	t.Helper()
	db, err := leader.Open(context.Background(), connURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// term is one replica's time as leader, as its lead function saw it.
type term struct {
	replica    string
	token      int64
	start, end time.Time
	cause      error
}

// terms records the terms of several replicas.
type terms struct {
	mu  sync.Mutex
	all []*term
}

// lead returns replica's lead function: it records the term until its
// context ends.
func (ts *terms) lead(replica string, e *leader.Elector) func(context.Context) {
	return func(ctx context.Context) {
		tm := &term{replica: replica, token: e.Status().Term, start: time.Now()}
		ts.mu.Lock()
		ts.all = append(ts.all, tm)
		ts.mu.Unlock()
		<-ctx.Done()
		ts.mu.Lock()
		tm.end, tm.cause = time.Now(), context.Cause(ctx)
		ts.mu.Unlock()
	}
}

func (ts *terms) snapshot() []term {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]term, len(ts.all))
	for i, t := range ts.all {
		out[i] = *t
	}
	return out
}

// checkNoOverlap fails when two terms ran at once, or when tokens did not
// grow from term to term.
func (ts *terms) checkNoOverlap(t *testing.T) {
	t.Helper()
	all := ts.snapshot()
	for i := 1; i < len(all); i++ {
		prev, cur := all[i-1], all[i]
		if prev.end.IsZero() || prev.end.After(cur.start) {
			t.Errorf("term %d of %s began at %s while term %d of %s ran (ended %s)", cur.token, cur.replica,
				cur.start.Format(time.StampMilli), prev.token, prev.replica, prev.end.Format(time.StampMilli))
		}
		if cur.token <= prev.token {
			t.Errorf("term tokens must grow: %d after %d", cur.token, prev.token)
		}
	}
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// replica is one elector running in the test.
type replica struct {
	e      *leader.Elector
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, db *sql.DB, ts *terms, name string, o leader.Options) *replica {
	t.Helper()
	o.Name, o.ID, o.TTL = "serve:test", name, testTTL
	r := &replica{e: leader.New(db, o), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		if err := r.e.Run(ctx, ts.lead(name, r.e)); err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

func leaderOf(rs []*replica) int {
	n := -1
	for i, r := range rs {
		if r.e.Leading() {
			if n >= 0 {
				return -2
			}
			n = i
		}
	}
	return n
}

// TestElectionHandsOver runs three replicas: exactly one leads, followers
// know its address and what it publishes, and when the leader shuts down
// another takes over at once (the lease is released), with the next
// token, and never while the old term runs.
func TestElectionHandsOver(t *testing.T) {
	db := open(t, newDatabase(t))
	ts := &terms{}
	var mu sync.Mutex
	seen := map[string]string{}
	var rs []*replica
	for i := range 3 {
		name := fmt.Sprint("r", i)
		rs = append(rs, start(t, db, ts, name, leader.Options{Addr: "http://" + name,
			Publish: func() []byte { return []byte(`{"from":"` + name + `"}`) },
			Observe: func(b []byte) { mu.Lock(); seen[name] = string(b); mu.Unlock() }}))
	}
	waitFor(t, "a leader", 10*time.Second, func() bool { return leaderOf(rs) >= 0 })
	first := leaderOf(rs)
	lead := fmt.Sprint("r", first)
	for i, r := range rs {
		if i == first {
			continue
		}
		waitFor(t, "followers to see the leader's state", 10*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return seen[fmt.Sprint("r", i)] == `{"from":"`+lead+`"}` && r.e.LeaderURL() == "http://"+lead
		})
	}
	if rs[first].e.LeaderURL() != "" {
		t.Errorf("the leader's LeaderURL is %q, want empty (it is the leader)", rs[first].e.LeaderURL())
	}

	stopped := time.Now()
	rs[first].stop()
	waitFor(t, "another leader", 10*time.Second, func() bool { return leaderOf(rs) >= 0 })
	took := time.Since(stopped)
	second := leaderOf(rs)
	if second == first {
		t.Fatal("the stopped replica still leads")
	}
	t.Logf("takeover after a clean shutdown: %s (lease %s)", took.Round(time.Millisecond), testTTL)
	// A released lease is taken at the followers' next look, not after it
	// would have expired: within the look interval (a third of the lease).
	if took >= testTTL {
		t.Errorf("takeover after a clean shutdown took %s: the lease was not released", took)
	}
	// The new leader's work starts in its own goroutine, a moment after
	// the elector says it leads.
	waitFor(t, "the second term's work to start", 5*time.Second, func() bool { return len(ts.snapshot()) >= 2 })
	all := ts.snapshot()
	if len(all) != 2 || all[0].token+1 != all[1].token || !errors.Is(all[0].cause, leader.ErrShutdown) {
		t.Errorf("terms: %+v; want two, tokens n and n+1, the first ended by ErrShutdown", all)
	}
	ts.checkNoOverlap(t)
}

// TestLeaderCutOffStepsDown cuts the leader off from the database through
// a TCP proxy: it must stop leading (ErrUnrenewed) before its lease
// expires and another replica takes over; once the proxy is restored, it
// follows the new leader.
func TestLeaderCutOffStepsDown(t *testing.T) {
	u := newDatabase(t)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := leadertest.NewProxy(t, pu.Host)
	ts := &terms{}
	cut := start(t, open(t, proxy.URL(t, u)), ts, "cut", leader.Options{})
	waitFor(t, "the proxied replica to lead", 10*time.Second, cut.e.Leading)
	other := start(t, open(t, u), ts, "other", leader.Options{})
	waitFor(t, "the other replica to see the leader", 10*time.Second, func() bool { return other.e.Status().Holder == "cut" })

	proxy.Cut()
	waitFor(t, "the other replica to take over", 10*time.Second, other.e.Leading)
	waitFor(t, "the new term's work to start", 5*time.Second, func() bool { return len(ts.snapshot()) >= 2 })
	all := ts.snapshot()
	if len(all) != 2 || all[0].replica != "cut" || !errors.Is(all[0].cause, leader.ErrUnrenewed) {
		t.Fatalf("terms: %+v; want the cut replica's, ended by ErrUnrenewed, then the other's", all)
	}
	t.Logf("cut-off leader stepped down %s before the takeover", all[1].start.Sub(all[0].end).Round(time.Millisecond))
	ts.checkNoOverlap(t)

	proxy.Restore()
	waitFor(t, "the restored replica to follow the new leader", 10*time.Second, func() bool {
		s := cut.e.Status()
		return !s.Leading && s.Holder == "other" && s.Term == all[1].token
	})
	if s := cut.e.Status(); s.Acquired != 1 || s.Lost != 1 {
		t.Errorf("restored replica's transitions: acquired %d, lost %d; want 1 and 1", s.Acquired, s.Lost)
	}
}

// TestLeaseTakenOver makes a leader's lease expire under it (as a paused
// process would find after waking): its next renewal fails, and it stops
// with ErrLost, not after the new term began.
func TestLeaseTakenOver(t *testing.T) {
	db := open(t, newDatabase(t))
	ts := &terms{}
	r := start(t, db, ts, "paused", leader.Options{})
	waitFor(t, "the replica to lead", 10*time.Second, r.e.Leading)
	// Another holder takes the lease as if it had expired.
	if _, err := db.Exec(`UPDATE leader_leases SET holder = 'thief', token = token + 1, expires_at = clock_timestamp() + interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica to step down", 10*time.Second, func() bool { return !r.e.Leading() })
	waitFor(t, "the term to end", 10*time.Second, func() bool {
		all := ts.snapshot()
		return len(all) == 1 && !all[0].end.IsZero()
	})
	if all := ts.snapshot(); !errors.Is(all[0].cause, leader.ErrLost) {
		t.Errorf("term ended by %v, want ErrLost", all[0].cause)
	}
	waitFor(t, "the replica to see the new holder", 10*time.Second, func() bool { return r.e.Status().Holder == "thief" })
}
