package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// EdgeStore is what the OPA bundle server keeps: store.EdgeSites, plus
// the event log its transitions are appended to.
type EdgeStore interface {
	store.EdgeSites
	EventsAfter(ctx context.Context, afterID int64, n int) ([]meridian.Event, error)
	Close() error
}

// EdgeOpener returns a fresh, empty EdgeStore that reads time from now.
// The suite closes it.
type EdgeOpener func(t *testing.T, now func() time.Time) EdgeStore

// RunEdge runs the edge records' suite against a backend.
func RunEdge(t *testing.T, open EdgeOpener) {
	t.Run("Credentials", func(t *testing.T) { testEdgeCredentials(t, open) })
	t.Run("Sites", func(t *testing.T) { testEdgeSites(t, open) })
	t.Run("Retirement", func(t *testing.T) { testEdgeRetirement(t, open) })
}

// openClosing opens a fresh store on a new Clock and closes it when the
// test ends.
func openClosing[S interface{ Close() error }](t *testing.T, open func(*testing.T, func() time.Time) S) (S, *Clock) {
	t.Helper()
	c := NewClock()
	s := open(t, c.Now)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, c
}

func testEdgeCredentials(t *testing.T, open EdgeOpener) {
	ctx := context.Background()
	s, c := openClosing(t, open)
	a := store.EdgeCredential{ID: "ec_a", Site: "edge-eu-01", Hash: "h-a", CreatedBy: "cli:me", CreatedAt: c.Now()}
	b := store.EdgeCredential{ID: "ec_b", Site: "edge-eu-01", Hash: "h-b", CreatedBy: "cli:me", CreatedAt: c.Now().Add(time.Minute)}
	for _, cr := range []store.EdgeCredential{a, b} {
		if err := s.CreateEdgeCredential(ctx, cr); err != nil {
			t.Fatalf("create %s: %v", cr.ID, err)
		}
	}
	if err := s.CreateEdgeCredential(ctx, store.EdgeCredential{ID: "ec_c", Site: "edge-us-01", Hash: "h-a", CreatedAt: c.Now()}); err == nil {
		t.Error("a second credential with the same hash was stored: the hash must identify one site")
	}
	got, err := s.EdgeCredentialByHash(ctx, "h-b")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("credential read back differs (-want +got):\n%s", diff)
	}
	if _, err := s.EdgeCredentialByHash(ctx, "h-unknown"); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("unknown hash: got %v, want ENOTFOUND", err)
	}
	sites, err := s.ListEdgeSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two credentials of one site register it once, when the first is made;
	// the failed third registered nothing.
	want := []store.EdgeSite{{Site: "edge-eu-01", CreatedAt: c.Now()}}
	if diff := cmp.Diff(want, sites); diff != "" {
		t.Errorf("sites (-want +got):\n%s", diff)
	}

	// Revocation: one credential by ID, then the site's others; a second
	// revocation finds none and keeps the first time.
	at := c.Now().Add(time.Hour)
	for _, r := range []struct {
		id   string
		at   time.Time
		want int
	}{{"ec_b", at, 1}, {"", at.Add(time.Minute), 1}, {"", at.Add(2 * time.Minute), 0}} {
		if n, err := s.RevokeEdgeCredentials(ctx, "edge-eu-01", r.id, r.at); err != nil || n != r.want {
			t.Errorf("revoke edge-eu-01 %q: %d, %v; want %d revoked", r.id, n, err, r.want)
		}
	}
	for hash, when := range map[string]time.Time{"h-a": at.Add(time.Minute), "h-b": at} {
		got, err := s.EdgeCredentialByHash(ctx, hash)
		if err != nil || !got.Revoked() || !got.RevokedAt.Equal(when) {
			t.Errorf("credential %s after revocation: %+v, %v; want revoked at %s", hash, got, err, when)
		}
	}
	if n, err := s.RevokeEdgeCredentials(ctx, "edge-unknown", "", at); err != nil || n != 0 {
		t.Errorf("revoke an unknown site: %d, %v; want none revoked", n, err)
	}
}

