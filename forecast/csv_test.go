package forecast

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestReadCSV(t *testing.T) {
	t0 := time.Date(2014, 2, 14, 14, 27, 0, 0, time.UTC)
	cases := map[string]struct {
		reason string
		in     string
		want   []Sample
	}{
		"dev set": {
			reason: "The dev set's format: header, space-separated UTC timestamps.",
			in:     "timestamp,value\n2014-02-14 14:27:00,51.846000000000004\n2014-02-14 14:32:00,44.508\n",
			want: []Sample{
				{Time: t0, Value: 51.846000000000004, Line: 2},
				{Time: t0.Add(5 * time.Minute), Value: 44.508, Line: 3},
			},
		},
		"no header, rfc3339, unix": {
			reason: "The header is optional and exporters' timestamp spellings are accepted.",
			in:     "2014-02-14T14:27:00Z,1\n1392388320,2\n2014-02-14T15:37:00+01:00,3\n",
			want: []Sample{
				{Time: t0, Value: 1, Line: 1},
				{Time: t0.Add(5 * time.Minute), Value: 2, Line: 2},
				{Time: t0.Add(10 * time.Minute), Value: 3, Line: 3},
			},
		},
		"bom, blank lines, spaces, crlf": {
			reason: "Spreadsheet exports add a byte order mark, CRLF and blank lines.",
			in:     "\ufefftimestamp, value\r\n\r\n2014-02-14 14:27:00, 7\r\n",
			want:   []Sample{{Time: t0, Value: 7, Line: 3}},
		},
		"header only": {
			reason: "An empty file is not a parse error; the length check reports it.",
			in:     "timestamp,value\n",
			want:   nil,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ReadCSV(strings.NewReader(tc.in), "load.csv")
			if err != nil {
				t.Fatalf("ReadCSV: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nReadCSV() mismatch (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   meridian.ConfigError
	}{
		"bad value": {
			reason: "A non-numeric value names its line and column.",
			in:     "timestamp,value\n2014-02-14 14:27:00,1\n2014-02-14 14:32:00,n/a\n",
			want:   meridian.ConfigError{File: "load.csv", Line: 3, Field: "value", Message: `must be a finite number, got "n/a"`},
		},
		"nan": {
			reason: "NaN parses as a float but is no load.",
			in:     "timestamp,value\n2014-02-14 14:27:00,NaN\n",
			want:   meridian.ConfigError{File: "load.csv", Line: 2, Field: "value", Message: `must be a finite number, got "NaN"`},
		},
		"bad timestamp": {
			reason: "An unparseable time names its line and column.",
			in:     "timestamp,value\n2014-02-14 14:27:00,1\n14/02/2014 14:32,2\n",
			want: meridian.ConfigError{File: "load.csv", Line: 3, Field: "timestamp",
				Message: `must be a time like "2006-01-02 15:04:05", RFC 3339 or Unix seconds, got "14/02/2014 14:32"`},
		},
		"columns": {
			reason: "A row with a third column is malformed.",
			in:     "timestamp,value\n2014-02-14 14:27:00,1,2\n",
			want:   meridian.ConfigError{File: "load.csv", Line: 2, Message: "want 2 columns (timestamp,value), got 3"},
		},
		"header": {
			reason: "A header naming other columns is probably another file.",
			in:     "time,cpu\n2014-02-14 14:27:00,1\n",
			want:   meridian.ConfigError{File: "load.csv", Line: 1, Message: `header must be "timestamp,value", got "time,cpu"`},
		},
		"quote": {
			reason: "CSV syntax errors keep their line.",
			in:     "timestamp,value\n2014-02-14 14:27:00,\"1\n",
			want:   meridian.ConfigError{File: "load.csv", Line: 2, Message: "extraneous or missing \" in quoted-field"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in), "load.csv")
			var got meridian.ConfigError
			if !errors.As(err, &got) {
				t.Fatalf("ReadCSV error = %v, want a meridian.ConfigError", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nerror mismatch (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCSVSourceHistory(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Three days at 5 minutes, one slot missing, rows reversed.
	var rows []string
	for i := range 3 * 288 {
		if i == 10 {
			continue
		}
		rows = append(rows, fmt.Sprintf("%s,%d", t0.Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"), i))
	}
	for i := len(rows) - 1; i >= 0; i-- {
		b.WriteString(rows[i] + "\n")
	}
	fsys := fstest.MapFS{
		"loads/api.csv":   {Data: []byte(b.String())},
		"loads/short.csv": {Data: []byte("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,2\n2024-01-02 00:05:00,2\n")},
	}
	s, err := CSVSource{FS: fsys, Path: "loads/api.csv"}.History(context.Background())
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(s.Values) != 3*288 || s.Filled != 1 || s.Values[10] != 10 || !s.Start.Equal(t0) || s.Step != 5*time.Minute {
		t.Errorf("History() = %d values, filled %d, y[10] = %g, start %v, step %v; want 864, 1, 10, %v, 5m",
			len(s.Values), s.Filled, s.Values[10], s.Start, s.Step, t0)
	}

	_, err = CSVSource{FS: fsys, Path: "loads/short.csv"}.History(context.Background())
	want := meridian.ConfigError{File: "loads/short.csv", Line: 4, Message: "need at least 2.0 days of load history, got 1.0 days (3 samples)"}
	var got meridian.ConfigError
	if !errors.As(err, &got) {
		t.Fatalf("short history: error %v, want a ConfigError", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("short history: a day of data must be diagnosed at the file (-want +got):\n%s", diff)
	}

	_, err = CSVSource{FS: fsys, Path: "loads/missing.csv"}.History(context.Background())
	if !errors.As(err, &got) || got.File != "loads/missing.csv" {
		t.Errorf("missing file: error %v, want a ConfigError naming loads/missing.csv", err)
	}
	_, err = CSVSource{FS: fsys, Path: "loads/missing.csv", File: "workloads/api.yaml", Line: 7}.History(context.Background())
	want = meridian.ConfigError{File: "workloads/api.yaml", Line: 7, Field: "load.history", Message: "open loads/missing.csv: file does not exist"}
	if !errors.As(err, &got) {
		t.Fatalf("missing file: error %v, want a ConfigError", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("missing file named by a workload: the error points at load.history (-want +got):\n%s", diff)
	}
}

// FuzzReadCSV checks that arbitrary input never panics, and that every
// result is either finite samples with increasing lines or a located
// ConfigError.
func FuzzReadCSV(f *testing.F) {
	f.Add("timestamp,value\n2014-02-14 14:27:00,51.8\n2014-02-14 14:32:00,44.5\n")
	f.Add("\ufeff2014-02-14T14:27:00Z,1\n1392388320,2\n")
	f.Add("timestamp,value\n2014-02-14 14:27:00,\"1\n")
	f.Add("a,b,c\n,,\n")
	f.Add("timestamp,value\n99999999999,1e308\n-1,-1e-308\n")
	f.Fuzz(func(t *testing.T, in string) {
		samples, err := ReadCSV(strings.NewReader(in), "f.csv")
		if err != nil {
			var ce meridian.ConfigError
			if !errors.As(err, &ce) || ce.File != "f.csv" {
				t.Fatalf("error %v is not a ConfigError naming the file", err)
			}
			return
		}
		last := 0
		for _, s := range samples {
			if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
				t.Fatalf("line %d: value %g is not finite", s.Line, s.Value)
			}
			if s.Line <= last {
				t.Fatalf("line %d after line %d", s.Line, last)
			}
			last = s.Line
		}
		if len(samples) >= 2 {
			s, err := Regularize(samples)
			if err == nil && len(s.Values) == 0 {
				t.Fatal("Regularize returned an empty grid without error")
			}
		}
	})
}
