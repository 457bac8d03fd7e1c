package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// EventLog is the part of store.Events the feed reads and prunes.
type EventLog interface {
	EventsAfter(ctx context.Context, afterID int64, limit int) ([]meridian.Event, error)
	LastEventID(ctx context.Context) (int64, error)
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}

// FeedOptions tunes an EventFeed. Zero values mean the defaults.
type FeedOptions struct {
	// Retention is how long events are kept by Prune (default
	// store.DefaultEventRetention).
	Retention time.Duration
	// Poll is how often a stream reads the store when nothing woke it
	// (default 1s), so that events written by another process (a CLI
	// apply, a second server) reach it too.
	Poll time.Duration
	// Heartbeat is the longest a stream stays silent (default 15s): an SSE
	// comment then keeps proxies from closing an idle connection and
	// tells the client the server is alive.
	Heartbeat time.Duration
	// WriteTimeout bounds each write to a stream (default 30s). The
	// http.Server's WriteTimeout would end a stream after its first
	// minute; each write lifts the deadline by this much instead, so that
	// a client that stops reading is dropped, and one that reads is not.
	WriteTimeout time.Duration
	// RequestTimeout bounds the JSON form (default 60s).
	RequestTimeout time.Duration
	// Logger defaults to discarding; Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Feed batch sizes: a stream sends at most streamBatch events per store
// read, so that a subscriber far behind catches up from the store in
// bounded steps instead of from a buffer in memory.
const streamBatch = 200

// EventFeed serves the event log at GET /api/v1/events: Server-Sent Events
// to clients that accept text/event-stream, pages of JSON to the others.
// It holds no per-subscriber buffer: each stream remembers the last ID it
// sent and reads what follows from the store, woken by Notify or by its
// poll. That is what makes delivery exactly-once across restarts of either
// side: the store's IDs grow in commit order and are never reused.
type EventFeed struct {
	log  EventLog
	opts FeedOptions
	// writeError answers a request that failed before its stream began.
	writeError func(http.ResponseWriter, *http.Request, error)

	mu   sync.Mutex
	wake chan struct{}
	done chan struct{}
	shut bool

	// pollMu guards the shared poll: one look at the log's newest ID per
	// Poll, whatever the number of streams (see grown).
	pollMu   sync.Mutex
	polledAt time.Time
	newest   int64
}

// NewEventFeed returns a feed over log.
func NewEventFeed(log EventLog, opts FeedOptions) *EventFeed {
	if opts.Retention <= 0 {
		opts.Retention = store.DefaultEventRetention
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &EventFeed{log: log, opts: opts, wake: make(chan struct{}), done: make(chan struct{})}
	f.writeError = func(w http.ResponseWriter, r *http.Request, err error) {
		writeJSON(w, ErrorStatus(err), errorBody{Error: errorDetail{Code: meridian.ErrorCode(err), Message: err.Error()}})
	}
	return f
}

// Notify wakes every stream: events up to lastID are committed. It never
// blocks; lastID is informational (streams read from their own position).
func (f *EventFeed) Notify(lastID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.wake)
	f.wake = make(chan struct{})
}

// woken returns the channel the next Notify closes.
func (f *EventFeed) woken() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wake
}

// Close ends every stream, for a graceful shutdown: http.Server.Shutdown
// waits for handlers to return, and a stream would never return on its
// own. Register it with http.Server.RegisterOnShutdown. Clients reconnect
// (to another instance, or this one restarted) with Last-Event-ID.
func (f *EventFeed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.shut {
		f.shut = true
		close(f.done)
	}
}

// Prune deletes the events older than the retention and returns how many
// it deleted. The caller owns the timer (see RunPruner).
func (f *EventFeed) Prune(ctx context.Context) (int64, error) {
	n, err := f.log.PruneEvents(ctx, f.opts.Now().Add(-f.opts.Retention))
	if err != nil {
		return 0, fmt.Errorf("prune the event log: %w", err)
	}
	return n, nil
}

