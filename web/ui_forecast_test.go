package web

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
)

// snapshotLoader serves one snapshot for any ref.
type snapshotLoader struct{ snap *controlplane.Snapshot }

func (l snapshotLoader) Load(context.Context, string) (*controlplane.Snapshot, error) {
	return l.snap, nil
}

// TestBuildForecast charts a workload's last week of load against the
// forecast the planner would make from the same history file.
func TestBuildForecast(t *testing.T) {
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var csv strings.Builder
	csv.WriteString("timestamp,value\n")
	const hours = 14 * 24
	for h := range hours {
		fmt.Fprintf(&csv, "%s,%.2f\n", start.Add(time.Duration(h)*time.Hour).Format(time.RFC3339), 100+40*math.Sin(2*math.Pi*float64(h%24)/24))
	}
	cfg := &meridian.Config{Settings: meridian.DefaultSettings(), Workloads: []meridian.Workload{
		{Name: "api", Load: meridian.Load{History: "load/api.csv"}, Origin: meridian.Origin{File: "workloads/api.yaml"}}}}
	s := &Server{opts: Options{Configs: snapshotLoader{&controlplane.Snapshot{Commit: "c1", Config: cfg,
		FS: fstest.MapFS{"load/api.csv": {Data: []byte(csv.String())}}}}}}

	fc, err := s.buildForecast(context.Background(), "c1", "api", &meridian.Sizing{Method: "forecast", Quantile: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if fc.Model == "" || fc.Quantile != 0.9 || fc.Chart.Empty {
		t.Fatalf("forecast %+v", fc)
	}
	if len(fc.Chart.Lines) != 2 || fc.Chart.Lines[0].Name != "actual load" || len(fc.Chart.Bands) != 1 || fc.Chart.Bands[0].Name != "forecast P50 to P90" {
		t.Fatalf("chart lines %+v bands %+v", fc.Chart.Lines, fc.Chart.Bands)
	}
	// The last week, hourly: 168 points, unthinned.
	if n := len(strings.Fields(fc.Chart.Lines[0].Points)); n != 7*24 {
		t.Errorf("actual load has %d points, want %d", n, 7*24)
	}
	if _, err := s.buildForecast(context.Background(), "c1", "nope", &meridian.Sizing{Method: "forecast"}); err == nil {
		t.Errorf("a workload missing from the config charted")
	}
}

// TestThin: a long series is cut to the chart's bound without losing its
// peak.
func TestThin(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	values := make([]float64, 1000)
	for i := range values {
		values[i] = 1
	}
	values[537] = 99
	pts := thin(start, time.Minute, values, 0)
	if len(pts) > forecastMaxPoints || len(pts) < forecastMaxPoints/2 {
		t.Fatalf("%d points, want at most %d", len(pts), forecastMaxPoints)
	}
	peak := false
	for _, p := range pts {
		peak = peak || (p.Value == 99 && p.Time.Equal(start.Add(537*time.Minute)))
	}
	if !peak {
		t.Errorf("the peak at 537 was thinned away")
	}
	if got := thin(start, time.Minute, values, 990); len(got) != 10 {
		t.Errorf("from 990: %d points, want 10", len(got))
	}
	if got := thin(start, time.Minute, values, 1000); got != nil {
		t.Errorf("nothing to thin: %v", got)
	}
}
