package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// DashboardStore is what the dashboard and browser sign-in keep beyond
// store.Store (asked for by package web): sessions, one-time sign-in codes
// and the overview's counts.
type DashboardStore interface {
	store.Store
	CreateSession(ctx context.Context, s store.Session) error
	SessionByHash(ctx context.Context, hash string) (store.Session, error)
	TouchSession(ctx context.Context, hash string, at time.Time) error
	DeleteSession(ctx context.Context, hash string) error
	CreateLoginCode(ctx context.Context, c store.LoginCode) error
	ConsumeLoginCode(ctx context.Context, hash string) (store.LoginCode, error)
	CountOpenDrift(ctx context.Context, repoID string) (int, error)
	CountFindings(ctx context.Context, repoID, branch string, state meridian.FindingState) (map[meridian.Severity]int, error)
}

// DashboardOpener returns a fresh, empty DashboardStore that reads time
// from now. The suite closes it.
type DashboardOpener func(t *testing.T, now func() time.Time) DashboardStore

// RunDashboard runs the suite of sessions, sign-in codes and the
// overview's counts against a backend.
func RunDashboard(t *testing.T, open DashboardOpener) {
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("ConsumeLoginCode", func(t *testing.T) { testConsumeLoginCode(t, open) })
	t.Run("DashboardCounts", func(t *testing.T) { testDashboardCounts(t, open) })
}

func openDashboard(t *testing.T, open DashboardOpener) DashboardStore {
	t.Helper()
	s := open(t, nil)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// testSessions: a session reads back as stored, is touched and deleted,
// and creating one drops those past their end.
func testSessions(t *testing.T, open DashboardOpener) {
	ctx := context.Background()
	db := openDashboard(t, open)
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	old := store.Session{Hash: "h-old", TokenID: "tok_1", TokenHash: "th", CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(time.Hour)}
	cur := store.Session{Hash: "h-cur", TokenID: "tok_1", TokenHash: "th", CreatedAt: at.Add(time.Hour), LastSeenAt: at.Add(time.Hour), ExpiresAt: at.Add(13 * time.Hour)}
	for _, s := range []store.Session{old, cur} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.SessionByHash(ctx, cur.Hash)
	if diff := cmp.Diff(cur, got); err != nil || diff != "" {
		t.Errorf("SessionByHash: %v (-stored +read):\n%s", err, diff)
	}
	if _, err := db.SessionByHash(ctx, old.Hash); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("a session that ended before a newer one was created: %v, want ENOTFOUND (dropped)", err)
	}
	seen := at.Add(2 * time.Hour)
	if err := db.TouchSession(ctx, cur.Hash, seen); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.SessionByHash(ctx, cur.Hash); !got.LastSeenAt.Equal(seen) {
		t.Errorf("last seen %v after a touch at %v", got.LastSeenAt, seen)
	}
	if err := db.DeleteSession(ctx, cur.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByHash(ctx, cur.Hash); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("a deleted session: %v, want ENOTFOUND", err)
	}
	if err := db.DeleteSession(ctx, cur.Hash); err != nil {
		t.Errorf("deleting a missing session: %v", err)
	}
}

// testConsumeLoginCode: of concurrent uses of a sign-in code, from several
// connections, exactly one gets it.
func testConsumeLoginCode(t *testing.T, open DashboardOpener) {
	ctx := context.Background()
	db := openDashboard(t, open)
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := store.LoginCode{Hash: "code-h", TokenID: "tok_1", TokenHash: "th", CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	if err := db.CreateLoginCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	const n = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []store.LoginCode
	for range n {
		wg.Go(func() {
			got, err := db.ConsumeLoginCode(ctx, c.Hash)
			switch {
			case err == nil:
				mu.Lock()
				won = append(won, got)
				mu.Unlock()
			case meridian.ErrorCode(err) != meridian.ENOTFOUND:
				t.Errorf("ConsumeLoginCode: %v", err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent uses got the code, want 1", len(won), n)
	}
	if diff := cmp.Diff(c, won[0]); diff != "" {
		t.Errorf("the code read back (-stored +read):\n%s", diff)
	}
}

// testDashboardCounts: the overview's counts agree with what the lists
// hold, per repo, branch and state.
func testDashboardCounts(t *testing.T, open DashboardOpener) {
	db := openDashboard(t, open)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	record := func(repo, branch, workload string, sev meridian.Severity, state meridian.FindingState) meridian.FindingRecord {
		f := meridian.Finding{Rule: "R-" + string(sev), Workload: workload}
		return meridian.FindingRecord{RepoID: repo, Branch: branch, Fingerprint: meridian.Fingerprint(f), Rule: f.Rule, Severity: sev,
			Workload: workload, Message: "m", State: state, FirstSeen: at, LastSeen: at}
	}
	if _, err := db.SaveFindings(ctx, []meridian.FindingRecord{
		record("r1", "main", "a", meridian.SeverityDeny, meridian.FindingOpen),
		record("r1", "main", "b", meridian.SeverityDeny, meridian.FindingOpen),
		record("r1", "main", "c", meridian.SeverityWarn, meridian.FindingOpen),
		record("r1", "main", "d", meridian.SeverityWarn, meridian.FindingWaived),
		record("r1", "dev", "e", meridian.SeverityDeny, meridian.FindingOpen),
		record("r2", "main", "f", meridian.SeverityInfo, meridian.FindingOpen),
	}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := db.CountFindings(ctx, "r1", "main", meridian.FindingOpen)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[meridian.Severity]int{meridian.SeverityDeny: 2, meridian.SeverityWarn: 1}, got); d != "" {
		t.Errorf("open findings of r1/main (-want +got):\n%s", d)
	}

	drift := func(resource string) meridian.DriftRecord {
		return meridian.DriftRecord{RepoID: "r1", Engine: meridian.DriftEngineTerraform, Target: "t", Resource: resource}
	}
	engines := []meridian.DriftEngine{meridian.DriftEngineTerraform}
	if _, err := db.SyncDrift(ctx, "r1", engines, []meridian.DriftRecord{drift("x"), drift("y"), drift("z")}); err != nil {
		t.Fatal(err)
	}
	// A later check no longer sees z: cleared, so no longer counted.
	if _, err := db.SyncDrift(ctx, "r1", engines, []meridian.DriftRecord{drift("x"), drift("y")}); err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]int{"r1": 2, "r2": 0} {
		n, err := db.CountOpenDrift(ctx, repo)
		if err != nil || n != want {
			t.Errorf("open drift of %s: %d %v, want %d", repo, n, err, want)
		}
	}
}
