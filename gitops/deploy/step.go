package deploy

import (
	"slices"
	"sort"
	"time"
)

// firstStep computes the tree of an apply's first commit and the moves in
// progress after it, from the tree the repository holds now (current), the
// rendered tree (desired) and the moves saved by earlier applies.
//
// Per workload, with the targets it has in current and in desired:
//   - targets only in desired are added;
//   - targets only in current are removed at once when nothing new has to
//     come up first (a smaller spread, a workload deleted from the config,
//     a move back to where it already runs);
//   - otherwise they are kept, with their files unchanged, and a Move
//     records them until the targets that replace them are confirmed.
//
// A workload that is still configured but has no placement (unplaceable)
// keeps all its files: an unplaceable plan never takes a workload down.
// A held workload (blocking finding) keeps its files and its move as they
// are.
func firstStep(current, desired Tree, pending []Move, configured, held map[string]bool, planID string, now time.Time) (Tree, []Move) {
	tree := Tree{}
	for p, b := range desired {
		tree[p] = b
	}
	byW := map[string]Move{}
	for _, m := range pending {
		byW[m.Workload] = m
	}
	cur, want := current.Workloads(), desired.Workloads()
	names := map[string]bool{}
	for w := range cur {
		names[w] = true
	}
	for w := range want {
		names[w] = true
	}
	for w := range byW {
		names[w] = true
	}
	var moves []Move
	for _, w := range sortedKeys(names) {
		p, hasP := byW[w]
		if held[w] {
			if hasP {
				moves = append(moves, p)
			}
			continue
		}
		if len(want[w]) == 0 && configured[w] {
			keep(tree, current, w, nil)
			if hasP {
				moves = append(moves, p)
			}
			continue
		}
		adds, removes := minus(want[w], cur[w]), minus(cur[w], want[w])
		to := adds
		if hasP {
			to = union(to, intersect(p.To, want[w]))
		}
		if len(removes) == 0 || len(to) == 0 {
			continue
		}
		keep(tree, current, w, removes)
		m := Move{Workload: w, From: removes, To: to, Phase: PhaseWaiting, PlanID: planID}
		if hasP {
			m.PlanID, m.AddCommit, m.Since, m.Attempts, m.LastError, m.Phase = p.PlanID, p.AddCommit, p.Since, p.Attempts, p.LastError, p.Phase
		}
		switch {
		case len(adds) > 0:
			m.Phase, m.Since, m.AddCommit, m.Attempts, m.LastError = PhaseAdding, time.Time{}, "", 0, ""
		case m.Phase == PhaseAdding:
			// The adding commit was published but Meridian stopped before
			// recording it: the grace period starts now.
			m.Phase, m.Since = PhaseWaiting, now
		}
		moves = append(moves, m)
	}
	return tree, moves
}

// keep copies w's files from src into dst: all of them, or those of the
// given targets.
func keep(dst, src Tree, w string, targets []string) {
	for p, b := range src {
		if wl, t, ok := Owner(p); ok && wl == w && (targets == nil || slices.Contains(targets, t)) {
			dst[p] = b
		}
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
