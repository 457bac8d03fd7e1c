package leader_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/leader"
	"github.com/meridianhq/meridian/store"
)

// TestQueue checks the queue's contract: a redelivery while the first is
// queued keeps the first, deliveries come back oldest first and per repo,
// attempts are counted, and removed ones are gone.
func TestQueue(t *testing.T) {
	ctx := context.Background()
	q := leader.NewQueue(open(t, newDatabase(t)))
	t0 := time.UnixMilli(1_700_000_000_000)
	for _, d := range []store.QueuedDelivery{
		{ID: "b", RepoID: "r1", Event: "push", Payload: []byte(`{"n":2}`), QueuedAt: t0.Add(time.Second)},
		{ID: "a", RepoID: "r1", Event: "pull_request", Payload: []byte(`{"n":1}`), QueuedAt: t0},
		{ID: "c", RepoID: "r2", Event: "push", Payload: []byte(`{}`), QueuedAt: t0},
		{ID: "a", RepoID: "r1", Event: "pull_request", Payload: []byte(`{"redelivered":true}`), QueuedAt: t0.Add(time.Hour)},
	} {
		if err := q.Enqueue(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := q.Attempt(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := q.Queued(ctx, "r1", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.QueuedDelivery{
		{ID: "a", RepoID: "r1", Event: "pull_request", Payload: []byte(`{"n":1}`), QueuedAt: t0, Attempts: 2},
		{ID: "b", RepoID: "r1", Event: "push", Payload: []byte(`{"n":2}`), QueuedAt: t0.Add(time.Second)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queued (-want +got):\n%s", diff)
	}
	if err := q.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := q.Queued(ctx, "r1", 10); len(got) != 1 || got[0].ID != "b" {
		t.Errorf("after removing a: %+v, want only b", got)
	}
	if _, err := q.Attempt(ctx, "a"); err == nil {
		t.Error("an attempt at a removed delivery must fail")
	}
}