// RunPruner prunes now and then every interval until ctx ends, logging
// failures: a failed prune only means the log is longer for a while.
func (f *EventFeed) RunPruner(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := f.Prune(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.opts.Logger.ErrorContext(ctx, "prune events", "err", err)
		} else if n > 0 {
			f.opts.Logger.InfoContext(ctx, "pruned events", "deleted", n, "retention", f.opts.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ServeHTTP answers GET /api/v1/events.
func (f *EventFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if acceptsEventStream(r.Header.Values("Accept")) {
		f.stream(w, r)
		return
	}
	f.list(w, r)
}

// acceptsEventStream reports whether an Accept header names
// text/event-stream (with any parameters).
func acceptsEventStream(accept []string) bool {
	for _, h := range accept {
		for part := range strings.SplitSeq(h, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
				return true
			}
		}
	}
	return false
}

// eventCursor is the JSON form's page token: the last ID of the page. It
// is opaque to clients, like every page token.
const eventCursorPrefix = "e:"

// list answers a page of events, oldest first: those after ?after= (an
// event ID, default 0: the oldest retained) or after the page_token.
// next_page_token is empty once the page reaches the newest event; a
// client that polls passes the last ID it saw as after.
func (f *EventFeed) list(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), f.opts.RequestTimeout)
	defer cancel()
	q := r.URL.Query()
	size := defaultPageSize
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			f.writeError(w, r, meridian.Errorf(meridian.EINVALID, "page_size must be an integer from 1 to %d, got %q", maxPageSize, clip(s)))
			return
		}
		size = n
	}
	after, err := parseEventID("after", q.Get("after"))
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	if t := q.Get("page_token"); t != "" {
		b, derr := base64.RawURLEncoding.DecodeString(t)
		id, ok := strings.CutPrefix(string(b), eventCursorPrefix)
		n, perr := strconv.ParseInt(id, 10, 64)
		if derr != nil || !ok || perr != nil || n < 0 {
			f.writeError(w, r, meridian.Errorf(meridian.EINVALID, "page_token %q is not one this server issued", clip(t)))
			return
		}
		after = n
	}
	evs, err := f.log.EventsAfter(ctx, after, size+1)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	out := list[meridian.Event]{Items: []meridian.Event{}}
	if len(evs) > size {
		evs = evs[:size]
		out.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(eventCursorPrefix + strconv.FormatInt(evs[len(evs)-1].ID, 10)))
	}
	out.Items = append(out.Items, evs...)
	writeJSON(w, http.StatusOK, out)
}

// parseEventID reads an event ID from a header or parameter ("" is 0).
func parseEventID(name, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, meridian.Errorf(meridian.EINVALID, "%s must be an event ID (an integer >= 0), got %q", name, clip(s))
	}
	return n, nil
}

// stream sends Server-Sent Events: every event after Last-Event-ID (the
// header a reconnecting EventSource sends; ?after= for a first connection
// that cannot set headers), or, with neither, every event from now on.
func (f *EventFeed) stream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	last, err := f.startAfter(ctx, r)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would buffer the stream otherwise
	w.WriteHeader(http.StatusOK)
	// The first write tells the client the stream is up, and where it
	// starts, before any event exists.
	if err := f.write(rc, w, fmt.Sprintf(": events after %d\n\n", last)); err != nil {
		return
	}
	poll := time.NewTicker(f.opts.Poll)
	defer poll.Stop()
	lastWrite := time.Now()
	for read := true; ; {
		woken := f.woken() // before the read, so a Notify during it is not lost
		var evs []meridian.Event
		err = nil
		if read {
			evs, err = f.log.EventsAfter(ctx, last, streamBatch)
		}
		read = false
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Keep the stream: the store may be back at the next poll,
			// and the client resumes from last either way.
			logger(ctx, f.opts.Logger).ErrorContext(ctx, "read events for a stream", "after", last, "err", err)
		}
		if len(evs) > 0 {
			var b strings.Builder
			for _, e := range evs {
				data, err := json.Marshal(e)
				if err != nil {
					logger(ctx, f.opts.Logger).ErrorContext(ctx, "encode event", "id", e.ID, "err", err)
					return
				}
				// json.Marshal never writes a newline, so data is one SSE line.
				fmt.Fprintf(&b, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
			}
			if err := f.write(rc, w, b.String()); err != nil {
				return
			}
			last, lastWrite = evs[len(evs)-1].ID, time.Now()
			if len(evs) == streamBatch {
				read = true // more are waiting: read on without sleeping
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-f.done:
			return
		case <-woken:
			read = true
		case <-poll.C:
			// Events another process wrote wake nobody here: the shared
			// poll finds them.
			read = f.grown(ctx, last)
			if time.Since(lastWrite) >= f.opts.Heartbeat {
				if err := f.write(rc, w, ": heartbeat\n\n"); err != nil {
					return
				}
				lastWrite = time.Now()
			}
		}
	}
}

// startAfter is the ID a stream starts after.
func (f *EventFeed) startAfter(ctx context.Context, r *http.Request) (int64, error) {
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		return parseEventID("Last-Event-ID", v)
	}
	if v := r.URL.Query().Get("after"); v != "" {
		return parseEventID("after", v)
	}
	id, err := f.log.LastEventID(ctx)
	if err != nil {
		return 0, fmt.Errorf("start an event stream: %w", err)
	}
	return id, nil
}

// write sends s and flushes it, within WriteTimeout.
func (f *EventFeed) write(rc *http.ResponseController, w http.ResponseWriter, s string) error {
	// Fails only on writers without deadlines (httptest recorders).
	_ = rc.SetWriteDeadline(time.Now().Add(f.opts.WriteTimeout))
	if _, err := w.Write([]byte(s)); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// grown reports whether the log holds events after last. It asks the store
// at most once per Poll for all streams together, so that a thousand idle
// subscribers cost one query a second, not a thousand.
func (f *EventFeed) grown(ctx context.Context, last int64) bool {
	f.pollMu.Lock()
	defer f.pollMu.Unlock()
	if now := time.Now(); now.Sub(f.polledAt) >= f.opts.Poll {
		id, err := f.log.LastEventID(ctx)
		if err != nil {
			// The stream reads anyway: the read reports the failure.
			return true
		}
		f.newest, f.polledAt = id, now
	}
	return f.newest > last
}
