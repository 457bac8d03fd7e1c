package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAccountConfig(t *testing.T) {
	const aws = `apiVersion: meridian/v1
kind: Target
name: aws-euc
provider: aws
region: eu-central-1
jurisdiction: eu
log_retention_max_days: 3653
pricing: {catalog: true}
`
	const edge = `apiVersion: meridian/v1
kind: Target
name: edge-ber
provider: edge
region: ber
jurisdiction: eu
log_retention_max_days: 30
capacity: {vcpu: 8, memory_gib: 32}
pricing: {vcpu_hour: 0.01, gib_hour: 0.001, egress_gb: 0.01, storage_gb_month: 0.01}
`
	cases := map[string]struct {
		reason string
		target string
		want   []string
	}{
		"aws valid": {
			reason: "an account ID, a profile and a role to assume are what an AWS audit reads with",
			target: aws + "account: {id: \"123456789012\", profile: audit, role_arn: \"arn:aws:iam::123456789012:role/meridian-audit\"}\n",
		},
		"aws bad id and role": {
			reason: "an account ID that is not 12 digits, or a role that is not an IAM role ARN, is named with its line",
			target: aws + "account:\n  id: \"12345\"\n  role_arn: arn:aws:s3:::bucket\n",
			want: []string{
				`targets/t.yaml:10: account.id: must be a 12-digit AWS account ID, got "12345"`,
				`targets/t.yaml:11: account.role_arn: must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got "arn:aws:s3:::bucket"`,
			},
		},
		"aws with kube context": {
			reason: "a cloud target's inventory is read through its SDK, not a kubeconfig",
			target: aws + "account: {id: \"123456789012\", kube_context: prod}\n",
			want:   []string{`targets/t.yaml:9: account.kube_context: only onprem and edge targets are read through a Kubernetes API`},
		},
		"edge valid": {
			reason: "an edge target is read through its kubeconfig context",
			target: edge + "account: {kube_context: edge-ber}\n",
		},
		"edge with id and profile": {
			reason: "an edge target has no cloud account, and needs its context",
			target: edge + "account: {id: \"123456789012\", profile: x}\n",
			want: []string{
				`targets/t.yaml:10: account.id: edge targets have no cloud account: name their kubeconfig context in account.kube_context`,
				`targets/t.yaml:10: account.kube_context: required for edge targets: the kubeconfig context of the target's Kubernetes API`,
				`targets/t.yaml:10: account.profile: only aws targets read an AWS profile`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, got := loadErrors(t, map[string]string{"targets/t.yaml": tc.target})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
