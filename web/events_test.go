package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/web"
)

// historyHarness is a server whose history routes read db.
func historyHarness(t *testing.T, db *sqlite.DB, feed web.FeedOptions) *harness {
	t.Helper()
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{History: db, Events: feed}})
	// Streams end before the test server waits for its handlers.
	t.Cleanup(h.srv.EventFeed().Close)
	return h
}

// appendEvents appends n plan.created events of commits c<from>...
func appendEvents(t *testing.T, db *sqlite.DB, from, n int) []meridian.Event {
	t.Helper()
	var evs []meridian.Event
	for i := from; i < from+n; i++ {
		evs = append(evs, meridian.Event{Type: meridian.EventPlanCreated, RepoID: controlplanetest.RepoID, Branch: "master", Commit: fmt.Sprintf("c%d", i),
			Payload: json.RawMessage(`{"n":` + strconv.Itoa(i) + `}`)})
	}
	out, err := db.AppendEvents(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sseFrame is one Server-Sent Event, or a comment (Comment set).
type sseFrame struct {
	ID      string
	Event   string
	Data    string
	Comment string
}

// sseClient reads an event stream frame by frame.
type sseClient struct {
	resp *http.Response
	rd   *bufio.Reader
}

// openStream connects to url with Accept: text/event-stream, the token
// (empty: none) and Last-Event-ID (empty: none).
func openStream(t *testing.T, client *http.Client, url, token, lastID string) *sseClient {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("stream: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	c := &sseClient{resp: resp, rd: bufio.NewReader(resp.Body)}
	t.Cleanup(c.Close)
	return c
}

func (c *sseClient) Close() { c.resp.Body.Close() }

// next reads the next frame (comments included).
func (c *sseClient) next() (sseFrame, error) {
	var f sseFrame
	seen := false
	for {
		line, err := c.rd.ReadString('\n')
		if err != nil {
			return f, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if seen {
				return f, nil
			}
			continue
		}
		seen = true
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			f.Comment = value
		case "id":
			f.ID = value
		case "event":
			f.Event = value
		case "data":
			f.Data = value
		}
	}
}

// nextEvent skips comments and returns the next event, decoded, checking
// that id and event agree with the data.
func (c *sseClient) nextEvent(t *testing.T) meridian.Event {
	t.Helper()
	e, err := c.readEvent()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// readEvent is nextEvent for goroutines other than the test's.
func (c *sseClient) readEvent() (meridian.Event, error) {
	for {
		f, err := c.next()
		if err != nil {
			return meridian.Event{}, fmt.Errorf("read stream: %w", err)
		}
		if f.Comment != "" && f.Data == "" {
			continue
		}
		var e meridian.Event
		if err := json.Unmarshal([]byte(f.Data), &e); err != nil {
			return e, fmt.Errorf("data %q: %w", f.Data, err)
		}
		if f.ID != strconv.FormatInt(e.ID, 10) || f.Event != string(e.Type) {
			return e, fmt.Errorf("frame id %q event %q, but its data is event %d %s", f.ID, f.Event, e.ID, e.Type)
		}
		return e, nil
	}
}

func ids(evs []meridian.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// TestEventStream checks the SSE form: framing, where a stream starts
// (Last-Event-ID: 0 replays everything, Last-Event-ID: n resumes after n,
// no header starts at the next new event), heartbeats, and that Notify
// wakes a stream at once rather than at its next poll.
func TestEventStream(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	// A poll of an hour: only Notify can deliver in time.
	h := historyHarness(t, db, web.FeedOptions{Poll: time.Hour, Heartbeat: time.Hour})
	url := h.http.URL + "/api/v1/events"
	old := appendEvents(t, db, 0, 5)

	cases := map[string]struct {
		lastID string
		want   []meridian.Event
	}{
		"Last-Event-ID 0 replays every retained event": {"0", old},
		"Last-Event-ID n resumes after n":              {strconv.FormatInt(old[2].ID, 10), old[3:]},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := openStream(t, h.http.Client(), url, h.tokens[web.RoleViewer], tc.lastID)
			var got []meridian.Event
			for range tc.want {
				got = append(got, c.nextEvent(t))
			}
			if diff := cmp.Diff(ids(tc.want), ids(got)); diff != "" {
				t.Errorf("event IDs (-want +got):\n%s", diff)
			}
			if got[0].Commit != tc.want[0].Commit || string(got[0].Payload) != string(tc.want[0].Payload) {
				t.Errorf("first event = %+v, want %+v", got[0], tc.want[0])
			}
		})
	}

	t.Run("no Last-Event-ID starts at the next new event", func(t *testing.T) {
		c := openStream(t, h.http.Client(), url, h.tokens[web.RoleViewer], "")
		// The stream's opening comment says where it starts: after it, it
		// has read its position, so what is appended now is new to it.
		f, err := c.next()
		if err != nil || !strings.HasPrefix(f.Comment, "events after ") {
			t.Fatalf("first frame = %+v, %v; want the opening comment", f, err)
		}
		fresh := appendEvents(t, db, 100, 2)
		h.srv.NotifyEvents(fresh[1].ID)
		done := make(chan []meridian.Event, 1)
		go func() {
			var got []meridian.Event
			for range fresh {
				e, err := c.readEvent()
				if err != nil {
					break
				}
				got = append(got, e)
			}
			done <- got
		}()
		select {
		case got := <-done:
			if diff := cmp.Diff(ids(fresh), ids(got)); diff != "" {
				t.Errorf("event IDs (-want +got):\n%s", diff)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Notify did not wake the stream")
		}
	})

	t.Run("bad Last-Event-ID", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+h.tokens[web.RoleViewer])
		req.Header.Set("Last-Event-ID", "yesterday")
		resp, err := h.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d, want 400", resp.StatusCode)
		}
	})
}

