package config_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

const crossplaneTenant = "crossplane:\n  tenant_id: 3f1c2a9e-5b7d-4e21-9a4c-6d8e0f2b1a37\n"

// TestCrossplaneClusterErrors checks crossplane.cluster: one way to reach
// the cluster, a context only with a kubeconfig, a positive grace, each
// error naming file, line and field.
func TestCrossplaneClusterErrors(t *testing.T) {
	cases := map[string]struct {
		reason  string
		cluster string
		want    []string
	}{
		"neither": {
			reason:  "a cluster Meridian cannot reach is a mistake",
			cluster: "  cluster: {context: prod}\n",
			want: []string{
				`targets/a.yaml:12: crossplane.cluster: needs kubeconfig (a file on the host running Meridian) or in_cluster: true`,
			},
		},
		"both": {
			reason:  "kubeconfig and in-cluster config exclude each other",
			cluster: "  cluster:\n    kubeconfig: /etc/meridian/kubeconfig\n    in_cluster: true\n    context: prod\n",
			want: []string{
				`targets/a.yaml:12: crossplane.cluster: give kubeconfig or in_cluster: true, not both`,
				`targets/a.yaml:15: crossplane.cluster.context: only applies with kubeconfig`,
			},
		},
		"bad values": {
			reason:  "a path with a newline, a padded context and a grace that is no duration",
			cluster: "  cluster:\n    kubeconfig: \"/etc/kube\\nconfig\"\n    context: \" prod\"\n    ready_grace: soon\n",
			want: []string{
				`targets/a.yaml:13: crossplane.cluster.kubeconfig: must be a file path, got "/etc/kube\nconfig"`,
				`targets/a.yaml:14: crossplane.cluster.context: must not start or end with spaces`,
				`targets/a.yaml:15: crossplane.cluster.ready_grace: must be a positive duration such as 4h or 30m, got "soon"`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, got := loadErrors(t, map[string]string{"targets/a.yaml": deployTarget + crossplaneTenant + tc.cluster})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCrossplaneClusterDecodes(t *testing.T) {
	cfg, errs := loadErrors(t, map[string]string{"targets/a.yaml": deployTarget + crossplaneTenant +
		"  cluster: {kubeconfig: /etc/meridian/kubeconfig, context: prod-eu, ready_grace: 20m}\n"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := &meridian.CrossplaneCluster{Kubeconfig: "/etc/meridian/kubeconfig", Context: "prod-eu", ReadyGrace: 20 * time.Minute}
	if diff := cmp.Diff(want, cfg.Targets[0].Crossplane.Cluster); diff != "" {
		t.Errorf("crossplane.cluster (-want +got):\n%s", diff)
	}
}
