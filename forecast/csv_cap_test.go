package forecast

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meridianhq/meridian"
)

// TestCSVSourceSizeCap is finding #5: a 100 MB load history was read whole
// and the planner's RSS grew to 1 GB.
func TestCSVSourceSizeCap(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 100 MiB that costs no disk and no time to write.
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	src := CSVSource{FS: os.DirFS(dir), Path: "big.csv", File: "workloads/api.yaml", Line: 7}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = src.History(context.Background())
	runtime.ReadMemStats(&after)

	var ce meridian.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("History of a 100 MiB file: error %v, want a ConfigError", err)
	}
	for _, want := range []string{"big.csv", "104857600 bytes", "32MiB", "limits.load_history_bytes"} {
		if !strings.Contains(ce.Error(), want) {
			t.Errorf("error %q does not say %q", ce.Error(), want)
		}
	}
	if ce.File != "workloads/api.yaml" || ce.Line != 7 || ce.Field != "load.history" {
		t.Errorf("error at %s:%d %s, want workloads/api.yaml:7 load.history", ce.File, ce.Line, ce.Field)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("History allocated %d bytes for a file it must not read", alloc)
	}
}

// lyingFS reports every file as 10 bytes, as an FS that does not know
// sizes (or a file that grows after Stat) would.
type lyingFS struct{ fstest.MapFS }

func (l lyingFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := l.MapFS.Stat(name)
	if err != nil {
		return nil, err
	}
	return lyingInfo{fi}, nil
}

type lyingInfo struct{ fs.FileInfo }

func (lyingInfo) Size() int64 { return 10 }

func TestCSVSourceCapWhileReading(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 * 288 {
		b.WriteString(t0.Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05") + ",1\n")
	}
	data := []byte(b.String())
	fsys := lyingFS{fstest.MapFS{"h.csv": {Data: data}}}

	cases := map[string]struct {
		reason string
		max    meridian.ByteSize
		ok     bool
	}{
		"over":     {reason: "the reader stops at the cap even when Stat says the file is small", max: meridian.ByteSize(len(data) - 1)},
		"at cap":   {reason: "a file exactly at the cap is read", max: meridian.ByteSize(len(data)), ok: true},
		"well off": {reason: "the default admits an honest file", ok: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := CSVSource{FS: fsys, Path: "h.csv", MaxBytes: tc.max}.History(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatalf("%s: %v", tc.reason, err)
				}
				return
			}
			var ce meridian.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(ce.Message, "cap") {
				t.Fatalf("%s: error %v, want a ConfigError about the cap", tc.reason, err)
			}
		})
	}
}

func TestCSVSourceNotRegular(t *testing.T) {
	fsys := fstest.MapFS{"pipe.csv": {Mode: fs.ModeNamedPipe}, "dir.csv": {Mode: fs.ModeDir}}
	for _, p := range []string{"pipe.csv", "dir.csv"} {
		_, err := CSVSource{FS: fsys, Path: p}.History(context.Background())
		var ce meridian.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Message, "not a regular file") {
			t.Errorf("History(%s) = %v, want a ConfigError: a FIFO or device must never be read", p, err)
		}
	}
}
