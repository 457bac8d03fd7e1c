package web_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/leader/leadertest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

// memQueue is web.DeliveryQueue in memory; package leader's Queue is the
// real one, tested on PostgreSQL there and end to end in cmd/meridian.
type memQueue struct {
	mu   sync.Mutex
	rows []store.QueuedDelivery
}

func (q *memQueue) Enqueue(_ context.Context, d store.QueuedDelivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !slices.ContainsFunc(q.rows, func(r store.QueuedDelivery) bool { return r.ID == d.ID }) {
		q.rows = append(q.rows, d)
	}
	return nil
}

func (q *memQueue) Queued(_ context.Context, repoID string, limit int) ([]store.QueuedDelivery, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []store.QueuedDelivery
	for _, r := range q.rows {
		if r.RepoID == repoID && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (q *memQueue) Attempt(_ context.Context, id string) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.rows {
		if q.rows[i].ID == id {
			q.rows[i].Attempts++
			return q.rows[i].Attempts, nil
		}
	}
	return 0, store.NotFound("queued delivery", id)
}

func (q *memQueue) Remove(_ context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rows = slices.DeleteFunc(q.rows, func(r store.QueuedDelivery) bool { return r.ID == id })
	return nil
}

func (q *memQueue) ids() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, r := range q.rows {
		out = append(out, r.ID)
	}
	return out
}

// leadership is web.Leadership, switched by the test.
type leadership struct {
	leading atomic.Bool
	url     atomic.Value
}

func (l *leadership) Leading() bool { return l.leading.Load() }

func (l *leadership) LeaderURL() string {
	s, _ := l.url.Load().(string)
	return s
}