func testEdgeSites(t *testing.T, open EdgeOpener) {
	ctx := context.Background()
	s, c := openClosing(t, open)
	for _, site := range []string{"edge-b", "edge-a"} {
		if err := s.CreateEdgeCredential(ctx, store.EdgeCredential{ID: "ec_" + site, Site: site, Hash: "h-" + site, CreatedAt: c.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(time.Minute)
	upd := store.EdgeSite{Site: "edge-a", CreatedAt: c.Now().Add(-time.Minute), ActiveRevision: "rev-1", AgentID: "opa-1",
		LastSeen: c.Now(), Activated: c.Now().Add(-time.Second), ErrorCode: "bundle_error", ErrorMessage: "bad signature",
		Health: store.EdgeFailing, HealthSince: c.Now(), BehindSince: c.Now().Add(-30 * time.Second)}
	ev := meridian.Event{Type: meridian.EventEdgeSiteFailing, Target: "edge-a", Payload: []byte(`{"site":"edge-a"}`)}
	prev, err := s.GetEdgeSite(ctx, "edge-a")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.SaveEdgeSite(ctx, prev, upd, []meridian.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	// A second writer that read the record before the first wrote it
	// (another replica) is refused, and appends nothing: one change of
	// health is announced once.
	if _, err := s.SaveEdgeSite(ctx, prev, upd, []meridian.Event{ev}); meridian.ErrorCode(err) != meridian.ECONFLICT {
		t.Errorf("save over a record changed since it was read: got %v, want ECONFLICT", err)
	}
	if len(evs) != 1 || evs[0].ID == 0 || evs[0].Time.IsZero() {
		t.Fatalf("saved events = %+v, want one with an ID and a time", evs)
	}
	got, err := s.GetEdgeSite(ctx, "edge-a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(upd, got); diff != "" {
		t.Errorf("site read back differs (-want +got):\n%s", diff)
	}
	feed, err := s.EventsAfter(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(feed) != 1 || feed[0].Type != meridian.EventEdgeSiteFailing || feed[0].Target != "edge-a" {
		t.Errorf("event feed = %+v, want the edge.site_failing event", feed)
	}
	list, err := s.ListEdgeSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Site != "edge-a" || list[1].Site != "edge-b" || !list[1].LastSeen.IsZero() {
		t.Errorf("list = %+v, want edge-a (reported) then edge-b (never seen)", list)
	}
	// An unregistered site is refused, and its events are not appended.
	_, err = s.SaveEdgeSite(ctx, store.EdgeSite{Site: "edge-zz"}, store.EdgeSite{Site: "edge-zz"}, []meridian.Event{ev})
	if meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("save unregistered site: got %v, want ENOTFOUND", err)
	}
	if feed, _ := s.EventsAfter(ctx, 0, 10); len(feed) != 1 {
		t.Errorf("after a refused save the feed has %d events, want 1", len(feed))
	}
	if _, err := s.GetEdgeSite(ctx, "edge-zz"); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("get unregistered site: got %v, want ENOTFOUND", err)
	}
}

// testEdgeRetirement: a site is retired exactly when its last live
// credential is revoked, and a new credential enrols it again, pending,
// without its old agent's report.
func testEdgeRetirement(t *testing.T, open EdgeOpener) {
	ctx := context.Background()
	s, c := openClosing(t, open)
	t0 := c.Now()
	for _, id := range []string{"a", "b"} {
		if err := s.CreateEdgeCredential(ctx, store.EdgeCredential{ID: "ec_" + id, Site: "edge-a", Hash: "h-" + id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	prev, err := s.GetEdgeSite(ctx, "edge-a")
	if err != nil {
		t.Fatal(err)
	}
	reported := store.EdgeSite{Site: "edge-a", CreatedAt: t0, ActiveRevision: "rev-1", AgentID: "opa-1", LastSeen: t0.Add(time.Minute),
		Activated: t0.Add(time.Minute), ErrorCode: "bundle_error", ErrorMessage: "x", Health: store.EdgeStale, HealthSince: t0.Add(5 * time.Minute),
		BehindSince: t0.Add(time.Second)}
	if _, err := s.SaveEdgeSite(ctx, prev, reported, nil); err != nil {
		t.Fatal(err)
	}
	retiredAt := t0.Add(time.Hour)
	steps := []struct {
		reason string
		do     func() error
		want   store.EdgeSite
	}{
		{reason: "revoking one of two credentials leaves a live one: not retired",
			do: func() error {
				_, err := s.RevokeEdgeCredentials(ctx, "edge-a", "ec_a", retiredAt.Add(-time.Minute))
				return err
			}, want: reported},
		{reason: "revoking the last live credential retires the site and keeps what it last reported",
			do:   func() error { _, err := s.RevokeEdgeCredentials(ctx, "edge-a", "", retiredAt); return err },
			want: func() store.EdgeSite { r := reported; r.RetiredAt = retiredAt; return r }()},
		{reason: "a revocation that revokes nothing keeps the retirement's time",
			do: func() error {
				_, err := s.RevokeEdgeCredentials(ctx, "edge-a", "", retiredAt.Add(time.Hour))
				return err
			},
			want: func() store.EdgeSite { r := reported; r.RetiredAt = retiredAt; return r }()},
		{reason: "a new credential enrols it again: the old agent's report is gone, health is left to the service",
			do: func() error {
				return s.CreateEdgeCredential(ctx, store.EdgeCredential{ID: "ec_c", Site: "edge-a", Hash: "h-c", CreatedAt: retiredAt.Add(2 * time.Hour)})
			},
			want: store.EdgeSite{Site: "edge-a", CreatedAt: retiredAt.Add(2 * time.Hour), Health: store.EdgeStale, HealthSince: t0.Add(5 * time.Minute)}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.reason, err)
		}
		got, err := s.GetEdgeSite(ctx, "edge-a")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", st.reason, diff)
		}
	}

	// A writer that read the site before it was retired is refused: it
	// re-reads and sees the retirement instead of announcing a stale site.
	before, err := s.GetEdgeSite(ctx, "edge-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeEdgeCredentials(ctx, "edge-a", "", retiredAt.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	next := before
	next.Health = store.EdgePending
	if _, err := s.SaveEdgeSite(ctx, before, next, nil); meridian.ErrorCode(err) != meridian.ECONFLICT {
		t.Errorf("save over a site retired since it was read: got %v, want ECONFLICT", err)
	}
}
