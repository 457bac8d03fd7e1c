package forecast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// Prometheus defaults.
const (
	// DefaultStep is the query resolution when load.prometheus.step is
	// unset.
	DefaultStep = 5 * time.Minute
	// DefaultLookback is how much history is requested: four weeks, enough
	// for the daily-plus-weekly model and a week of validation. Prometheus
	// returns less if its retention is shorter.
	DefaultLookback = 28 * 24 * time.Hour
	// maxPointsPerQuery stays under Prometheus's limit of 11,000 points per
	// series in one range query; longer ranges are split.
	maxPointsPerQuery = 10000
	// maxResponseBytes bounds what one response may make us read.
	maxResponseBytes = 64 << 20
)

// PrometheusSource reads load history from Prometheus's HTTP API,
// GET /api/v1/query_range. When the query returns several series, the load
// is their sum at each timestamp (range queries align every series to the
// same step grid); aggregate in the query if you mean something else. NaN
// and infinite samples, which PromQL yields for 0/0 and the like, are
// dropped and their slots interpolated.
type PrometheusSource struct {
	// URL is the server's base URL, e.g. http://prometheus:9090.
	URL   string
	Query string
	// Step is the query resolution; zero means DefaultStep.
	Step time.Duration
	// Lookback is the length of the range; zero means DefaultLookback.
	Lookback time.Duration
	// End is the end of the range; zero means now.
	End time.Time
	// Client makes the requests; nil means a client with a 30 s timeout.
	Client *http.Client
	// File, Line and Field locate the query in the config, for errors
	// about what it returned.
	File  string
	Line  int
	Field string
}

// History implements Source.
func (p *PrometheusSource) History(ctx context.Context) (Series, error) {
	samples, err := p.Samples(ctx)
	if err != nil {
		return Series{}, err
	}
	return regularizeChecked(samples, func(msg string) error {
		return p.configError(fmt.Sprintf("query %s: %s", quote(p.Query), msg))
	})
}

// Samples runs the range query, split into requests of at most 10,000
// points, and returns the summed samples in time order.
func (p *PrometheusSource) Samples(ctx context.Context) ([]Sample, error) {
	step := p.Step
	if step <= 0 {
		step = DefaultStep
	}
	step = max(step.Truncate(time.Millisecond), time.Millisecond)
	look := p.Lookback
	if look <= 0 {
		look = DefaultLookback
	}
	end := p.End
	if end.IsZero() {
		end = time.Now()
	}
	// Align to the step so that repeated runs see the same grid.
	end = end.Truncate(step)
	start := end.Add(-look)
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}

	sum := map[int64]float64{}
	chunk := time.Duration(maxPointsPerQuery-1) * step
	for s := start; !s.After(end); s = s.Add(chunk + step) {
		e := s.Add(chunk)
		if e.After(end) {
			e = end
		}
		if err := p.queryRange(ctx, client, s, e, step, sum); err != nil {
			return nil, err
		}
	}
	out := make([]Sample, 0, len(sum))
	for ms, v := range sum {
		out = append(out, Sample{Time: time.UnixMilli(ms).UTC(), Value: v})
	}
	slices.SortFunc(out, func(a, b Sample) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// promResponse is the API's envelope with a range-query (matrix) result.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric     map[string]string   `json:"metric"`
			Values     [][]json.RawMessage `json:"values"`
			Histograms json.RawMessage     `json:"histograms"`
		} `json:"result"`
	} `json:"data"`
}

