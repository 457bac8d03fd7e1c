package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// ServerStore is what `meridian serve` keeps beyond store.Store: API
// tokens and webhook deliveries (asked for by web.Store) and pull-request
// comments (asked for by controlplane.Store).
type ServerStore interface {
	CreateToken(ctx context.Context, t store.Token) error
	TokenByHash(ctx context.Context, hash string) (store.Token, error)
	ListTokens(ctx context.Context) ([]store.Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	TouchToken(ctx context.Context, id string, at time.Time) error
	ClaimDelivery(ctx context.Context, d store.Delivery) (bool, error)
	FinishDelivery(ctx context.Context, id, status, runID, errMsg string) error
	GetDelivery(ctx context.Context, id string) (store.Delivery, error)
	CountDeliveries(ctx context.Context) (map[string]int, error)
	LastComment(ctx context.Context, repoID string, pr int) (store.PRComment, bool, error)
	RecordComment(ctx context.Context, c store.PRComment) error
	Close() error
}

// ServerOpener returns a fresh, empty ServerStore that reads time from now.
// The suite closes it.
type ServerOpener func(t *testing.T, now func() time.Time) ServerStore

// RunServer runs the server records' suite against a backend.
func RunServer(t *testing.T, open ServerOpener) {
	openS := func(t *testing.T) (ServerStore, *Clock) {
		c := NewClock()
		s := open(t, c.Now)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s, c
	}
	t.Run("Tokens", func(t *testing.T) { s, c := openS(t); testTokens(t, s, c) })
	t.Run("Deliveries", func(t *testing.T) { s, c := openS(t); testDeliveries(t, s, c) })
	t.Run("DeliveryRace", func(t *testing.T) { s, c := openS(t); testDeliveryRace(t, s, c) })
	t.Run("Comments", func(t *testing.T) { s, c := openS(t); testComments(t, s, c) })
}

func testTokens(t *testing.T, s ServerStore, c *Clock) {
	ctx := context.Background()
	// a expires, b does not: both must come back as stored.
	a := store.Token{ID: "tok_a", Name: "ci", Role: "operator", Hash: "h1", CreatedBy: "alice", CreatedAt: c.Now(), ExpiresAt: c.Now().Add(720 * time.Hour)}
	c.Advance(time.Second)
	b := store.Token{ID: "tok_b", Name: "root", Role: "admin", Hash: "h2", CreatedBy: "alice", CreatedAt: c.Now()}
	for _, tk := range []store.Token{a, b} {
		if err := s.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.TokenByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("TokenByHash does not return what CreateToken stored (-want +got):\n%s", diff)
	}
	if _, err := s.TokenByHash(ctx, "nope"); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("TokenByHash(unknown) = %v, want ENOTFOUND", err)
	}
	if err := s.CreateToken(ctx, store.Token{ID: "tok_c", Name: "dup", Role: "viewer", Hash: "h1"}); err == nil {
		t.Errorf("two tokens with one hash were accepted")
	}
	revokedAt := c.Now().Add(time.Minute)
	for i := range 2 {
		// Revoking again keeps the first time.
		if err := s.RevokeToken(ctx, "tok_a", revokedAt.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeToken(ctx, "tok_zzz", revokedAt); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("RevokeToken(missing) = %v, want ENOTFOUND", err)
	}
	used := c.Now().Add(2 * time.Minute)
	if err := s.TouchToken(ctx, "tok_b", used); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.RevokedAt, b.LastUsedAt = revokedAt.UTC(), used.UTC()
	if diff := cmp.Diff([]store.Token{a, b}, list); diff != "" {
		t.Errorf("ListTokens (-want +got):\n%s", diff)
	}
	if !list[0].Revoked() || list[1].Revoked() {
		t.Errorf("Revoked() = %v, %v", list[0].Revoked(), list[1].Revoked())
	}
}

func testDeliveries(t *testing.T, s ServerStore, c *Clock) {
	ctx := context.Background()
	d := store.Delivery{ID: "d1", RepoID: "r1", Event: "push", PayloadSHA256: "p", ReceivedAt: c.Now()}
	claim := func(want bool, why string) {
		t.Helper()
		ok, err := s.ClaimDelivery(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if ok != want {
			t.Errorf("ClaimDelivery = %v, want %v: %s", ok, want, why)
		}
	}
	claim(true, "a new delivery is claimed")
	claim(false, "a delivery being processed is not claimed twice")
	if err := s.FinishDelivery(ctx, "d1", store.DeliveryProcessed, "run-1", ""); err != nil {
		t.Fatal(err)
	}
	claim(false, "a processed delivery is never processed again")
	got, err := s.GetDelivery(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	want := d
	want.Status, want.RunID, want.ReceivedAt = store.DeliveryProcessed, "run-1", d.ReceivedAt.UTC()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetDelivery (-want +got):\n%s", diff)
	}
	d.ID = "d2"
	claim(true, "another delivery is claimed")
	if err := s.FinishDelivery(ctx, "d2", store.DeliveryFailed, "", "boom"); err != nil {
		t.Fatal(err)
	}
	claim(true, "a failed delivery is claimed again, so that a redelivery retries it")
	if got, _ := s.GetDelivery(ctx, "d2"); got.Status != store.DeliveryReceived || got.Error != "" {
		t.Errorf("re-claimed delivery = %+v, want status received and no error", got)
	}
	if _, err := s.GetDelivery(ctx, "nope"); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("GetDelivery(missing) = %v, want ENOTFOUND", err)
	}
	if err := s.FinishDelivery(ctx, "nope", store.DeliveryProcessed, "", ""); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("FinishDelivery(missing) = %v, want ENOTFOUND", err)
	}
	counts, err := s.CountDeliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{store.DeliveryProcessed: 1, store.DeliveryReceived: 1}, counts); diff != "" {
		t.Errorf("CountDeliveries (-want +got):\n%s", diff)
	}
}

