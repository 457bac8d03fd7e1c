package forecast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// TestPrometheusFixture replays the recorded Prometheus response
// (testdata/prometheus/query_range.matrix.response.json, a copy of
// shared/fixtures/prometheus/, from Prometheus's API docs) from an httptest
// server, and checks both the request Meridian sends and how it reads the
// matrix: the two series are summed per timestamp.
func TestPrometheusFixture(t *testing.T) {
	body, err := os.ReadFile("testdata/prometheus/query_range.matrix.response.json")
	if err != nil {
		t.Fatal(err)
	}
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/query_range" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		got = r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()

	end := time.Unix(1435781460, 781e6)
	src := &PrometheusSource{URL: srv.URL + "/", Query: "up", Step: 15 * time.Second, Lookback: 30 * time.Second, End: end, Client: srv.Client()}
	samples, err := src.Samples(context.Background())
	if err != nil {
		t.Fatalf("Samples: %v", err)
	}
	want := []Sample{
		{Time: time.UnixMilli(1435781430781).UTC(), Value: 1},
		{Time: time.UnixMilli(1435781445781).UTC(), Value: 1},
		{Time: time.UnixMilli(1435781460781).UTC(), Value: 2},
	}
	if diff := cmp.Diff(want, samples); diff != "" {
		t.Errorf("samples of the recorded response, summed over series (-want +got):\n%s", diff)
	}
	// The range is aligned to the step: 1435781460.781 truncates to
	// 1435781460.
	wantQ := url.Values{"query": {"up"}, "start": {"1435781430"}, "end": {"1435781460"}, "step": {"15"}}
	if diff := cmp.Diff(wantQ, got); diff != "" {
		t.Errorf("query parameters (-want +got):\n%s", diff)
	}

	// Three samples are far less than MinHistory: a located config error.
	src.File, src.Line, src.Field = "workloads/api.yaml", 12, "load.prometheus.query"
	_, err = src.History(context.Background())
	var ce meridian.ConfigError
	if !errors.As(err, &ce) || ce.File != "workloads/api.yaml" || ce.Line != 12 || ce.Field != "load.prometheus.query" {
		t.Errorf("History of 30 s of data: error %v, want a ConfigError at workloads/api.yaml:12 load.prometheus.query", err)
	}
}

// promServer serves a synthetic range query in the recorded response's
// shape: one series y(t) = 100 + t mod 7 on the requested grid, with a NaN
// every 1000th point.
func promServer(t *testing.T) (*httptest.Server, *[]url.Values) {
	var mu sync.Mutex
	var reqs []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		reqs = append(reqs, q)
		mu.Unlock()
		start, _ := strconv.ParseFloat(q.Get("start"), 64)
		end, _ := strconv.ParseFloat(q.Get("end"), 64)
		step, _ := strconv.ParseFloat(q.Get("step"), 64)
		if (end-start)/step+1 > 11000 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`)
			return
		}
		var vals [][2]any
		for ts := start; ts <= end; ts += step {
			v := strconv.FormatFloat(100+float64(int64(ts)/int64(step)%7), 'f', -1, 64)
			if int64(ts)/int64(step)%1000 == 0 {
				v = "NaN"
			}
			vals = append(vals, [2]any{ts, v})
		}
		resp := map[string]any{"status": "success", "data": map[string]any{
			"resultType": "matrix",
			"result":     []any{map[string]any{"metric": map[string]string{"job": "api"}, "values": vals}},
		}}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs
}

func TestPrometheusHistoryChunks(t *testing.T) {
	srv, reqs := promServer(t)
	end := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	src := &PrometheusSource{URL: srv.URL, Query: `sum(rate(http_requests_total{job="api"}[5m]))`, Step: time.Minute, Lookback: 14 * 24 * time.Hour, End: end, Client: srv.Client()}
	s, err := src.History(context.Background())
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	// 14 days at 1 minute is 20161 points: three requests under the
	// 11,000-point limit, none overlapping.
	if len(*reqs) != 3 {
		t.Errorf("%d requests, want 3", len(*reqs))
	}
	if len(s.Values) != 14*1440+1 || s.Step != time.Minute || !s.End().Equal(end.Add(time.Minute)) {
		t.Errorf("History() = %d values at %v ending %v; want %d at 1m ending %v", len(s.Values), s.Step, s.End(), 14*1440+1, end.Add(time.Minute))
	}
	// NaN samples are dropped and interpolated from their neighbours.
	for i, v := range s.Values {
		if want := 100 + float64((s.Start.Unix()/60+int64(i))%7); (s.Start.Unix()/60+int64(i))%1000 != 0 && v != want {
			t.Fatalf("y[%d] = %g, want %g", i, v, want)
		}
	}
	if s.Filled == 0 {
		t.Error("Filled = 0, want the NaN slots counted as interpolated")
	}
}

func TestPrometheusErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		status int
		body   string
		config bool
	}{
		"bad query": {
			reason: "A query Prometheus cannot parse is the config's fault.",
			status: http.StatusBadRequest,
			body:   `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}`,
			config: true,
		},
		"unavailable": {
			reason: "A server error is not the config's fault.",
			status: http.StatusServiceUnavailable,
			body:   `{"status":"error","errorType":"unavailable","error":"overloaded"}`,
		},
		"not json": {
			reason: "A proxy's HTML error page is reported with its status.",
			status: http.StatusBadGateway,
			body:   `<html>bad gateway</html>`,
		},
		"vector": {
			reason: "Only a matrix is a history.",
			status: http.StatusOK,
			body:   `{"status":"success","data":{"resultType":"vector","result":[]}}`,
			config: true,
		},
		"bad value": {
			reason: "A value that is not a number is garbage.",
			status: http.StatusOK,
			body:   `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}`,
			config: true,
		},
		"histograms": {
			reason: "Native histograms are no load number.",
			status: http.StatusOK,
			body:   `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[[1,{"count":"1"}]]}]}}`,
			config: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			src := &PrometheusSource{URL: srv.URL, Query: "up", End: time.Unix(1e9, 0), Lookback: time.Hour, Client: srv.Client(), File: "w.yaml", Line: 3, Field: "load.prometheus.query"}
			_, err := src.History(context.Background())
			if err == nil {
				t.Fatalf("%s: History succeeded", tc.reason)
			}
			var ce meridian.ConfigError
			if got := errors.As(err, &ce); got != tc.config {
				t.Errorf("%s: ConfigError = %v, want %v (error: %v)", tc.reason, got, tc.config, err)
			}
		})
	}
}

func TestParsePromDuration(t *testing.T) {
	good := map[string]time.Duration{
		"5m": 5 * time.Minute, "1h30m": 90 * time.Minute, "1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"300": 300 * time.Second, "0.5": 500 * time.Millisecond, "1s500ms": 1500 * time.Millisecond,
	}
	for in, want := range good {
		if got, err := ParsePromDuration(in); err != nil || got != want {
			t.Errorf("ParsePromDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "5x", "1m1h", "-5m", "0s", "0", "5 m", "99999999999y", "NaN", "Inf"} {
		if got, err := ParsePromDuration(in); err == nil {
			t.Errorf("ParsePromDuration(%q) = %v, want an error", in, got)
		}
	}
}
