package eval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/forecast"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// referenceRows reads REFERENCE_per_origin.tsv: series → method → rows.
func referenceRows(t *testing.T, path string) map[string]map[string][]refRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]refRow{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		num := func(i int) float64 {
			v, err := strconv.ParseFloat(c[i], 64)
			if err != nil {
				t.Fatalf("%s: column %d: %v", path, i, err)
			}
			return v
		}
		if out[c[0]] == nil {
			out[c[0]] = map[string][]refRow{}
		}
		out[c[0]][c[5]] = append(out[c[0]][c[5]], refRow{origin: int(num(2)), mase: num(6), smape: num(7), cov: num(8)})
	}
	return out
}

type refRow struct {
	origin           int
	mase, smape, cov float64
}

// TestBaselinesMatchReference is the golden test of the protocol: on one
// shared series, Meridian's naive and seasonal-naive rows must reproduce
// the per-origin numbers of REFERENCE_per_origin.tsv (an independent Python
// implementation) to rounding, and the rows are kept in
// testdata/ec2_baselines.golden.json. The series and its reference rows are
// copied into testdata/reference (see its README for the licence), so the
// test never skips, even in a standalone clone.
func TestBaselinesMatchReference(t *testing.T) {
	dir := filepath.Join("testdata", "reference")
	const name = "ec2_cpu_utilization_5f5533"
	s, err := readSeries(os.DirFS(dir), name+".csv")
	if err != nil {
		t.Fatal(err)
	}
	_, base, err := EvaluateSeries(context.Background(), name, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := referenceRows(t, filepath.Join(dir, "REFERENCE_per_origin.tsv"))[name]
	for key, method := range map[string]string{Naive: "naive", SeasonalNaive: "snaive"} {
		got, want := base[key], ref[method]
		if len(got.PerOrigin) != len(want) {
			t.Fatalf("%s: %d origins, reference has %d", key, len(got.PerOrigin), len(want))
		}
		for i, w := range want {
			g := got.PerOrigin[i]
			if got.Origins[i] != w.origin || !close(float64(g.MASE), w.mase) || !close(float64(g.SMAPE), w.smape) || !close(float64(g.Coverage80), w.cov) {
				t.Errorf("%s origin %d: got (%d, MASE %.6f, sMAPE %.4f, cov %.4f), reference (%d, %.6f, %.4f, %.4f)",
					key, i, got.Origins[i], g.MASE, g.SMAPE, g.Coverage80, w.origin, w.mase, w.smape, w.cov)
			}
		}
	}
	golden(t, "ec2_baselines.golden.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(base)
	})
}

// close compares to the reference's six significant digits.
func close(a, b float64) bool { return math.Abs(a-b) <= 1e-5*math.Max(1, math.Abs(b)) }

// golden compares what write produces with testdata/name, rewriting the
// file under -update.
func golden(t *testing.T, name string, write func(io.Writer) error) {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestGrid(t *testing.T) {
	// The origins of REFERENCE.md's grid table.
	cases := map[string]struct {
		n    int
		step time.Duration
		want []int
	}{
		"Twitter_volume_AMZN": {15831, 5 * time.Minute, []int{12664, 13010, 13357, 13703, 14050, 14396, 14743, 15089, 15436, 15783}},
		"elb":                 {4040, 5 * time.Minute, []int{3232, 3316, 3400, 3485, 3569, 3654, 3738, 3823, 3907, 3992}},
		"nyc_taxi":            {10320, 30 * time.Minute, []int{8256, 8484, 8712, 8941, 9169, 9398, 9626, 9855, 10083, 10312}},
	}
	for name, tc := range cases {
		_, _, got, err := Grid(tc.n, tc.step)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s origins (-want +got):\n%s", name, diff)
		}
	}
	if _, _, _, err := Grid(100, 5*time.Minute); err == nil {
		t.Error("Grid(100 points at 5m) succeeded; a test region shorter than the horizon must fail")
	}
}

