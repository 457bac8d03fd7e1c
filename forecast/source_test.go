package forecast

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian"
)

func TestSourceFor(t *testing.T) {
	origin := meridian.Origin{File: "workloads/api.yaml", Line: 1, Lines: map[string]int{
		"load": 9, "load.history": 10, "load.prometheus": 10, "load.prometheus.query": 11, "load.prometheus.step": 12,
	}}
	prom := meridian.Settings{Prometheus: meridian.PrometheusSettings{URL: "http://prom:9090"}}
	repo := fstest.MapFS{}
	cases := map[string]struct {
		reason   string
		load     meridian.Load
		settings meridian.Settings
		want     Source
		wantOK   bool
		wantErr  *meridian.ConfigError
	}{
		"none": {
			reason: "A workload without load history is sized by replicas.min.",
		},
		"csv": {
			reason: "load.history is a path in the config repo.",
			load:   meridian.Load{History: "./loads/api.csv"},
			want:   CSVSource{FS: repo, Path: "loads/api.csv", File: "workloads/api.yaml", Line: 10},
			wantOK: true,
		},
		"csv cap from settings": {
			reason:   "limits.load_history_bytes reaches the reader.",
			load:     meridian.Load{History: "loads/api.csv"},
			settings: meridian.Settings{Limits: meridian.Limits{LoadHistoryBytes: 64 << 20}},
			want:     CSVSource{FS: repo, Path: "loads/api.csv", File: "workloads/api.yaml", Line: 10, MaxBytes: 64 << 20},
			wantOK:   true,
		},
		"csv outside repo": {
			reason:  "A history path may not escape the repo.",
			load:    meridian.Load{History: "../secrets.csv"},
			wantErr: &meridian.ConfigError{File: "workloads/api.yaml", Line: 10, Field: "load.history", Message: `must be a path inside the config repo, got "../secrets.csv"`},
		},
		"prometheus": {
			reason:   "A query runs against settings' prometheus.url at the workload's step.",
			load:     meridian.Load{Prometheus: &meridian.PrometheusSource{Query: "sum(rate(x[5m]))", Step: "1m"}},
			settings: prom,
			want: &PrometheusSource{URL: "http://prom:9090", Query: "sum(rate(x[5m]))", Step: time.Minute,
				File: "workloads/api.yaml", Line: 11, Field: "load.prometheus.query"},
			wantOK: true,
		},
		"prometheus default step": {
			reason:   "An unset step means DefaultStep.",
			load:     meridian.Load{Prometheus: &meridian.PrometheusSource{Query: "up"}},
			settings: prom,
			want: &PrometheusSource{URL: "http://prom:9090", Query: "up", Step: DefaultStep,
				File: "workloads/api.yaml", Line: 11, Field: "load.prometheus.query"},
			wantOK: true,
		},
		"no url": {
			reason:  "A query without a server cannot run.",
			load:    meridian.Load{Prometheus: &meridian.PrometheusSource{Query: "up"}},
			wantErr: &meridian.ConfigError{File: "workloads/api.yaml", Line: 10, Field: "load.prometheus", Message: "prometheus.url is not set in the settings"},
		},
		"bad step": {
			reason:   "The step is Prometheus duration syntax.",
			load:     meridian.Load{Prometheus: &meridian.PrometheusSource{Query: "up", Step: "five minutes"}},
			settings: prom,
			wantErr:  &meridian.ConfigError{File: "workloads/api.yaml", Line: 12, Field: "load.prometheus.step", Message: `must be a duration like 5m, 1h or 1d, got "five minutes"`},
		},
		"both": {
			reason:   "Two histories are ambiguous.",
			load:     meridian.Load{History: "a.csv", Prometheus: &meridian.PrometheusSource{Query: "up"}},
			settings: prom,
			wantErr:  &meridian.ConfigError{File: "workloads/api.yaml", Line: 9, Field: "load", Message: "set either history or prometheus, not both"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := &meridian.Workload{Name: "api", Load: tc.load, Origin: origin}
			src, ok, err := SourceFor(w, tc.settings, repo, SourceOptions{})
			if tc.wantErr != nil {
				var got meridian.ConfigError
				if !errors.As(err, &got) {
					t.Fatalf("%s: error %v, want a ConfigError", tc.reason, err)
				}
				if diff := cmp.Diff(*tc.wantErr, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
				}
				return
			}
			if err != nil || ok != tc.wantOK {
				t.Fatalf("%s: SourceFor = %v, %v, %v", tc.reason, src, ok, err)
			}
			if diff := cmp.Diff(tc.want, src, cmpopts.IgnoreFields(CSVSource{}, "FS")); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
