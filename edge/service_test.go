package edge_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/store/sqlite"
)

// fakeSource is a branch whose head the test moves.
type fakeSource struct {
	mu             sync.Mutex
	commit, planID string
}

func (f *fakeSource) set(commit, planID string) {
	f.mu.Lock()
	f.commit, f.planID = commit, planID
	f.mu.Unlock()
}

func (f *fakeSource) Head() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commit, f.planID
}

func (f *fakeSource) Plan(_ context.Context, id string) (*meridian.Plan, error) {
	return &meridian.Plan{ID: id, Placements: []meridian.Placement{{Workload: "cam", Target: "edge-a", Replicas: 1}}}, nil
}

func (f *fakeSource) Config(context.Context, string) (*meridian.Config, error) {
	return &meridian.Config{Targets: []meridian.Target{{Name: "edge-a"}}, Workloads: []meridian.Workload{{Name: "cam"}}}, nil
}

func newService(t *testing.T) (*edge.Service, *fakeSource, string) {
	t.Helper()
	db := openSQLite(t, filepath.Join(t.TempDir(), "m.db"), time.Now)
	secret := registerSite(t, db, "edge-a", time.Now())
	src := &fakeSource{}
	return edge.NewService(src, db, testKey(t), edge.Options{MaxWait: 20 * time.Second}), src, secret
}

// newServiceAt is a service on the clock now, with site edge-a, and its
// store.
func newServiceAt(t *testing.T, now func() time.Time) (*edge.Service, *fakeSource, *sqlite.DB) {
	t.Helper()
	db := openSQLite(t, filepath.Join(t.TempDir(), "m.db"), now)
	registerSite(t, db, "edge-a", now())
	src := &fakeSource{}
	return edge.NewService(src, db, testKey(t), edge.Options{Now: now}), src, db
}

func openSQLite(t *testing.T, path string, now func() time.Time) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testKey(t *testing.T) *edge.Key {
	t.Helper()
	key, err := edge.LoadKey(filepath.Join(t.TempDir(), "k.pem"), true)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// registerSite issues a credential for site, registering it, and returns
// the credential's secret.
func registerSite(t *testing.T, db edge.CredentialStore, site string, at time.Time) string {
	t.Helper()
	_, secret, err := edge.IssueCredential(context.Background(), db, site, "test", at)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestBundleLongPoll(t *testing.T) {
	ctx := context.Background()
	s, src, secret := newService(t)
	if site, reason, err := s.Authenticate(ctx, secret); site != "edge-a" || reason != "" || err != nil {
		t.Fatalf("Authenticate = %q, %q, %v", site, reason, err)
	}
	if _, _, err := s.Bundle(ctx, "edge-a", nil, 0); meridian.ErrorCode(err) != meridian.EUNAVAILABLE {
		t.Fatalf("before the first plan: %v, want EUNAVAILABLE", err)
	}
	src.set("c1", "p1")
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	b1, modified, err := s.Bundle(ctx, "edge-a", nil, 0)
	if err != nil || !modified || b1.Revision != edge.Revision("c1", "p1") {
		t.Fatalf("first fetch: %+v %v %v", b1, modified, err)
	}
	if _, modified, _ := s.Bundle(ctx, "edge-a", []string{`"other"`, b1.ETag}, 0); modified {
		t.Error("If-None-Match with the bundle's ETag got the bundle again, want 304")
	}
	// A long poll without a change ends unchanged when its wait does.
	if _, modified, err := s.Bundle(ctx, "edge-a", []string{b1.ETag}, 50*time.Millisecond); modified || err != nil {
		t.Errorf("long poll without a change: modified %v, %v", modified, err)
	}
	// A long poll is answered by the next revision, long before its wait.
	type answer struct {
		b        *edge.Bundle
		modified bool
		took     time.Duration
	}
	done := make(chan answer)
	go func() {
		start := time.Now()
		b, m, _ := s.Bundle(ctx, "edge-a", []string{b1.ETag}, 20*time.Second)
		done <- answer{b, m, time.Since(start)}
	}()
	time.Sleep(50 * time.Millisecond)
	src.set("c2", "p2")
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if !a.modified || a.b.Revision != edge.Revision("c2", "p2") || a.took >= 20*time.Second {
		t.Errorf("long poll across a new head: %+v", a)
	}
	// Close ends waiting polls at once, unchanged.
	go func() {
		b, m, _ := s.Bundle(ctx, "edge-a", []string{a.b.ETag}, 20*time.Second)
		done <- answer{b: b, modified: m}
	}()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	if a := <-done; a.modified {
		t.Error("a poll ended by Close was answered with a bundle")
	}
}

func TestReportAndOverview(t *testing.T) {
	ctx := context.Background()
	s, src, _ := newService(t)
	src.set("c1", "p1")
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rev := edge.Revision("c1", "p1")
	if err := s.Report(ctx, "edge-a", []byte(`{"labels":{"id":"opa-1"},"bundles":{"meridian":{"name":"meridian","active_revision":"`+rev+`"}}}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Report(ctx, "edge-zz", []byte(`{"bundles":{"meridian":{"active_revision":"x"}}}`)); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("report of an unregistered site: %v, want ENOTFOUND", err)
	}
	if err := s.Report(ctx, "edge-a", []byte(`{"bundles":`)); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("report that is not JSON: %v, want EINVALID", err)
	}
	o, err := s.Overview(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if o.Head == nil || o.Head.Revision != rev || len(o.Sites) != 1 || !o.Sites[0].OnHead || o.Sites[0].Health != "ok" || o.Sites[0].AgentID != "opa-1" {
		t.Errorf("overview = %+v", o)
	}
	src.set("c2", "p2")
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	o, _ = s.Overview(ctx, edge.HealthSyncing)
	if len(o.Sites) != 1 || o.Sites[0].OnHead || o.Sites[0].BehindSince.IsZero() || o.Summary.Syncing != 1 {
		t.Errorf("after a new head, overview = %+v, want the site syncing", o)
	}
}