func TestRunReadsOnlyCSV(t *testing.T) {
	// Ten days at 30 minutes of a noisy daily sine, which the automatic
	// method must forecast better than both baselines.
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 10 * 48 {
		fmt.Fprintf(&b, "%s,%g\n", t0.Add(time.Duration(i)*30*time.Minute).Format("2006-01-02 15:04:05"),
			50+10*math.Sin(2*math.Pi*float64(i)/48)+rng.NormFloat64())
	}
	fsys := fstest.MapFS{
		"sine.csv":       {Data: []byte(b.String())},
		"README.md":      {Data: []byte("not data")},
		"notes.txt":      {Data: []byte("garbage,garbage\n")},
		"sub/nested.csv": {Data: []byte("garbage")},
	}
	rep, err := Run(context.Background(), fsys, Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Series) != 1 || rep.Series[0].Name != "sine" {
		t.Fatalf("series = %+v, want only sine", rep.Series)
	}
	auto, nv, sn := rep.Mean.MASE, rep.Baselines[Naive].Mean.MASE, rep.Baselines[SeasonalNaive].Mean.MASE
	if auto >= nv || auto >= sn {
		t.Errorf("MASE auto %.3f, naive %.3f, seasonal naive %.3f on a noisy sine; want auto lowest", auto, nv, sn)
	}
	if _, err := Run(context.Background(), fstest.MapFS{"a.txt": {}}, Options{}); err == nil {
		t.Error("Run on a folder without CSV files succeeded")
	}
}

func TestMetricJSON(t *testing.T) {
	b, err := json.Marshal(Scores{MASE: Metric(math.Inf(1)), SMAPE: 12.5, Coverage80: Metric(math.NaN())})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"mase":null,"smape":12.5,"coverage80":null}`; got != want {
		t.Errorf("undefined scores encode as %s, want %s", got, want)
	}
}

func TestWriteTable(t *testing.T) {
	row := func(name string, m Metric) SeriesResult {
		return SeriesResult{Name: name, N: 4032, Step: 300, Scores: Scores{MASE: m, SMAPE: 10 * m, Coverage80: 0.8},
			FitSeconds: 0.012, CPUSeconds: 0.011, Models: map[string]int{"hw-damped": 7, "ses": 3}}
	}
	rep := &Report{
		Series: []SeriesResult{row("a", 0.5), row("b", 0.7)},
		Mean:   Scores{MASE: 0.6, SMAPE: 6, Coverage80: 0.8},
		Baselines: map[string]Baseline{
			Naive:         {Series: []SeriesResult{row("a", 1), row("b", 1.2)}, Mean: Scores{MASE: 1.1, SMAPE: 11, Coverage80: 0.9}},
			SeasonalNaive: {Series: []SeriesResult{row("a", 0.9), row("b", 1)}, Mean: Scores{MASE: 0.95, SMAPE: 9.5, Coverage80: 0.9}},
		},
	}
	golden(t, "table.golden.txt", rep.WriteTable)
}

func TestEvaluateSeriesColdMatchesProtocol(t *testing.T) {
	// Cold and warm runs use the same data at every origin; only the
	// optimiser's start differs, so the scores agree closely.
	y := make([]float64, 20*48)
	for i := range y {
		y[i] = 100 + 10*math.Sin(2*math.Pi*float64(i)/48) + float64(i%7)
	}
	s := forecast.Series{Start: time.Unix(0, 0), Step: 30 * time.Minute, Values: y}
	warm, _, err := EvaluateSeries(context.Background(), "x", s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cold, _, err := EvaluateSeries(context.Background(), "x", s, Options{Cold: true})
	if err != nil {
		t.Fatal(err)
	}
	approx := cmp.Comparer(func(a, b Metric) bool { return math.Abs(float64(a-b)) <= 0.05*math.Abs(float64(a)) })
	if diff := cmp.Diff(warm.Scores, cold.Scores, approx); diff != "" {
		t.Errorf("warm vs cold scores (-warm +cold):\n%s", diff)
	}
}