// TestEventStreamPollsAndBeats checks that a stream sees events written
// without a Notify (by another process) at its next poll, and sends
// heartbeats while there is nothing to say.
func TestEventStreamPollsAndBeats(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	h := historyHarness(t, db, web.FeedOptions{Poll: 10 * time.Millisecond, Heartbeat: 50 * time.Millisecond})
	c := openStream(t, h.http.Client(), h.http.URL+"/api/v1/events", h.tokens[web.RoleViewer], "")
	beats := 0
	for beats < 2 {
		f, err := c.next()
		if err != nil {
			t.Fatal(err)
		}
		if f.Comment == "heartbeat" {
			beats++
		}
	}
	evs := appendEvents(t, db, 0, 1) // no Notify
	if got := c.nextEvent(t); got.ID != evs[0].ID {
		t.Errorf("got event %d, want %d", got.ID, evs[0].ID)
	}
}

// TestEventList checks the JSON form: pages oldest first, a cursor that
// walks the whole log, ?after=, and bad parameters.
func TestEventList(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	h := historyHarness(t, db, web.FeedOptions{})
	all := appendEvents(t, db, 0, 7)

	type page struct {
		Items         []meridian.Event `json:"items"`
		NextPageToken string           `json:"next_page_token"`
	}
	t.Run("pages walk the log once, in order", func(t *testing.T) {
		var got []meridian.Event
		path := "/api/v1/events?page_size=3"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("the pages do not end")
			}
			var p page
			if code := h.do("GET", path, web.RoleViewer, nil, &p); code != http.StatusOK {
				t.Fatalf("GET %s: %d", path, code)
			}
			got = append(got, p.Items...)
			if p.NextPageToken == "" {
				break
			}
			path = "/api/v1/events?page_size=3&page_token=" + p.NextPageToken
		}
		if diff := cmp.Diff(ids(all), ids(got)); diff != "" {
			t.Errorf("event IDs (-want +got):\n%s", diff)
		}
	})

	cases := map[string]struct {
		path    string
		status  int
		wantIDs []int64
		more    bool
	}{
		"default: from the oldest":  {"/api/v1/events", 200, ids(all), false},
		"after an ID":               {fmt.Sprintf("/api/v1/events?after=%d", all[4].ID), 200, ids(all[5:]), false},
		"after the newest is empty": {fmt.Sprintf("/api/v1/events?after=%d", all[6].ID), 200, []int64{}, false},
		"a short page has a token":  {"/api/v1/events?page_size=2", 200, ids(all[:2]), true},
		"bad after":                 {"/api/v1/events?after=-1", 400, nil, false},
		"bad page size":             {"/api/v1/events?page_size=0", 400, nil, false},
		"forged page token":         {"/api/v1/events?page_token=bzox", 400, nil, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var p page
			var out any = &p
			if tc.status != http.StatusOK {
				out = nil
			}
			if code := h.do("GET", tc.path, web.RoleViewer, nil, out); code != tc.status {
				t.Fatalf("got %d, want %d", code, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			if diff := cmp.Diff(tc.wantIDs, ids(p.Items)); diff != "" {
				t.Errorf("event IDs (-want +got):\n%s", diff)
			}
			if (p.NextPageToken != "") != tc.more {
				t.Errorf("next_page_token = %q, want one: %v", p.NextPageToken, tc.more)
			}
		})
	}
}

// TestEventPrune checks retention: Prune deletes what is older than the
// retention and keeps the rest, and IDs keep growing after it.
func TestEventPrune(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	now := time.Now()
	h := historyHarness(t, db, web.FeedOptions{Retention: time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	oldEv, err := db.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventLockAcquired, Time: now.Add(-2 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	kept := appendEvents(t, db, 0, 1)
	n, err := h.srv.EventFeed().Prune(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1 deleted", n, err)
	}
	left, err := db.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(kept), ids(left)); diff != "" {
		t.Errorf("after pruning (-want +got):\n%s", diff)
	}
	if next := appendEvents(t, db, 1, 1); next[0].ID <= kept[0].ID || next[0].ID <= oldEv[0].ID {
		t.Errorf("ID %d after pruning: IDs must keep growing", next[0].ID)
	}
}
