package controlplane_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

func TestConsentCheck(t *testing.T) {
	tf := []meridian.DestroyTerraform{{Target: "old", Resources: 3}}
	plan := &meridian.Plan{ID: "p1", Destroy: []meridian.DestroyItem{
		{Kind: meridian.DestroyTarget, Name: "old", Terraform: tf},
		{Kind: meridian.DestroyTarget, Name: "vault", Protected: true, Terraform: tf},
		{Kind: meridian.DestroyWorkload, Name: "web", DeployFiles: []string{"apps/web/old.yaml"}},
	}}
	merged := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	both := []string{"target/old", "workload/web"}
	cases := map[string]struct {
		reason    string
		consent   controlplane.Consent
		wantUsed  []int64
		wantNamed []string // items the refusal names; nil: no refusal
	}{
		"none": {"without consent every unprotected item is named; the protected one is not",
			controlplane.Consent{}, nil, []string{"target old", "workload web"}},
		"allow all": {"--allow-destroy consents to everything and uses no approval", controlplane.Consent{All: true}, nil, nil},
		"api approval of this plan": {"an operator's approval covers its own plan",
			controlplane.Consent{Approvals: []store.DestroyApproval{{ID: 7, PlanID: "p1", Items: both, Via: store.ApprovalAPI}}}, []int64{7}, nil},
		"api approval of another plan": {"an operator's approval of another plan is no consent to this one",
			controlplane.Consent{Approvals: []store.DestroyApproval{{ID: 7, PlanID: "p0", Items: both, Via: store.ApprovalAPI}}}, nil, []string{"target old", "workload web"}},
		"merged pr approval": {"a pull request's approval covers its items in the branch's plan once merged",
			controlplane.Consent{Approvals: []store.DestroyApproval{{ID: 8, PlanID: "pr-plan", PR: 4, Head: "h", Items: both, Via: store.ApprovalPR, MergedAt: merged}}}, []int64{8}, nil},
		"unmerged pr approval": {"before the merge, a pull request's approval is no consent",
			controlplane.Consent{Approvals: []store.DestroyApproval{{ID: 8, PlanID: "p1", PR: 4, Head: "h", Items: both, Via: store.ApprovalPR}}}, nil, []string{"target old", "workload web"}},
		"carried": {"consent an earlier apply carried over covers its items in any later plan",
			controlplane.Consent{Approvals: []store.DestroyApproval{{ID: 5, PlanID: "p0", Items: both, Via: store.ApprovalCarried}}}, []int64{5}, nil},
		"partial": {"an approval that names some items leaves the others without consent",
			controlplane.Consent{Approvals: []store.DestroyApproval{{ID: 9, PlanID: "p1", Items: []string{"workload/web"}, Via: store.ApprovalAPI}}}, nil, []string{"target old"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			used, err := tc.consent.Check(plan)
			var ce *controlplane.DestroyConsentError
			switch {
			case tc.wantNamed == nil && err != nil:
				t.Fatalf("%s: refused: %v", tc.reason, err)
			case tc.wantNamed != nil && !errors.As(err, &ce):
				t.Fatalf("%s: want a DestroyConsentError, got %v", tc.reason, err)
			case tc.wantNamed != nil:
				var named []string
				for _, d := range ce.Items {
					named = append(named, d.Kind+" "+d.Name)
					if !strings.Contains(err.Error(), d.Kind+" "+d.Name+" (") {
						t.Errorf("the refusal must name %s %s: %v", d.Kind, d.Name, err)
					}
				}
				if diff := cmp.Diff(tc.wantNamed, named); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
				}
				var refused *workflow.RefusedError
				if !errors.As(err, &refused) || meridian.ErrorCode(err) != meridian.ECONFLICT {
					t.Errorf("a consent refusal must be a workflow refusal (exit 2, 409): %v", err)
				}
			}
			if diff := cmp.Diff(tc.wantUsed, used); diff != "" {
				t.Errorf("%s: used approvals (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestConsentKeepsApprovalForMoves: an approval that covers a target whose
// files wait for moves to complete is not used up, so the apply that
// completes the moves has consent too.
func TestConsentKeepsApprovalForMoves(t *testing.T) {
	plan := &meridian.Plan{ID: "p1", Destroy: []meridian.DestroyItem{{Kind: meridian.DestroyTarget, Name: "old", Moving: []string{"apps/w/old.yaml"}}}}
	c := controlplane.Consent{Approvals: []store.DestroyApproval{{ID: 3, PR: 1, Items: []string{"target/old"}, MergedAt: time.Now()}}}
	used, err := c.Check(plan)
	if err != nil || len(used) != 0 {
		t.Errorf("Check = %v, %v; want consent without using the approval", used, err)
	}
}

func TestIsApproveDestroy(t *testing.T) {
	cases := map[string]bool{
		"meridian approve-destroy":                      true,
		"LGTM\n/meridian approve-destroy\n":             true,
		"  Meridian Approve-Destroy  ":                  true,
		"> meridian approve-destroy":                    false, // a quote is no command
		"comment `meridian approve-destroy` to approve": false,
		"meridian approve-destroy please":               false,
		"":                                              false,
	}
	for body, want := range cases {
		if got := controlplane.IsApproveDestroy(body); got != want {
			t.Errorf("IsApproveDestroy(%q) = %t, want %t", body, got, want)
		}
	}
}

// FuzzIsApproveDestroy: any comment body is read without panicking, and
// only one with the command on a line of its own approves.
func FuzzIsApproveDestroy(f *testing.F) {
	f.Add("meridian approve-destroy")
	f.Add("> meridian approve-destroy\n")
	f.Fuzz(func(t *testing.T, body string) {
		if controlplane.IsApproveDestroy(body) && !strings.Contains(strings.ToLower(body), "approve-destroy") {
			t.Fatalf("%q approves without the command", body)
		}
	})
}
