package forecast

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// CSVSource reads load history from a CSV file in a file system (usually the
// config repo): header `timestamp,value`, one sample per row, rows in any
// order.
type CSVSource struct {
	FS fs.FS
	// Path is the file's path in FS; errors about its content name it as
	// given, with the line.
	Path string
	// File and Line locate the load.history field that names Path, for the
	// error that the file cannot be opened; when File is empty that error
	// names Path.
	File string
	Line int
	// MaxBytes caps the file's size (limits.load_history_bytes); zero
	// means meridian.DefaultLoadHistoryBytes. A larger file is a
	// ConfigError and is not read.
	MaxBytes meridian.ByteSize
}

// History implements Source.
func (c CSVSource) History(ctx context.Context) (Series, error) {
	if err := ctx.Err(); err != nil {
		return Series{}, err
	}
	max := c.MaxBytes
	if max <= 0 {
		max = meridian.DefaultLoadHistoryBytes
	}
	// The size is checked before anything is read, so that a huge file (or
	// a device) costs a stat, not memory.
	fi, err := fs.Stat(c.FS, c.Path)
	if err != nil {
		return Series{}, c.openError(err)
	}
	switch {
	case !fi.Mode().IsRegular():
		return Series{}, c.openError(fmt.Errorf("not a regular file"))
	case fi.Size() > int64(max):
		return Series{}, c.tooLarge(fi.Size(), max)
	}
	f, err := c.FS.Open(c.Path)
	if err != nil {
		return Series{}, c.openError(err)
	}
	defer f.Close()
	// Stat may be wrong (a file growing under us, an FS that does not know
	// sizes): the reader stops at the cap too.
	lr := &capReader{r: f, n: int64(max)}
	samples, err := ReadCSV(lr, c.Path)
	if lr.over {
		return Series{}, c.tooLarge(int64(max)+1, max)
	}
	if err != nil {
		return Series{}, err
	}
	lastLine := 0
	if len(samples) > 0 {
		lastLine = samples[len(samples)-1].Line
	}
	return regularizeChecked(samples, func(msg string) error {
		return meridian.ConfigError{File: c.Path, Line: lastLine, Message: msg}
	})
}

// openError is the ConfigError for a file that cannot be opened, located
// at the load.history field when known.
func (c CSVSource) openError(err error) error {
	if c.File != "" {
		return meridian.ConfigError{File: c.File, Line: c.Line, Field: "load.history",
			Message: fmt.Sprintf("open %s: %v", c.Path, unwrapPath(err))}
	}
	return meridian.ConfigError{File: c.Path, Message: fmt.Sprintf("open load history: %v", unwrapPath(err))}
}

// tooLarge is the ConfigError for a file over the cap; size is a lower
// bound when the file was found too large while reading.
func (c CSVSource) tooLarge(size int64, max meridian.ByteSize) error {
	msg := fmt.Sprintf("load history %s is %d bytes, over the %s cap (limits.load_history_bytes)", c.Path, size, max)
	if c.File != "" {
		return meridian.ConfigError{File: c.File, Line: c.Line, Field: "load.history", Message: msg}
	}
	return meridian.ConfigError{File: c.Path, Message: msg}
}

// capReader reads at most n bytes and records whether there was more.
// Unlike io.LimitReader, it tells a file that ends at the cap from one that
// goes past it.
type capReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		// One byte more answers whether the file goes on.
		var one [1]byte
		if k, _ := c.r.Read(one[:]); k > 0 {
			c.over = true
		}
		if c.over {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	k, err := c.r.Read(p)
	c.n -= int64(k)
	return k, err
}

// errTooLarge stops ReadCSV at the cap; History reports the cap instead.
var errTooLarge = errors.New("load history is larger than its cap")

// unwrapPath drops the *fs.PathError wrapper, whose text repeats the path
// that the ConfigError already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// timeLayouts are the timestamp spellings ReadCSV accepts, tried in order.
// The first is the dev set's; the others are what exporters commonly write.
// Timestamps without a zone are UTC.
var timeLayouts = [...]string{
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
}

// ReadCSV parses `timestamp,value` rows. The header line is optional; if
// present it must name the columns timestamp and value. Timestamps are
// `YYYY-MM-DD HH:MM:SS` (UTC), RFC 3339, or Unix seconds. Values must be
// finite numbers.
//
// The first problem is returned as a meridian.ConfigError naming file, line
// and column ("timestamp" or "value"), so that a user can fix the file.
func ReadCSV(r io.Reader, file string) ([]Sample, error) {
	br := bufio.NewReader(r)
	// A UTF-8 byte order mark, as spreadsheet exports write, is not data.
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	var out []Sample
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, meridian.ConfigError{File: file, Line: pe.Line, Message: pe.Err.Error()}
			}
			return nil, meridian.ConfigError{File: file, Message: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return nil, meridian.ConfigError{File: file, Line: line,
				Message: fmt.Sprintf("want 2 columns (timestamp,value), got %d", len(rec))}
		}
		ts, vs := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if first {
			first = false
			if isHeader(ts, vs) {
				if !strings.EqualFold(ts, "timestamp") || !strings.EqualFold(vs, "value") {
					return nil, meridian.ConfigError{File: file, Line: line,
						Message: fmt.Sprintf("header must be \"timestamp,value\", got %q", ts+","+vs)}
				}
				continue
			}
		}
		t, err := parseTime(ts)
		if err != nil {
			return nil, meridian.ConfigError{File: file, Line: line, Field: "timestamp", Message: err.Error()}
		}
		v, err := parseValue(vs)
		if err != nil {
			return nil, meridian.ConfigError{File: file, Line: line, Field: "value", Message: err.Error()}
		}
		out = append(out, Sample{Time: t, Value: v, Line: line})
	}
	return out, nil
}

// isHeader reports whether the first row is a header rather than data: it
// is when neither column parses.
func isHeader(ts, vs string) bool {
	_, terr := parseTime(ts)
	_, verr := strconv.ParseFloat(vs, 64)
	return terr != nil && verr != nil
}

func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) &&
		f >= 0 && f < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("must be a time like \"2006-01-02 15:04:05\", RFC 3339 or Unix seconds, got %q", s)
}

func parseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("must be a finite number, got %q", s)
	}
	return v, nil
}

// regularizeChecked regularizes samples and enforces MinHistory; bad builds
// the located error for a message.
func regularizeChecked(samples []Sample, bad func(msg string) error) (Series, error) {
	if len(samples) < 2 {
		return Series{}, bad(fmt.Sprintf("need at least %s of load history, got %d samples", days(MinHistory), len(samples)))
	}
	s, err := Regularize(samples)
	if err != nil {
		return Series{}, bad(err.Error())
	}
	if s.Span() < MinHistory {
		return Series{}, bad(fmt.Sprintf("need at least %s of load history, got %s (%d samples)",
			days(MinHistory), days(s.Span()), len(samples)))
	}
	return s, nil
}

// days renders a duration in days, the unit history lengths are thought in.
func days(d time.Duration) string {
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
}
