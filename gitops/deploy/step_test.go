package deploy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// placed builds a tree placing workload w on the given targets.
func placed(w string, targets ...string) Tree {
	t := Tree{}
	for _, tg := range targets {
		t[appFile(w, tg)] = []byte(w + " on " + tg)
	}
	return t
}

func TestFirstStep(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	since := now.Add(-time.Hour)
	cases := map[string]struct {
		reason     string
		current    Tree
		desired    Tree
		pending    []Move
		configured bool
		held       bool
		wantTree   []string
		wantMoves  []Move
	}{
		"move keeps the old placement": {
			reason:  "a new target is added while the old one stays, and the move is recorded before publishing",
			current: placed("w", "a"), desired: placed("w", "b"), configured: true,
			wantTree:  []string{"apps/w/a.yaml", "apps/w/b.yaml"},
			wantMoves: []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseAdding, PlanID: "p2"}},
		},
		"scale in": {
			reason:  "dropping one of several targets needs nothing new to come up: removed at once",
			current: placed("w", "a", "b"), desired: placed("w", "a"), configured: true,
			wantTree: []string{"apps/w/a.yaml"},
		},
		"scale out": {
			reason:  "adding a target removes nothing",
			current: placed("w", "a"), desired: placed("w", "a", "b"), configured: true,
			wantTree: []string{"apps/w/a.yaml", "apps/w/b.yaml"},
		},
		"waiting move": {
			reason:  "a move waiting for its new target keeps the old one and its start time",
			current: placed("w", "a", "b"), desired: placed("w", "b"), configured: true,
			pending:   []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseWaiting, PlanID: "p1", Since: since, Attempts: 2}},
			wantTree:  []string{"apps/w/a.yaml", "apps/w/b.yaml"},
			wantMoves: []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseWaiting, PlanID: "p1", Since: since, Attempts: 2}},
		},
		"crash after publishing": {
			reason:  "an adding move whose commit is already in the repo becomes waiting from now",
			current: placed("w", "a", "b"), desired: placed("w", "b"), configured: true,
			pending:   []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseAdding, PlanID: "p1"}},
			wantTree:  []string{"apps/w/a.yaml", "apps/w/b.yaml"},
			wantMoves: []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseWaiting, PlanID: "p1", Since: now}},
		},
		"crash before publishing": {
			reason:  "an adding move whose commit never landed is simply started again",
			current: placed("w", "a"), desired: placed("w", "b"), configured: true,
			pending:   []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseAdding, PlanID: "p1"}},
			wantTree:  []string{"apps/w/a.yaml", "apps/w/b.yaml"},
			wantMoves: []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseAdding, PlanID: "p1"}},
		},
		"move reverted": {
			reason:  "going back to the old target drops the unconfirmed new one at once",
			current: placed("w", "a", "b"), desired: placed("w", "a"), configured: true,
			pending:  []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseWaiting, Since: since}},
			wantTree: []string{"apps/w/a.yaml"},
		},
		"move redirected": {
			reason:  "a new target during a move keeps both earlier ones until the newest is confirmed",
			current: placed("w", "a", "b"), desired: placed("w", "c"), configured: true,
			pending:   []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseWaiting, PlanID: "p1", Since: since}},
			wantTree:  []string{"apps/w/a.yaml", "apps/w/b.yaml", "apps/w/c.yaml"},
			wantMoves: []Move{{Workload: "w", From: []string{"a", "b"}, To: []string{"c"}, Phase: PhaseAdding, PlanID: "p1"}},
		},
		"unplaceable": {
			reason:  "a configured workload without placements keeps running where it is",
			current: placed("w", "a"), desired: Tree{}, configured: true,
			wantTree: []string{"apps/w/a.yaml"},
		},
		"deleted": {
			reason:  "a workload deleted from the config is removed",
			current: placed("w", "a"), desired: Tree{},
			wantTree: nil,
		},
		"held": {
			reason:  "a workload held by a blocking finding keeps its move untouched",
			current: placed("w", "a", "b"), desired: placed("w", "a", "b"), configured: true, held: true,
			pending:   []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseWaiting, Since: since}},
			wantTree:  []string{"apps/w/a.yaml", "apps/w/b.yaml"},
			wantMoves: []Move{{Workload: "w", From: []string{"a"}, To: []string{"b"}, Phase: PhaseWaiting, Since: since}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tree, moves := firstStep(tc.current, tc.desired, tc.pending, map[string]bool{"w": tc.configured}, map[string]bool{"w": tc.held}, "p2", now)
			var paths []string
			if len(tree) > 0 {
				paths = tree.Paths()
			}
			if diff := cmp.Diff(tc.wantTree, paths); diff != "" {
				t.Errorf("%s: tree (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantMoves, moves); diff != "" {
				t.Errorf("%s: moves (-want +got):\n%s", tc.reason, diff)
			}
			for _, p := range paths {
				if _, kept := tc.current[p]; kept {
					if _, rendered := tc.desired[p]; !rendered && string(tree[p]) != string(tc.current[p]) {
						t.Errorf("%s: kept file %s changed", tc.reason, p)
					}
				}
			}
		})
	}
}
