package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestForecastEvalJSON(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 * 48 {
		fmt.Fprintf(&b, "%s,%g\n", t0.Add(time.Duration(i)*30*time.Minute).Format("2006-01-02 15:04:05"),
			100+20*math.Sin(2*math.Pi*float64(i)/48)+float64(i%5))
	}
	if err := os.WriteFile(filepath.Join(dir, "daily.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Files that are not *.csv are not read, however broken.
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not,a,series"), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := newForecastEvalCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"--data", dir, "--format", "json"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("eval: %v\n%s", err, errOut.String())
	}
	// The documented shape: series[] and mean for the automatic method,
	// baselines for naive and seasonal naive.
	var got struct {
		Series []struct {
			Name       string   `json:"name"`
			MASE       *float64 `json:"mase"`
			SMAPE      *float64 `json:"smape"`
			Coverage80 *float64 `json:"coverage80"`
			FitSeconds *float64 `json:"fit_seconds"`
		} `json:"series"`
		Mean struct {
			MASE       *float64 `json:"mase"`
			SMAPE      *float64 `json:"smape"`
			Coverage80 *float64 `json:"coverage80"`
		} `json:"mean"`
		Baselines map[string]struct {
			Mean struct {
				MASE *float64 `json:"mase"`
			} `json:"mean"`
		} `json:"baselines"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if len(got.Series) != 1 || got.Series[0].Name != "daily" {
		t.Fatalf("series = %+v, want one named daily", got.Series)
	}
	s := got.Series[0]
	if s.MASE == nil || s.SMAPE == nil || s.Coverage80 == nil || s.FitSeconds == nil ||
		got.Mean.MASE == nil || got.Mean.SMAPE == nil || got.Mean.Coverage80 == nil {
		t.Fatalf("missing fields in %s", out.String())
	}
	for _, k := range []string{"naive", "seasonal_naive"} {
		if got.Baselines[k].Mean.MASE == nil {
			t.Errorf("baselines.%s.mean.mase missing", k)
		}
	}
}

func TestForecastEvalFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"no data":    {},
		"bad format": {"--data", t.TempDir(), "--format", "xml"},
		"not a dir":  {"--data", filepath.Join(t.TempDir(), "missing")},
	} {
		cmd := newForecastEvalCmd()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(args)
		if err := cmd.ExecuteContext(context.Background()); err == nil {
			t.Errorf("%s: eval %v succeeded", name, args)
		}
	}
	// --dense belongs to the protocol run; with --folds it would be
	// silently ignored, so it is refused before any series is read.
	cmd := newForecastEvalCmd()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"--data", t.TempDir(), "--folds", "2", "--dense"})
	if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "--dense") {
		t.Errorf("eval --folds 2 --dense: error %v, want one about --dense", err)
	}
}
