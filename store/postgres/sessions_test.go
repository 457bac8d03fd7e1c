package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// TestSessions: a session reads back as stored, is touched and deleted,
// and creating one drops those past their end.
func TestSessions(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
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

// TestConsumeLoginCode: of concurrent uses of a sign-in code, from several
// connections, exactly one gets it.
func TestConsumeLoginCode(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
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
