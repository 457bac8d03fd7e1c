package pricing

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// EventAppender is the part of the store a Schedule records events with.
type EventAppender interface {
	AppendEvents(ctx context.Context, evs []meridian.Event) ([]meridian.Event, error)
}

// Schedule refreshes prices on a timer for `meridian serve`. It writes the
// refreshed catalog to Out and records a prices.refreshed event listing
// the rates that differ from the catalog the config uses. It never changes
// what plans price with: an operator commits the file and points
// pricing.catalog at it, so that every plan stays reproducible from Git.
type Schedule struct {
	// Interval between refreshes; the first runs at once.
	Interval time.Duration
	// Options say which APIs to read (see Open).
	Options Options
	// Open, when set, replaces Open(ctx, Options): to tune the readers'
	// reference instance, disk or SKU family.
	Open func(ctx context.Context) ([]API, func() error, error)
	// Out is the catalog file written, e.g. STATE_DIR/prices/catalog.json.
	Out string
	// Current returns the catalog the config at the branch head uses.
	Current func(ctx context.Context) (*providers.Catalog, error)
	Events  EventAppender
	// Notified is called with the last ID after events are appended (the
	// event feed's wake-up); may be nil.
	Notified       func(lastID int64)
	RepoID, Branch string
	Logger         *slog.Logger
}

// Run refreshes every Interval until ctx ends. A failed refresh is logged
// and retried at the next tick: prices change slowly, and plans do not
// depend on the refresh.
func (s *Schedule) Run(ctx context.Context) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		if changes, err := s.Once(ctx, time.Now()); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.WarnContext(ctx, "price refresh failed", "err", err)
		} else {
			log.InfoContext(ctx, "prices refreshed", "file", s.Out, "changed_rates", len(changes))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RefreshedPayload is the payload of a prices.refreshed event.
type RefreshedPayload struct {
	// File is the refreshed catalog written; Against the provenance of the
	// catalog the config uses.
	File      string   `json:"file"`
	FetchedAt string   `json:"fetched_at"`
	Against   string   `json:"against"`
	Changes   []Change `json:"changes"`
}

// Once refreshes now, writes Out and, when some rate changed, records the
// event. It returns the changes.
func (s *Schedule) Once(ctx context.Context, now time.Time) ([]Change, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return nil, fmt.Errorf("load the config's price catalog: %w", err)
	}
	open := s.Open
	if open == nil {
		open = func(ctx context.Context) ([]API, func() error, error) { return Open(ctx, s.Options) }
	}
	apis, closeAPIs, err := open(ctx)
	defer func() { _ = closeAPIs() }()
	if err != nil {
		return nil, err
	}
	f, err := Refresh(ctx, cur, apis, now)
	if err != nil {
		return nil, err
	}
	b, err := f.Encode()
	if err != nil {
		return nil, err
	}
	fresh, err := providers.ParseCatalogFile(s.Out, b)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(s.Out), 0o755); err != nil {
		return nil, fmt.Errorf("write %s: %w", s.Out, err)
	}
	if err := WriteFile(s.Out, b); err != nil {
		return nil, err
	}
	changes := Changes(cur, fresh)
	if len(changes) == 0 {
		return nil, nil
	}
	payload, err := json.Marshal(RefreshedPayload{File: s.Out, FetchedAt: fresh.FetchedAt(), Against: cur.Provenance(), Changes: changes})
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	evs, err := s.Events.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventPricesRefreshed, Time: now.UTC(),
		RepoID: s.RepoID, Branch: s.Branch, Payload: payload}})
	if err != nil {
		return nil, fmt.Errorf("record prices.refreshed: %w", err)
	}
	if s.Notified != nil && len(evs) > 0 {
		s.Notified(evs[len(evs)-1].ID)
	}
	return changes, nil
}
