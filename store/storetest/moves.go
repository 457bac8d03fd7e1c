package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// testMoves checks that SaveMoves replaces a scope's moves as a whole,
// leaves other scopes alone, keeps when a move started, and changes
// nothing when it refuses its input.
func testMoves(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	const a, b = "/state/deploy.git#main:clusters/prod", "https://git.example.com/deploy.git#main:"
	t0 := c.Now().Truncate(time.Millisecond)

	if got, err := s.LoadMoves(ctx, a); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("LoadMoves of an empty scope = %#v, %v; want an empty, non-nil result", got, err)
	}
	web := store.Move{Scope: a, Workload: "web", From: []string{"aws-a"}, To: []string{"gcp-b", "onprem-c"}, PlanID: "p1",
		State: "adding", Detail: json.RawMessage(`{"since":"2026-03-01T12:00:00Z"}`)}
	api := store.Move{Scope: a, Workload: "api", From: []string{"x", "y"}, To: []string{"z"}, PlanID: "p1", State: "waiting"}
	other := store.Move{Scope: b, Workload: "web", From: []string{"p"}, To: []string{"q"}, PlanID: "p9", State: "waiting"}
	if err := s.SaveMoves(ctx, a, []store.Move{web, api}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveMoves(ctx, b, []store.Move{other}); err != nil {
		t.Fatal(err)
	}
	stamp := func(ms []store.Move, created, updated time.Time) []store.Move {
		out := make([]store.Move, len(ms))
		for i, m := range ms {
			m.CreatedAt, m.UpdatedAt = created, updated
			out[i] = m
		}
		return out
	}
	got, err := s.LoadMoves(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stamp([]store.Move{api, web}, t0, t0), got); diff != "" {
		t.Errorf("moves round trip, ordered by workload (-want +got):\n%s", diff)
	}

	// The next save drops api, changes web: web keeps its start time.
	c.Advance(time.Minute)
	web.State, web.Detail = "waiting", json.RawMessage(`{"add_commit":"abc","since":"2026-03-01T12:01:00Z"}`)
	if err := s.SaveMoves(ctx, a, []store.Move{web}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.LoadMoves(ctx, a)
	if diff := cmp.Diff(stamp([]store.Move{web}, t0, t0.Add(time.Minute)), got); diff != "" {
		t.Errorf("after a replace (-want +got):\n%s", diff)
	}

	// Refused input changes nothing: the replace is all or nothing.
	for name, bad := range map[string][]store.Move{
		"duplicate workload": {api, api},
		"comma in a target":  {{Workload: "db", From: []string{"a,b"}, To: []string{"c"}}},
		"detail not JSON":    {{Workload: "db", From: []string{"a"}, To: []string{"c"}, Detail: json.RawMessage(`{`)}},
	} {
		if err := s.SaveMoves(ctx, a, bad); meridian.ErrorCode(err) != meridian.EINVALID {
			t.Errorf("SaveMoves(%s) = %v, want an EINVALID error", name, err)
		}
	}
	if got, _ := s.LoadMoves(ctx, a); len(got) != 1 || got[0].Workload != "web" {
		t.Errorf("a refused save changed the stored moves: %+v", got)
	}

	// A finished move is saved away; the other scope is untouched.
	if err := s.SaveMoves(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LoadMoves(ctx, a); err != nil || len(got) != 0 {
		t.Errorf("after saving no moves: %+v, %v", got, err)
	}
	got, _ = s.LoadMoves(ctx, b)
	if diff := cmp.Diff(stamp([]store.Move{other}, t0, t0), got); diff != "" {
		t.Errorf("another scope changed (-want +got):\n%s", diff)
	}
}

// testMovesFenced: a deploy step that lost the deploy lock cannot write
// its moves over those of the apply that took the lock over.
func testMovesFenced(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	const scope = "/state/deploy.git#main:"
	key := store.LockKey{RepoID: "r1", Target: store.DeployLockTarget}
	first, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: alice, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	mine := []store.Move{{Scope: scope, Workload: "web", From: []string{"a"}, To: []string{"b"}, PlanID: "p1", State: "adding"}}
	if err := s.SaveMovesFenced(ctx, first.Fence(), scope, mine); err != nil {
		t.Fatalf("the deploy lock's holder saves its moves: %v", err)
	}
	c.Advance(2 * time.Minute) // alice's lease runs out; bob takes the lock over
	if _, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: bob, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	stale := []store.Move{{Scope: scope, Workload: "api", From: []string{"x"}, To: []string{"y"}, PlanID: "p0", State: "adding"}}
	if err := s.SaveMovesFenced(ctx, first.Fence(), scope, stale); !errors.Is(err, store.ErrLockLost) {
		t.Errorf("SaveMovesFenced with a lost lock = %v, want ErrLockLost", err)
	}
	got, err := s.LoadMoves(ctx, scope)
	if err != nil || len(got) != 1 || got[0].Workload != "web" {
		t.Errorf("moves after the fenced-out save: %+v, %v; want web's only", got, err)
	}
}
