package controlplane

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// openStore is a DriftStore that only answers OpenDrift.
type openStore struct{ open []meridian.DriftRecord }

func (s openStore) SyncDrift(context.Context, string, []meridian.DriftEngine, []meridian.DriftRecord) ([]meridian.Event, error) {
	return nil, errors.New("driftCurrent must not sync")
}

func (s openStore) OpenDrift(context.Context, string) ([]meridian.DriftRecord, error) {
	return s.open, nil
}

// TestDriftCurrentCrossplane checks which crossplane records a sync gets:
// what the check found, plus the open records of targets whose cluster
// could not be read, carried over as they are; and that a crossplane check
// that failed as a whole leaves the engine out, so its records stay open.
func TestDriftCurrentCrossplane(t *testing.T) {
	xp := meridian.DriftEngineCrossplane
	openAWS := meridian.DriftRecord{ID: 1, Engine: xp, Target: "aws", Resource: "Bucket.s3/api/a", Action: meridian.DriftNotReady}
	openGCP := meridian.DriftRecord{ID: 2, Engine: xp, Target: "gcp", Resource: "Bucket.storage/api/g", Action: meridian.DriftMissing}
	foundGCP := meridian.DriftRecord{Engine: xp, Target: "gcp", Resource: "Bucket.storage/api/g2", Action: meridian.DriftSyncFailed}
	st := openStore{open: []meridian.DriftRecord{openAWS, openGCP}}
	cases := map[string]struct {
		reason      string
		crossplane  *deploy.CrossplaneReport
		wantEngines []meridian.DriftEngine
		want        []meridian.DriftRecord
	}{
		"aws unreachable": {
			reason:      "aws keeps its record; gcp's old record is gone from the sync, so it clears",
			crossplane:  &deploy.CrossplaneReport{Items: []meridian.DriftRecord{foundGCP}, Checked: []string{"gcp"}, Failed: map[string]string{"aws": "connection refused"}},
			wantEngines: []meridian.DriftEngine{meridian.DriftEngineTerraform, meridian.DriftEngineDeployRepo, meridian.DriftEngineArgoCD, xp},
			want:        []meridian.DriftRecord{foundGCP, openAWS},
		},
		"not checked": {
			reason:      "a check that failed as a whole is no engine checked",
			crossplane:  &deploy.CrossplaneReport{Error: "the config does not parse"},
			wantEngines: []meridian.DriftEngine{meridian.DriftEngineTerraform, meridian.DriftEngineDeployRepo, meridian.DriftEngineArgoCD},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out := &DriftOutcome{DriftReport: &workflow.DriftReport{}, Deploy: &DeployDrift{}, Crossplane: tc.crossplane}
			engines, current, err := driftCurrent(context.Background(), st, "r1", out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantEngines, engines); diff != "" {
				t.Errorf("%s: engines (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want, current); diff != "" {
				t.Errorf("%s: records to sync (-want +got):\n%s", tc.reason, diff)
			}
			if got := out.Errored(); got != (tc.crossplane.Error != "" || len(tc.crossplane.Failed) > 0) {
				t.Errorf("%s: Errored() = %v", tc.reason, got)
			}
		})
	}
}
