package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// rulesFile holds Meridian's alert rules: promtool checks and unit-tests
// it (cmd/meridian TestPrometheusRules), and the chart's PrometheusRule
// templates it.
var rulesFile = filepath.Join(chartDir, "files", "rules.yaml")

// TestChartPrometheusRule checks the optional PrometheusRule: off by
// default; on, it carries the configured labels and exactly the groups of
// files/rules.yaml, their Prometheus templates ({{ $labels.x }}) left for
// Prometheus. The PrometheusRule CRD is not among the schemas at hand, so
// its structure is checked here rather than by an API server: the fields
// the Prometheus Operator requires (spec.groups[].name, rules[].expr and
// one of alert or record).
func TestChartPrometheusRule(t *testing.T) {
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Groups []any `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &want); err != nil || len(want.Groups) == 0 {
		t.Fatalf("%s: no rule groups (%v)", rulesFile, err)
	}
	enabled := func(labels map[string]any) map[string]any {
		v := prodValues()
		v["prometheusRule"] = map[string]any{"enabled": true, "labels": labels}
		return v
	}
	cases := map[string]struct {
		reason string
		vals   map[string]any
		want   int
		labels map[string]string
	}{
		"off by default": {"the CRD may be missing: an install must not need it unless asked",
			prodValues(), 0, nil},
		"on, with labels": {"Prometheus selects rules by label, e.g. the kube-prometheus-stack's release",
			enabled(map[string]any{"release": "prometheus", "team": "platform"}), 1,
			map[string]string{"release": "prometheus", "team": "platform", "app.kubernetes.io/name": "meridian"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			files, err := render(t, tc.vals)
			if err != nil {
				t.Fatal(err)
			}
			var rules []*unstructured.Unstructured
			for _, o := range objects(t, files) {
				if o.GetKind() == "PrometheusRule" {
					rules = append(rules, o)
				}
			}
			if len(rules) != tc.want {
				t.Fatalf("%s: %d PrometheusRules rendered, want %d", tc.reason, len(rules), tc.want)
			}
			if tc.want == 0 {
				return
			}
			r := rules[0]
			if r.GetAPIVersion() != "monitoring.coreos.com/v1" || r.GetNamespace() != namespace || r.GetName() == "" {
				t.Errorf("PrometheusRule %s/%s of %s", r.GetNamespace(), r.GetName(), r.GetAPIVersion())
			}
			for k, v := range tc.labels {
				if r.GetLabels()[k] != v {
					t.Errorf("%s: label %s = %q, want %q", tc.reason, k, r.GetLabels()[k], v)
				}
			}
			got, _, _ := unstructured.NestedSlice(r.Object, "spec", "groups")
			if diff := cmp.Diff(want.Groups, got); diff != "" {
				t.Errorf("spec.groups differ from %s (-file +rendered):\n%s", rulesFile, diff)
			}
			checkRuleGroups(t, got)
			if b, _ := yaml.Marshal(got); !strings.Contains(string(b), "{{ $labels.instance }}") {
				t.Error("the rules' Prometheus templates were expanded or lost: {{ $labels.instance }} is gone")
			}
		})
	}

	l := lint.RunAll(chartDir, enabled(map[string]any{"release": "prometheus"}), namespace)
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint with prometheusRule.enabled: %s", m)
		}
	}
}

// checkRuleGroups checks the PrometheusRule fields the Prometheus
// Operator's CRD requires, and that group names are unique, as Prometheus
// requires of a rule file.
func checkRuleGroups(t *testing.T, groups []any) {
	t.Helper()
	names := map[string]bool{}
	for i, g := range groups {
		gm, _ := g.(map[string]any)
		name, _ := gm["name"].(string)
		if name == "" || names[name] {
			t.Errorf("groups[%d]: name %q is empty or repeated", i, name)
		}
		names[name] = true
		rules, _ := gm["rules"].([]any)
		if len(rules) == 0 {
			t.Errorf("group %s: no rules", name)
		}
		for j, r := range rules {
			rm, _ := r.(map[string]any)
			alert, _ := rm["alert"].(string)
			record, _ := rm["record"].(string)
			expr, _ := rm["expr"].(string)
			if (alert == "") == (record == "") || expr == "" {
				t.Errorf("group %s rule %d: want one of alert or record, and expr: %v", name, j, rm)
			}
		}
	}
}
