package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/citest"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// The monitoring files shipped in deploy/ and in the Helm chart (the
// alert rules, which its PrometheusRule templates), checked against the
// server that exposes the metrics they query.
var (
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "meridian.json")
	rulesFile     = filepath.Join("..", "..", "charts", "meridian", "files", "rules.yaml")
	rulesTestDir  = filepath.Join("..", "..", "deploy", "prometheus")
)

// metricName finds the Meridian metric names in a PromQL expression.
var metricName = regexp.MustCompile(`\bmeridian_[a-z0-9_]+`)

// dashboardExprs returns every query of the dashboard, keyed by panel
// title and ref ID.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Type    string
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string
			}
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("%s: panel %q queries nothing", dashboardFile, p.Title)
		}
		for _, tg := range p.Targets {
			out[p.Title+" "+tg.RefID] = tg.Expr
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no queries", dashboardFile)
	}
	return out
}

// ruleExprs returns every rule's expression in rules.yaml, keyed by alert.
func ruleExprs(t *testing.T) map[string]string {
	t.Helper()
	path := rulesFile
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out[r.Alert+r.Record] = r.Expr
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", path)
	}
	return out
}

// probe is a collector of one descriptor, registered only to ask a
// registry whether a metric name is taken.
type probe struct{ desc *prometheus.Desc }

func (p probe) Describe(ch chan<- *prometheus.Desc) { ch <- p.desc }
func (p probe) Collect(chan<- prometheus.Metric)    {}

// registered reports whether reg has a collector describing a metric
// named name. A registry lists no names, and Gather leaves out vectors
// with no series yet (applies_total before any apply); but it refuses a
// second descriptor of a taken name with another help string, which
// answers the question for every collector, constant ones included.
func registered(reg *prometheus.Registry, name string) bool {
	p := probe{prometheus.NewDesc(name, "probe "+name, nil, nil)}
	if err := reg.Register(p); err != nil {
		return true
	}
	reg.Unregister(p)
	return false
}

// TestMonitoringMetricsExist boots the server as `meridian serve` wires
// it and checks that every meridian_* metric the Grafana dashboard and the
// alert rules query is on the registry /metrics serves, so that renaming
// a metric breaks this test rather than a dashboard in production.
func TestMonitoringMetricsExist(t *testing.T) {
	m, _ := bootServer(t, exampleRepo(t), t.TempDir(), func(c *ServeConfig) { c.NoTerraform = true })
	reg := m.Metrics().Registry
	if registered(reg, "meridian_no_such_metric") {
		t.Fatal("the probe finds a metric that does not exist: the check below would prove nothing")
	}
	sources := map[string]map[string]string{"dashboard": dashboardExprs(t), "rules": ruleExprs(t)}
	seen := map[string]bool{}
	for src, exprs := range sources {
		for where, expr := range exprs {
			names := metricName.FindAllString(expr, -1)
			if len(names) == 0 && !strings.Contains(expr, "up{") {
				t.Errorf("%s %q: %q queries no meridian_* metric", src, where, expr)
			}
			for _, n := range names {
				seen[n] = true
				base := n
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && registered(reg, b) {
						base = b
					}
				}
				if !registered(reg, base) {
					t.Errorf("%s %q queries %s, which the server does not expose", src, where, n)
				}
			}
		}
	}
	// The list: each of these is on the dashboard.
	dash := strings.Join(slices.Collect(maps.Values(sources["dashboard"])), "\n")
	for _, want := range []string{
		"meridian_reconcile_last_success_timestamp_seconds", // reconcile lag
		"meridian_plan_duration_seconds_bucket",
		"meridian_applies_total",
		"meridian_drifted_resources",
		"meridian_findings",
		"meridian_alert_outbox_depth",
		`meridian_http_request_duration_seconds_bucket{job=~"$job",route="/webhooks/github"}`, // webhook latency
	} {
		if !strings.Contains(dash, want) {
			t.Errorf("the dashboard does not query %s", want)
		}
	}
	names := slices.Sorted(maps.Keys(seen))
	t.Logf("%d metrics queried: %s", len(names), strings.Join(names, " "))
}

// promtool finds Debian's promtool; under CI=true its absence fails.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		citest.Missing(t, "no promtool on PATH (Debian package prometheus)")
	}
	return p
}

// grafanaVars stands in for the dashboard's variables, so that promtool
// can parse its queries as Prometheus would receive them.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m", "$job", ".+")

// TestPrometheusRules runs `promtool check rules` and `promtool test
// rules` on deploy/prometheus, and parses every dashboard query with
// promtool by checking it as a recording rule.
func TestPrometheusRules(t *testing.T) {
	bin := promtool(t)
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run(filepath.Dir(rulesFile), "check", "rules", filepath.Base(rulesFile)); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules: %s", out)
	}
	if out := run(rulesTestDir, "test", "rules", "rules_test.yaml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules: %s", out)
	}

	exprs := dashboardExprs(t)
	keys := slices.Sorted(maps.Keys(exprs))
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, k := range keys {
		q, _ := json.Marshal(grafanaVars.Replace(exprs[k])) // a JSON string is a YAML string
		fmt.Fprintf(&b, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "dashboard.yaml"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(tmp, "check", "rules", "dashboard.yaml"); !strings.Contains(out, fmt.Sprintf("%d rules found", len(keys))) {
		t.Errorf("dashboard queries: %s", out)
	}
}