func (p *PrometheusSource) queryRange(ctx context.Context, client *http.Client, start, end time.Time, step time.Duration, sum map[int64]float64) error {
	u, err := url.Parse(strings.TrimSuffix(p.URL, "/") + "/api/v1/query_range")
	if err != nil {
		return fmt.Errorf("prometheus url %q: %w", p.URL, err)
	}
	q := url.Values{}
	q.Set("query", p.Query)
	q.Set("start", formatUnix(start))
	q.Set("end", formatUnix(end))
	q.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("prometheus query_range: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("prometheus query_range %s: %w", quote(p.Query), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("prometheus query_range %s: read response: %w", quote(p.Query), err)
	}
	var r promResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("prometheus query_range %s: HTTP %d, response is not the API's JSON: %w",
			quote(p.Query), resp.StatusCode, err)
	}
	if r.Status != "success" {
		// Only Prometheus's documented error type is repeated, never its
		// free text: messages end up in public pull-request comments, and
		// no response from another host may reach one.
		msg := fmt.Sprintf("prometheus rejected query %s: %s", quote(p.Query), promErrorType(r.ErrorType))
		// bad_data is the query's fault, so the user must fix the config;
		// anything else (timeout, execution, unavailable) is the server's.
		if r.ErrorType == "bad_data" {
			return p.configError(msg)
		}
		return errors.New(msg)
	}
	if r.Data.ResultType != "matrix" {
		return p.configError(fmt.Sprintf("query %s returned a %s, want a range vector (matrix)", quote(p.Query), r.Data.ResultType))
	}
	for _, series := range r.Data.Result {
		if len(series.Values) == 0 && len(series.Histograms) > 0 {
			return p.configError(fmt.Sprintf("query %s returns native histograms; reduce them to a number, e.g. with histogram_quantile or histogram_count", quote(p.Query)))
		}
		for _, pair := range series.Values {
			ts, v, err := parsePromPoint(pair)
			if err != nil {
				return p.configError(fmt.Sprintf("query %s: %v", quote(p.Query), err))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			sum[ts] += v
		}
	}
	return nil
}

// parsePromPoint parses one [unix_seconds, "value"] pair into Unix
// milliseconds and the value.
func parsePromPoint(pair []json.RawMessage) (int64, float64, error) {
	if len(pair) != 2 {
		return 0, 0, fmt.Errorf("a sample has %d elements, want [time, value]", len(pair))
	}
	ts, err := strconv.ParseFloat(string(pair[0]), 64)
	if err != nil || math.IsNaN(ts) || math.IsInf(ts, 0) {
		return 0, 0, errors.New("a sample time is not a number")
	}
	var vs string
	if err := json.Unmarshal(pair[1], &vs); err != nil {
		return 0, 0, errors.New("a sample value is not a string")
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return 0, 0, errors.New("a sample value is not a number")
	}
	return int64(math.Round(ts * 1000)), v, nil
}

func formatUnix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

func (p *PrometheusSource) configError(msg string) error {
	return meridian.ConfigError{File: p.File, Line: p.Line, Field: p.Field, Message: msg}
}

// ParsePromDuration parses a duration as Prometheus writes it, such as
// "5m", "1h30m", "1d" or "2w" (units y, w, d, h, m, s, ms, largest first),
// or a number of seconds such as "300" or "0.5". It must be positive.
func ParsePromDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if !(f > 0) || f > float64(math.MaxInt64)/float64(time.Second) {
			return 0, fmt.Errorf("must be a positive duration, got %q", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	units := []struct {
		name string
		d    time.Duration
	}{
		{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour},
		{"h", time.Hour}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second},
	}
	// Order of appearance: y w d h m s ms.
	rank := map[string]int{"y": 0, "w": 1, "d": 2, "h": 3, "m": 4, "s": 5, "ms": 6}
	var total time.Duration
	rest, last := s, -1
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 12 {
			return 0, fmt.Errorf("must be a duration like 5m, 1h or 1d, got %q", s)
		}
		n, _ := strconv.ParseInt(rest[:i], 10, 64)
		rest = rest[i:]
		var unit time.Duration
		var name string
		for _, u := range units {
			if strings.HasPrefix(rest, u.name) {
				unit, name = u.d, u.name
				break
			}
		}
		if name == "" || rank[name] <= last {
			return 0, fmt.Errorf("must be a duration like 5m, 1h or 1d, got %q", s)
		}
		last = rank[name]
		rest = rest[len(name):]
		if n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += time.Duration(n) * unit
	}
	if total <= 0 {
		return 0, fmt.Errorf("must be a positive duration, got %q", s)
	}
	return total, nil
}

// promErrorType returns Prometheus's errorType when it is one the HTTP API
// documents, and "unknown" otherwise.
func promErrorType(t string) string {
	switch t {
	case "bad_data", "timeout", "canceled", "execution", "internal", "unavailable", "not_found", "bad_response":
		return t
	}
	return "unknown"
}
