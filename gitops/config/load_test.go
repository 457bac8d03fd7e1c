package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
)

func exampleDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "hybrid")
}

func TestLoadExample(t *testing.T) {
	cfg, err := config.Load(os.DirFS(exampleDir(t)))
	if err != nil {
		t.Fatalf("example repo must be valid:\n%v", err)
	}
	if len(cfg.Targets) < 10 || len(cfg.Workloads) < 20 {
		t.Errorf("example has %d targets and %d workloads; want at least 10 and 20", len(cfg.Targets), len(cfg.Workloads))
	}
	w := cfg.Workloads[0]
	for _, f := range []string{"name", "tags.owner", "requires.encryption", "per_replica.vcpu"} {
		if w.Origin.Lines[f] == 0 {
			t.Errorf("%s: no line recorded for %s", w.Origin.File, f)
		}
	}
}

const (
	target = `apiVersion: meridian/v1
kind: Target
name: aws-us-east-1
provider: aws
region: us-east-1
jurisdiction: us
log_retention_max_days: 365
pricing:
  catalog: true
`
	workload = `apiVersion: meridian/v1
kind: Workload
name: api
tags: {owner: a, cost-center: "1", env: prod}
replicas: {min: 2, max: 4}
per_replica: {vcpu: 1, memory_gib: 2}
`
)

func TestLoadErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		files  map[string]string
		want   []string
	}{
		"valid": {
			reason: "a minimal repo with no settings file is valid",
			files:  map[string]string{"targets/a.yaml": target, "workloads/api.yaml": workload},
		},
		"syntax": {
			reason: "a YAML syntax error names its line and does not hide other files' errors",
			files: map[string]string{
				"targets/a.yaml":     target,
				"workloads/api.yaml": "apiVersion: meridian/v1\nkind: Workload\nname: [\n",
				"workloads/b.yaml":   strings.Replace(workload, "name: api", "name: b\nbogus: 1", 1),
			},
			want: []string{
				"workloads/api.yaml:3: YAML syntax error: did not find expected node content",
				`workloads/b.yaml:4: bogus: unknown field`,
			},
		},
		"types": {
			reason: "wrong types are reported with the field's dotted path and the value",
			files: map[string]string{
				"targets/a.yaml": target,
				"workloads/api.yaml": workload + `requires:
  log_retention_days: a year
  encryption: strong
storage_gb: lots
`,
			},
			want: []string{
				`workloads/api.yaml:8: requires.log_retention_days: must be an integer, got "a year"`,
				`workloads/api.yaml:9: requires.encryption: must be one of none, provider-managed, customer-managed, hsm, got "strong"`,
				`workloads/api.yaml:10: storage_gb: must be a number, got "lots"`,
			},
		},
		"typo": {
			reason: "an unknown field suggests the closest known one",
			files: map[string]string{
				"targets/a.yaml":     target,
				"workloads/api.yaml": workload + "requires:\n  log_retention_day: 3\n",
			},
			want: []string{`workloads/api.yaml:8: requires.log_retention_day: unknown field (did you mean "log_retention_days"?)`},
		},
		"duplicates and dangling pin": {
			reason: "duplicate names point at the first definition; a pin must name a defined target",
			files: map[string]string{
				"targets/a.yaml":     target,
				"targets/b.yaml":     target,
				"workloads/api.yaml": workload + "pin: aws-eu-west-1\n",
			},
			want: []string{
				`targets/b.yaml:3: name: duplicate target name "aws-us-east-1", first defined at targets/a.yaml:3`,
				`workloads/api.yaml:7: pin: target "aws-eu-west-1" is not defined in targets/`,
			},
		},
		"header": {
			reason: "apiVersion and kind are required and the kind must match the folder",
			files: map[string]string{
				"targets/a.yaml":     strings.Replace(target, "kind: Target", "kind: Workload", 1),
				"workloads/api.yaml": strings.Replace(workload, "apiVersion: meridian/v1\n", "", 1),
				"meridian.yaml":      "apiVersion: meridian/v2\nkind: Settings\n",
			},
			want: []string{
				`meridian.yaml:1: apiVersion: must be "meridian/v1", got "meridian/v2"`,
				`targets/a.yaml:2: kind: must be "Target" in targets/, got "Workload"`,
				`workloads/api.yaml:1: apiVersion: required, must be "meridian/v1"`,
			},
		},
		"onprem needs capacity and prices": {
			reason: "finite targets must declare capacity and amortized prices",
			files: map[string]string{
				"targets/a.yaml": strings.NewReplacer("provider: aws", "provider: onprem", "region: us-east-1", "region: dc1").Replace(target),
			},
			want: []string{
				`targets/a.yaml:1: capacity.memory_gib: required and positive for onprem targets`,
				`targets/a.yaml:1: capacity.vcpu: required and positive for onprem targets`,
				`targets/a.yaml:9: pricing.catalog: the catalog has no onprem prices: give vcpu_hour, gib_hour, egress_gb and storage_gb_month (amortized)`,
			},
		},
		"spread with pin": {
			reason: "a pin cannot satisfy a spread over several targets",
			files: map[string]string{
				"targets/a.yaml":     target,
				"workloads/api.yaml": workload + "requires: {spread: 2}\npin: aws-us-east-1\n",
			},
			want: []string{`workloads/api.yaml:8: pin: cannot pin a workload with spread 2 to one target`},
		},
		"settings": {
			reason: "settings are validated too",
			files: map[string]string{
				"meridian.yaml": "apiVersion: meridian/v1\nkind: Settings\nforecast:\n  quantile: 1.5\n  horizon: soon\ncurrency: EUR\n",
			},
			want: []string{
				`meridian.yaml:4: forecast.quantile: must be between 0.5 and 1 (exclusive), got 1.5`,
				`meridian.yaml:5: forecast.horizon: must be a positive duration such as 4h or 30m, got "soon"`,
				`meridian.yaml:6: currency: only USD is supported (the shipped price catalog is in USD), got "EUR"`,
			},
		},
		"sla out of range": {
			reason: "forecast.sla is a percentage of demand served; 1 is a fraction typed by mistake and must not size for 1 %",
			files: map[string]string{
				"meridian.yaml": "apiVersion: meridian/v1\nkind: Settings\nforecast:\n  sla: 1\n",
			},
			want: []string{`meridian.yaml:4: forecast.sla: must be a percentage in [50, 100), got 1`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for p, s := range tc.files {
				fsys[p] = &fstest.MapFile{Data: []byte(s)}
			}
			_, err := config.Load(fsys)
			got := configErrors(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(target, workload)
	f.Add("apiVersion: meridian/v1\nkind: Target\n&a [*a]", "")
	f.Add("a: &a [*a, *a, *a]\nb: *a\n", "kind: Workload\napiVersion: meridian/v1\nrequires: {encryption: 3}")
	f.Fuzz(func(t *testing.T, tgt, wl string) {
		fsys := fstest.MapFS{
			"targets/a.yaml":   &fstest.MapFile{Data: []byte(tgt)},
			"workloads/w.yaml": &fstest.MapFile{Data: []byte(wl)},
		}
		cfg, err := config.Load(fsys)
		var ces meridian.ConfigErrors
		if err != nil && !errors.As(err, &ces) {
			t.Fatalf("only config errors are expected from in-memory files, got %T: %v", err, err)
		}
		for _, e := range ces {
			if e.File == "" {
				t.Fatalf("config error without a file: %v", e)
			}
		}
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}
