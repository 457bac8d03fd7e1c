package workflow_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/workflow"
)

func TestDriftRecord(t *testing.T) {
	long := strings.Repeat("x", 3000)
	cases := map[string]struct {
		reason string
		d      terraform.Drifted
		side   workflow.DriftSide
		want   meridian.DriftRecord
	}{
		"Refreshed": {
			reason: "refresh-only drift: before is what was applied, after what runs",
			d: terraform.Drifted{Address: `aws_s3_bucket.b["api"]`, Key: "api", Action: "update", Attributes: []string{"tags", "versioning"},
				Before: map[string]any{"tags": map[string]any{"env": "prod"}, "versioning": true},
				After:  map[string]any{"tags": map[string]any{"env": "dev"}, "versioning": false}},
			side: workflow.DriftRefreshed,
			want: meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "east", Workload: "api", Resource: `aws_s3_bucket.b["api"]`,
				Action: "update", Expected: `{"tags":{"env":"prod"},"versioning":true}`, Actual: `{"tags":{"env":"dev"},"versioning":false}`},
		},
		"Restore": {
			reason: "a restoring plan goes from what runs (before) to what was applied (after)",
			d: terraform.Drifted{Address: "terraform_data.w", Action: "replace", Attributes: []string{"input", "output"},
				Before: map[string]any{"input": map[string]any{"replicas": 5, "token": terraform.Redacted}, "output": "old"},
				After:  map[string]any{"input": map[string]any{"replicas": 2, "token": terraform.Redacted}, "output": terraform.Unknown}},
			side: workflow.DriftRestore,
			want: meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "east", Resource: "terraform_data.w", Action: "replace",
				Expected: `{"input":{"replicas":2,"token":"(sensitive value)"},"output":"(known after apply)"}`,
				Actual:   `{"input":{"replicas":5,"token":"(sensitive value)"},"output":"old"}`},
		},
		"Gone": {
			reason: "a resource removed behind Meridian's back is present against absent, not its whole object",
			d: terraform.Drifted{Address: "terraform_data.w", Action: "create", Attributes: []string{"id", "input"},
				After: map[string]any{"id": terraform.Unknown, "input": "x"}},
			side: workflow.DriftRestore,
			want: meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "east", Resource: "terraform_data.w", Action: "create",
				Expected: "present", Actual: "absent"},
		},
		"TooLong": {
			reason: "values too long to keep name the attributes instead",
			d: terraform.Drifted{Address: "aws_iam_policy.p", Action: "update", Attributes: []string{"policy"},
				Before: map[string]any{"policy": long}, After: map[string]any{"policy": "{}"}},
			side: workflow.DriftRefreshed,
			want: meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "east", Resource: "aws_iam_policy.p", Action: "update",
				Expected: "attributes policy", Actual: `{"policy":"{}"}`},
		},
		"NoAttributes": {
			reason: "a change Terraform reports with no differing attribute still says the resource is there",
			d:      terraform.Drifted{Address: "null_resource.n", Action: "update", Before: map[string]any{}, After: map[string]any{}},
			side:   workflow.DriftRefreshed,
			want: meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "east", Resource: "null_resource.n", Action: "update",
				Expected: "present", Actual: "present"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := workflow.DriftRecord("east", tc.d.Key, tc.d, tc.side)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
