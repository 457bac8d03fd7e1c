package forecast

import (
	"context"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// Source yields a workload's load history on a regular grid.
//
// History puts irregular samples on the grid as Regularize does and returns
// a meridian.ConfigError naming file, line and field when the data is
// unusable: unparseable values or timestamps, or less than MinHistory of
// it. Other errors (network, I/O) are returned wrapped.
type Source interface {
	History(ctx context.Context) (Series, error)
}

// SourceOptions are the collaborators SourceFor hands to the sources.
type SourceOptions struct {
	// Client makes Prometheus requests; nil means a client with a 30 s
	// timeout (never http.DefaultClient, which has none).
	Client *http.Client
	// End is the end of the Prometheus range; zero means the time of the
	// call. Pin it to make a plan reproducible.
	End time.Time
	// Lookback is how much Prometheus history to request; zero means
	// DefaultLookback.
	Lookback time.Duration
}

// SourceFor returns the source of w's load history: the CSV file at
// load.history in repo (a path relative to the config root), or the range
// query at load.prometheus against settings' prometheus.url. ok is false
// when w declares neither, which means it is sized by replicas.min. A
// declaration that cannot work is a meridian.ConfigError located at the
// offending field of w's file.
func SourceFor(w *meridian.Workload, settings meridian.Settings, repo fs.FS, opts SourceOptions) (src Source, ok bool, err error) {
	l := w.Load
	bad := func(field, msg string) error {
		return meridian.ConfigError{File: w.Origin.File, Line: w.Origin.LineOf(field), Field: field, Message: msg}
	}
	switch {
	case l.History != "" && l.Prometheus != nil:
		return nil, false, bad("load", "set either history or prometheus, not both")
	case l.History != "":
		p := strings.TrimPrefix(l.History, "./")
		if !fs.ValidPath(p) {
			return nil, false, bad("load.history", "must be a path inside the config repo, got "+quote(l.History))
		}
		return CSVSource{FS: repo, Path: p, File: w.Origin.File, Line: w.Origin.LineOf("load.history"),
			MaxBytes: settings.Limits.LoadHistoryBytes}, true, nil
	case l.Prometheus != nil:
		if settings.Prometheus.URL == "" {
			return nil, false, bad("load.prometheus", "prometheus.url is not set in the settings")
		}
		if strings.TrimSpace(l.Prometheus.Query) == "" {
			return nil, false, bad("load.prometheus.query", "must not be empty")
		}
		step := DefaultStep
		if l.Prometheus.Step != "" {
			d, err := ParsePromDuration(l.Prometheus.Step)
			if err != nil {
				return nil, false, bad("load.prometheus.step", err.Error())
			}
			step = d
		}
		return &PrometheusSource{
			URL:      settings.Prometheus.URL,
			Query:    l.Prometheus.Query,
			Step:     step,
			Lookback: opts.Lookback,
			End:      opts.End,
			Client:   opts.Client,
			File:     w.Origin.File,
			Line:     w.Origin.LineOf("load.prometheus.query"),
			Field:    "load.prometheus.query",
		}, true, nil
	}
	return nil, false, nil
}

func quote(s string) string { return `"` + s + `"` }