// TestQueuedDeliveries follows webhook deliveries through the queue that
// replicas sharing a store use: a replica queues what it receives and
// processes nothing itself; the leader's RunDeliveries processes each
// queued delivery once, claims one whose replica stopped before claiming
// it, drops a redelivery of a processed one, and gives up one that every
// leader died processing.
func TestQueuedDeliveries(t *testing.T) {
	q, ld := &memQueue{}, &leadership{}
	h := newHarness(t, harnessOptions{recon: controlplane.ReconcilerOptions{Interval: 24 * time.Hour},
		server: web.Options{Queue: q, Leader: ld}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	controlplanetest.WaitFor(t, "the startup plan", func() bool { return h.Recon.State().Commit == "c1" })
	h.Loader.Set("master", snapshot("c2", config(nil, workload("api", "alice", 4))))
	push := payload(t, "push.branch.argo-cd-testdata.json")

	code, reply := h.webhook("push", "q-1", push, "")
	if code != http.StatusAccepted || reply["status"] != "accepted" {
		t.Fatalf("push to a replica: %d %v, want 202 accepted", code, reply)
	}
	if code, reply := h.webhook("ping", "q-ping", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`), ""); code != http.StatusOK || reply["status"] != "pong" {
		t.Errorf("ping: %d %v; a ping is answered at once, not queued", code, reply)
	}
	// A replica that stopped between queueing and claiming, and one whose
	// delivery every leader died processing.
	ctx := context.Background()
	if err := q.Enqueue(ctx, store.QueuedDelivery{ID: "q-unclaimed", RepoID: controlplanetest.RepoID, Event: "push", Payload: push}); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, store.QueuedDelivery{ID: "q-poison", RepoID: controlplanetest.RepoID, Event: "push", Payload: push, Attempts: 5}); err != nil {
		t.Fatal(err)
	}
	if d, err := h.St.GetDelivery(ctx, "q-1"); err != nil || d.Status != store.DeliveryReceived {
		t.Fatalf("q-1 before the leader looked: %+v, %v; want received", d, err)
	}
	if got := q.ids(); !slices.Equal(got, []string{"q-1", "q-unclaimed", "q-poison"}) {
		t.Fatalf("queue: %v", got)
	}
	if h.Recon.State().Commit != "c1" {
		t.Fatal("a queued push was processed before any leader ran")
	}

	ld.leading.Store(true)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.RunDeliveries(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("RunDeliveries: %v", err)
		}
	}()
	for _, id := range []string{"q-1", "q-unclaimed"} {
		if d := h.waitDelivery(id); d.Status != store.DeliveryProcessed || d.RunID != h.Recon.State().PlanID {
			t.Errorf("%s: %+v, want processed with the plan of c2 (%s)", id, d, h.Recon.State().PlanID)
		}
	}
	if d := h.waitDelivery("q-poison"); d.Status != store.DeliveryFailed || !strings.Contains(d.Error, "given up") {
		t.Errorf("q-poison: %+v, want failed, given up", d)
	}
	controlplanetest.WaitFor(t, "an empty queue", func() bool { return len(q.ids()) == 0 })
	if h.Recon.State().Commit != "c2" {
		t.Errorf("state after the queued push: %+v, want c2 planned", h.Recon.State())
	}
	plans := h.Planner.Calls()

	// GitHub redelivers q-1: acknowledged as a duplicate, queued again for
	// a moment, and dropped by the leader without processing it.
	if code, reply := h.webhook("push", "q-1", push, ""); code != http.StatusOK || reply["status"] != "duplicate" {
		t.Errorf("redelivery: %d %v, want 200 duplicate", code, reply)
	}
	controlplanetest.WaitFor(t, "the redelivery dropped", func() bool { return len(q.ids()) == 0 })
	if d, _ := h.St.GetDelivery(ctx, "q-1"); d.Status != store.DeliveryProcessed || h.Planner.Calls() != plans {
		t.Errorf("after the redelivery: %+v, %d plans (was %d)", d, h.Planner.Calls(), plans)
	}
}

// TestForwardToLeader checks what a replica that does not lead does with
// the requests only the leader serves: it forwards them, credentials
// included, to the leader's URL once; with no leader known, or for a
// request forwarded already, it answers 503. Roles are checked before.
func TestForwardToLeader(t *testing.T) {
	leaderSrv := leadertest.NewPeer(t)
	ld := &leadership{}
	ld.url.Store(leaderSrv.URL)
	h := newHarness(t, harnessOptions{server: web.Options{Leader: ld, Peers: mustPeers(t, leaderSrv.URL)}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))

	var out map[string]any
	if code := h.do("POST", "/api/v1/plans", web.RoleOperator, map[string]string{"ref": "main"}, &out); code != http.StatusCreated || out["id"] != "from-the-leader" {
		t.Fatalf("plan on a replica: %d %v, want the leader's 201", code, out)
	}
	first := leaderSrv.Requests()
	want := leadertest.Request{Path: "/api/v1/plans", Authorization: "Bearer " + h.tokens[web.RoleOperator], ForwardedBy: "replica", Body: `{"ref":"main"}`}
	if len(first) != 1 || first[0] != want {
		t.Fatalf("the leader got %+v, want %+v", first, want)
	}
	if code := h.do("POST", "/api/v1/plans/p1/apply", web.RoleViewer, nil, nil); code != http.StatusForbidden {
		t.Errorf("a viewer's apply on a replica: %d, want 403 before any forwarding", code)
	}
	var ready struct {
		Leader *bool `json:"leader"`
	}
	if code := h.do("GET", "/readyz", "", nil, &ready); code != http.StatusOK || ready.Leader == nil || *ready.Leader {
		t.Errorf("/readyz of a replica that does not lead: %d, leader %v; want 200 and false", code, ready.Leader)
	}

	// Forwarded once already: never again, whatever this replica thinks.
	req, _ := http.NewRequest("POST", h.http.URL+"/api/v1/plans", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+h.tokens[web.RoleOperator])
	req.Header.Set(web.HeaderForwarded, "replica")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a forwarded request at a replica that does not lead: %d, want 503", resp.StatusCode)
	}
	ld.url.Store("")
	if code := h.do("POST", "/api/v1/plans", web.RoleOperator, map[string]string{}, nil); code != http.StatusServiceUnavailable {
		t.Errorf("no leader known: %d, want 503", code)
	}
	if n := len(leaderSrv.Requests()); n != 1 {
		t.Errorf("the leader got %d requests, want only the first", n)
	}

	ld.leading.Store(true)
	if code := h.do("POST", "/api/v1/plans", web.RoleOperator, map[string]string{}, &out); code != http.StatusCreated || out["id"] == "from-the-leader" {
		t.Errorf("plan on the leader: %d %v, want its own plan", code, out)
	}
	if code := h.do("GET", "/readyz", "", nil, &ready); code != http.StatusOK || ready.Leader == nil || !*ready.Leader {
		t.Errorf("/readyz of the leader: %d, leader %v; want true", code, ready.Leader)
	}
}

// TestPushProcessedWhenApplyWaits: a push is processed once its commit is
// planned, even when applying it on merge must wait (here for a target
// another run holds): the loop retries the apply by itself, and a failed
// delivery would make GitHub's Redeliver, or a leader after a failover,
// redo what is done.
func TestPushProcessedWhenApplyWaits(t *testing.T) {
	h := newHarness(t, harnessOptions{recon: controlplane.ReconcilerOptions{Interval: 24 * time.Hour}})
	held := "aws-a"
	h.Planner.Held.Store(&held)
	cfg := config(nil, workload("api", "alice", 2))
	cfg.Settings.AutoApply = true
	h.Loader.Set("master", snapshot("c1", cfg))
	if code, _ := h.webhook("push", "held-1", payload(t, "push.branch.argo-cd-testdata.json"), ""); code != http.StatusAccepted {
		t.Fatalf("push: %d", code)
	}
	d := h.waitDelivery("held-1")
	if d.Status != store.DeliveryProcessed || d.RunID == "" || h.Applier.Applied() != 0 {
		t.Errorf("delivery %+v with %d applies; want processed, naming the plan, and nothing applied", d, h.Applier.Applied())
	}
	if !strings.Contains(h.Recon.State().LastError, "skipped aws-a") {
		t.Errorf("the branch's last error %q does not say the apply waits", h.Recon.State().LastError)
	}
}
