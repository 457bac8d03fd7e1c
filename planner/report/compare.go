package report

import (
	"cmp"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// Comparison is what a change to the config repo would do: the plan of its
// head against what runs now. The CLI (`meridian plan --base --head`) and the
// server's pull-request comment render the same Comparison.
type Comparison struct {
	// Title names the change, e.g. "PR #12 `feature` → `main`".
	Title string
	// Before is what runs now: the applied state when Meridian has applied
	// anything, otherwise the base's plan. Nil means nothing to compare with.
	Before *meridian.Plan
	// BeforeSource says what Before is, e.g. "applied state" or
	// "base `main` @ 1a2b3c4d".
	BeforeSource string
	// After is the head's plan, judged by the base's policies.
	After *meridian.Plan
	// PolicyChanged says the head changes policies (or the settings they
	// read). Its rules apply only after merge; Preview is what the head's own
	// policies find, so that reviewers see their effect now.
	PolicyChanged bool
	Preview       []meridian.Finding
	// TerraformSkipped, when set, says why the head was planned without
	// Terraform (e.g. its repository is not trusted to run modules).
	TerraformSkipped string
	// BlobURL, when set, is the URL prefix of files at the head commit
	// (https://github.com/OWNER/REPO/blob/SHA); finding locations link to
	// BlobURL/FILE#LLINE.
	BlobURL string
}

// Blocking reports whether the head's plan may not be merged: it has a deny
// finding or an unplaceable workload.
func (c *Comparison) Blocking() bool { return c.After != nil && c.After.Blocking() }

// PlacementChange is one workload whose targets, replicas or monthly cost
// differ between Before and After.
type PlacementChange struct {
	Workload string `json:"workload"`
	// From and To are the workload's targets, sorted; empty when it is new
	// or removed (or unplaceable).
	From           []string       `json:"from"`
	To             []string       `json:"to"`
	ReplicasBefore int            `json:"replicas_before"`
	ReplicasAfter  int            `json:"replicas_after"`
	MonthlyBefore  meridian.Money `json:"monthly_before"`
	MonthlyAfter   meridian.Money `json:"monthly_after"`
	// Reason is the one-line explanation of the new placement.
	Reason string `json:"reason"`
}

// Delta is the change in monthly cost.
func (p PlacementChange) Delta() meridian.Money { return p.MonthlyAfter - p.MonthlyBefore }

type workloadState struct {
	targets  []string
	replicas int
	monthly  meridian.Money
	reason   string
	blocked  bool
}

func workloadStates(p *meridian.Plan) map[string]*workloadState {
	out := map[string]*workloadState{}
	if p == nil {
		return out
	}
	for _, pl := range p.Placements {
		s := out[pl.Workload]
		if s == nil {
			s = &workloadState{reason: pl.Explanation.Reason}
			out[pl.Workload] = s
		}
		s.targets = append(s.targets, pl.Target)
		s.replicas += pl.Replicas
		s.monthly += pl.MonthlyCost
		s.blocked = s.blocked || pl.Blocked
	}
	for _, s := range out {
		slices.Sort(s.targets)
	}
	for _, u := range p.Unplaceable {
		if out[u.Workload] == nil {
			out[u.Workload] = &workloadState{reason: "unplaceable: " + u.Reason}
		}
	}
	return out
}

// PlacementChanges lists the workloads whose placement differs between
// before and after, largest monthly change first. A cost change below a
// cent is no change.
func PlacementChanges(before, after *meridian.Plan) []PlacementChange {
	b, a := workloadStates(before), workloadStates(after)
	var out []PlacementChange
	for _, name := range unionKeys(b, a) {
		bs, as := b[name], a[name]
		if bs == nil {
			bs = &workloadState{}
		}
		if as == nil {
			as = &workloadState{reason: "removed from the config"}
		}
		if slices.Equal(bs.targets, as.targets) && bs.replicas == as.replicas && (as.monthly-bs.monthly).Round() == 0 {
			continue
		}
		reason := as.reason
		if as.blocked {
			reason = "blocked by a deny finding; " + reason
		}
		out = append(out, PlacementChange{
			Workload: name, From: bs.targets, To: as.targets,
			ReplicasBefore: bs.replicas, ReplicasAfter: as.replicas,
			MonthlyBefore: bs.monthly, MonthlyAfter: as.monthly, Reason: reason,
		})
	}
	slices.SortStableFunc(out, func(x, y PlacementChange) int {
		if c := cmp.Compare(abs(y.Delta()), abs(x.Delta())); c != 0 {
			return c
		}
		return strings.Compare(x.Workload, y.Workload)
	})
	return out
}

func unionKeys[V any](ms ...map[string]V) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

func abs(m meridian.Money) meridian.Money {
	if m < 0 {
		return -m
	}
	return m.Round()
}

// findingKey identifies a finding across two plans of the same config:
// messages may differ in wording, rule and place do not.
func findingKey(f meridian.Finding) string {
	return strings.Join([]string{f.Rule, string(f.Severity), f.Workload, f.Target, f.Field, f.File}, "\x00")
}

// PreviewDiff splits the head's own findings (preview) against the findings
// of the plan judged by the base's policies (current): added are findings
// only the head's policies produce, resolved are findings they no longer
// produce.
func PreviewDiff(current, preview []meridian.Finding) (added, resolved []meridian.Finding) {
	cur := map[string]bool{}
	for _, f := range current {
		cur[findingKey(f)] = true
	}
	pre := map[string]bool{}
	for _, f := range preview {
		pre[findingKey(f)] = true
		if !cur[findingKey(f)] {
			added = append(added, f)
		}
	}
	for _, f := range current {
		if !pre[findingKey(f)] {
			resolved = append(resolved, f)
		}
	}
	return added, resolved
}
