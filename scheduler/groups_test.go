package scheduler

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// TestRejectedGroups groups the rejected targets of one workload on ten
// targets t0…t9 that cost $1…$10 for it, with the rules worded as cases
// need, and checks the groups of its placement on the cheapest compliant
// target.
func TestRejectedGroups(t *testing.T) {
	const T = 10
	var targets []meridian.Target
	var rates []meridian.Rates
	for k := range T {
		targets = append(targets, meridian.Target{Name: fmt.Sprintf("t%d", k), Provider: meridian.ProviderAWS, Region: fmt.Sprintf("r%d", k)})
		rates = append(rates, perVCPU(float64(k+1)))
	}
	v := func(rule, msg string) meridian.Violation {
		return meridian.Violation{Rule: rule, Severity: meridian.SeverityDeny, Message: msg}
	}
	cases := map[string]struct {
		reason string
		// deny returns the violations on target k; t9 must stay compliant.
		deny  func(k int) []meridian.Violation
		want  []meridian.RejectionGroup
		count int
	}{
		"one reason": {
			reason: "eight targets failing one rule the same way make one group naming the three cheapest",
			deny: func(k int) []meridian.Violation {
				if k < 8 {
					return []meridian.Violation{v("MER-RET-001", "keeps logs 30 days")}
				}
				return nil
			},
			want:  []meridian.RejectionGroup{{Rule: "MER-RET-001", Reason: "keeps logs 30 days", Count: 8, Nearest: []string{"t0", "t1", "t2"}}},
			count: 8,
		},
		"two rules on one target": {
			reason: "a target failing two rules is in both groups and counted once; the group with the nearer target comes first",
			deny: func(k int) []meridian.Violation {
				switch {
				case k == 1:
					return []meridian.Violation{v("A", "a"), v("B", "b")}
				case k == 0 || k == 5:
					return []meridian.Violation{v("B", "b")}
				}
				return nil
			},
			want: []meridian.RejectionGroup{
				{Rule: "B", Reason: "b", Count: 3, Nearest: []string{"t0", "t1", "t5"}},
				{Rule: "A", Reason: "a", Count: 1, Nearest: []string{"t1"}},
			},
			count: 3,
		},
		"a message per target": {
			reason: "a rule naming each target keeps its 4 nearest messages and folds the other 5 into one group, so the groups stay few",
			deny: func(k int) []meridian.Violation {
				if k < 9 {
					return []meridian.Violation{v("ORG-1", fmt.Sprintf("t%d is not approved", k))}
				}
				return nil
			},
			want: []meridian.RejectionGroup{
				{Rule: "ORG-1", Reason: "t0 is not approved", Count: 1, Nearest: []string{"t0"}},
				{Rule: "ORG-1", Reason: "t1 is not approved", Count: 1, Nearest: []string{"t1"}},
				{Rule: "ORG-1", Reason: "t2 is not approved", Count: 1, Nearest: []string{"t2"}},
				{Rule: "ORG-1", Reason: "t3 is not approved", Count: 1, Nearest: []string{"t3"}},
				{Rule: "ORG-1", OtherReasons: 5, Count: 5, Nearest: []string{"t4", "t5", "t6"}},
			},
			count: 9,
		},
		"folded target with two messages": {
			reason: "a target failing one rule with two messages is counted once in the folded group",
			deny: func(k int) []meridian.Violation {
				if k == 8 {
					return []meridian.Violation{v("ORG-1", "x8"), v("ORG-1", "y8")}
				}
				if k < 9 {
					return []meridian.Violation{v("ORG-1", fmt.Sprintf("x%d", k))}
				}
				return nil
			},
			want: []meridian.RejectionGroup{
				{Rule: "ORG-1", Reason: "x0", Count: 1, Nearest: []string{"t0"}},
				{Rule: "ORG-1", Reason: "x1", Count: 1, Nearest: []string{"t1"}},
				{Rule: "ORG-1", Reason: "x2", Count: 1, Nearest: []string{"t2"}},
				{Rule: "ORG-1", Reason: "x3", Count: 1, Nearest: []string{"t3"}},
				{Rule: "ORG-1", OtherReasons: 6, Count: 5, Nearest: []string{"t4", "t5", "t6"}},
			},
			count: 9,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			row := make([][]meridian.Violation, T)
			for k := range row {
				row[k] = tc.deny(k)
			}
			p := &Problem{Workloads: []meridian.Workload{vcpus("w", 1)}, Targets: targets, Rates: rates, Violations: [][][]meridian.Violation{row}}
			res, err := Solve(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Placements) != 1 {
				t.Fatalf("%d placements, want 1; unplaceable %+v", len(res.Placements), res.Unplaceable)
			}
			ex := res.Placements[0].Explanation
			if diff := cmp.Diff(tc.want, ex.Rejected); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
			if ex.RejectedCount != tc.count {
				t.Errorf("%s: rejected_count %d, want %d", tc.reason, ex.RejectedCount, tc.count)
			}
		})
	}
}
