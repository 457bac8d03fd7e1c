package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/web"
)

const eventsHelperEnv = "MERIDIAN_EVENTS_HELPER"

// eventsHelperConfig tells the helper process where to work.
type eventsHelperConfig struct {
	DB string
	// AddrFile receives the feed's address once it listens.
	AddrFile string
	// Name tags the events this process writes.
	Name string
}

// TestHelperEventWriter is not a test: TestEventFeedSurvivesKill runs the
// test binary with this test selected to get a server it can kill -9. It
// serves the event feed on loopback, behind an http.Server whose
// WriteTimeout is shorter than the stream's life (as meridian serve's is),
// and appends events in a loop until it is killed.
func TestHelperEventWriter(t *testing.T) {
	raw := os.Getenv(eventsHelperEnv)
	if raw == "" {
		t.Skip("helper process for TestEventFeedSurvivesKill")
	}
	var cfg eventsHelperConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, cfg.DB, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	feed := web.NewEventFeed(db, web.FeedOptions{Poll: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond, WriteTimeout: 2 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: feed, ReadHeaderTimeout: time.Second, WriteTimeout: 500 * time.Millisecond}
	go srv.Serve(ln)
	tmp := cfg.AddrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, cfg.AddrFile); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		// Batches of one to three events, each batch one transaction.
		var evs []meridian.Event
		for j := range i%3 + 1 {
			evs = append(evs, meridian.Event{Type: meridian.EventPlanCreated, RunID: fmt.Sprintf("%s-%d-%d", cfg.Name, i, j)})
		}
		out, err := db.AppendEvents(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		feed.Notify(out[len(out)-1].ID)
		time.Sleep(2 * time.Millisecond)
	}
}

// eventWriter is a running helper process.
type eventWriter struct {
	cmd  *exec.Cmd
	out  *strings.Builder
	addr string
}

func startEventWriter(t *testing.T, dbPath, name string) *eventWriter {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cfg, _ := json.Marshal(eventsHelperConfig{DB: dbPath, AddrFile: addrFile, Name: name})
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEventWriter$", "-test.v")
	cmd.Env = append(os.Environ(), eventsHelperEnv+"="+string(cfg))
	w := &eventWriter{cmd: cmd, out: &strings.Builder{}}
	cmd.Stdout, cmd.Stderr = w.out, w.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.kill(t) })
	controlplanetest.WaitFor(t, "the helper to listen", func() bool {
		b, err := os.ReadFile(addrFile)
		w.addr = string(b)
		return err == nil
	})
	return w
}

// kill sends SIGKILL: no deferred function, no rollback, no close runs.
func (w *eventWriter) kill(t *testing.T) {
	if w.cmd.ProcessState != nil {
		return
	}
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Error(err)
	}
	_ = w.cmd.Wait()
	if strings.Contains(w.out.String(), "--- FAIL") {
		t.Errorf("the helper failed:\n%s", w.out.String())
	}
}

// TestEventFeedSurvivesKill kills a server with SIGKILL while it is writing
// events and streaming them, restarts it on the same database, and resumes
// the stream with Last-Event-ID: the client receives every event of the
// log exactly once, in order, with no gap.
func TestEventFeedSurvivesKill(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "meridian.db")
	client := &http.Client{}
	var got []meridian.Event

	// read takes events from a stream until it has want more than at the
	// start and the stream has lived past the helper's WriteTimeout, or
	// until the stream breaks (its server was killed).
	read := func(c *sseClient, want int, minLife time.Duration) error {
		start, n := time.Now(), 0
		for n < want || time.Since(start) < minLife {
			e, err := c.readEvent()
			if err != nil {
				return err
			}
			got = append(got, e)
			n++
		}
		return nil
	}

	first := startEventWriter(t, dbPath, "first")
	c := openStream(t, client, "http://"+first.addr, "", "0")
	// Past the helper's 500ms WriteTimeout: the stream lifts its deadline.
	if err := read(c, 100, 1500*time.Millisecond); err != nil {
		t.Fatalf("first stream: %v", err)
	}
	first.kill(t) // mid-writing: the helper appends every 2ms
	// Whatever the dead server had sent is still the client's.
	for {
		e, err := c.readEvent()
		if err != nil {
			break
		}
		got = append(got, e)
	}
	c.Close()
	killedAt := len(got)

	second := startEventWriter(t, dbPath, "second")
	c = openStream(t, client, "http://"+second.addr, "", strconv.FormatInt(got[len(got)-1].ID, 10))
	if err := read(c, 100, 0); err != nil {
		t.Fatalf("resumed stream: %v", err)
	}
	second.kill(t)
	c.Close()

	db, err := sqlite.Open(context.Background(), dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.EventsAfter(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := got[len(got)-1].ID
	var want []int64
	for _, e := range all {
		if e.ID <= last {
			want = append(want, e.ID)
		}
	}
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("events received (+) differ from the log (-) up to the last received:\n%s", diff)
	}
	var fromFirst, fromSecond bool
	for _, e := range got[:killedAt] {
		fromFirst = fromFirst || strings.HasPrefix(e.RunID, "first-")
	}
	for _, e := range got[killedAt:] {
		fromSecond = fromSecond || strings.HasPrefix(e.RunID, "second-")
	}
	if !fromFirst || !fromSecond {
		t.Errorf("want events of both server lives: first %v, second %v", fromFirst, fromSecond)
	}
	t.Logf("%d events received, %d before the kill, %d in the log", len(got), killedAt, len(all))
}