// testDeliveryRace claims one delivery from many goroutines at once: GitHub
// retries and load balancers can deliver the same ID concurrently.
func testDeliveryRace(t *testing.T, s ServerStore, c *Clock) {
	ctx := context.Background()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ClaimDelivery(ctx, store.Delivery{ID: "race", Event: "push", ReceivedAt: c.Now()})
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d concurrent claims of one delivery won, want exactly 1", n)
	}
}

func testComments(t *testing.T, s ServerStore, c *Clock) {
	ctx := context.Background()
	if _, ok, err := s.LastComment(ctx, "r1", 7); err != nil || ok {
		t.Fatalf("LastComment on a new PR = %v, %v; want none", ok, err)
	}
	first := store.PRComment{RepoID: "r1", PR: 7, PlanID: "p1", CommentID: "100", BodySHA256: "b1", PostedAt: c.Now()}
	c.Advance(time.Minute)
	second := store.PRComment{RepoID: "r1", PR: 7, PlanID: "p2", CommentID: "100", BodySHA256: "b2", PostedAt: c.Now()}
	other := store.PRComment{RepoID: "r1", PR: 8, PlanID: "p3", CommentID: "200", BodySHA256: "b3", PostedAt: c.Now()}
	for _, cm := range []store.PRComment{first, second, other} {
		if err := s.RecordComment(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := s.LastComment(ctx, "r1", 7)
	if err != nil || !ok {
		t.Fatalf("LastComment = %v, %v", ok, err)
	}
	second.PostedAt = second.PostedAt.UTC()
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("LastComment returns the newest comment of the PR (-want +got):\n%s", diff)
	}
	// Recording the first plan again (a revert) makes it the newest.
	c.Advance(time.Minute)
	first.PostedAt = c.Now().UTC()
	if err := s.RecordComment(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.LastComment(ctx, "r1", 7); got.PlanID != "p1" || !got.PostedAt.Equal(first.PostedAt) {
		t.Errorf("after re-recording p1, LastComment = %+v", got)
	}
}
