package alerting_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
)

// Environment of the crash helper process.
const (
	crashEnvDB   = "MERIDIAN_ALERT_CRASH_DB"
	crashEnvURL  = "MERIDIAN_ALERT_CRASH_URL"
	crashEnvMode = "MERIDIAN_ALERT_CRASH_MODE"
	// crashReady is what the helper prints once it is stuck where the
	// parent is to kill it.
	crashReady = "CRASH-READY"
)

// crashConfig sends everything at once to the webhook sink "hook".
func crashConfig(url string) (*alerting.Config, map[string]alerting.Sender) {
	cfg := &alerting.Config{
		Sinks:  []alerting.SinkConfig{{Name: "hook", Type: alerting.SinkWebhook, URL: url}},
		Routes: []alerting.Route{{ID: "routes.0", Sinks: []string{"hook"}, GroupBy: []string{alerting.GroupCommit}, GroupInterval: time.Minute, RepeatInterval: time.Hour}},
	}
	return cfg, map[string]alerting.Sender{"hook": alerting.NewWebhook("hook", url, []byte("test-secret"), alerting.SenderOptions{Timeout: 5 * time.Second})}
}

// blockingSender stops the process where a crash hurts most: before the
// send (mode before), or after the receiver got the message but before
// the delivery is marked delivered (mode after).
type blockingSender struct {
	next alerting.Sender
	mode string
}

func (s blockingSender) Send(ctx context.Context, m alerting.Message) error {
	if s.mode == "after" {
		if err := s.next.Send(ctx, m); err != nil {
			fmt.Fprintln(os.Stderr, "send:", err)
			os.Exit(3)
		}
	}
	fmt.Println(crashReady)
	select {} // wait for SIGKILL
}

// TestCrashHelper is the child process of TestCrash; it does nothing in a
// normal test run.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnvDB)
	if path == "" {
		return // not started by TestCrash
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendEvents(ctx, []meridian.Event{findingEvent(meridian.EventFindingOpened, finding("MER-1", "api", "aws-eu"))}); err != nil {
		t.Fatal(err)
	}
	d := alerting.NewDispatcher(db, alerting.DispatcherOptions{})
	cfg, senders := crashConfig(os.Getenv(crashEnvURL))
	senders["hook"] = blockingSender{next: senders["hook"], mode: os.Getenv(crashEnvMode)}
	d.SetConfig(cfg, senders)
	_ = d.Step(ctx) // blocks in the sender until killed
	t.Fatal("the dispatcher finished its step without sending")
}

// TestCrash kills a dispatcher with SIGKILL between the outbox write and
// the send, and between the send and the delivered mark, then starts
// another on the same database: the receiver gets the message exactly
// once, counting by idempotency key.
func TestCrash(t *testing.T) {
	cases := map[string]struct {
		reason string
		mode   string
		// wantRequests is how many requests the receiver sees in all.
		wantRequests int
	}{
		"BeforeSend": {reason: "The event committed its outbox row; the dispatcher died before sending: the next one sends.", mode: "before", wantRequests: 1},
		"AfterSend": {reason: "The receiver got the message but the delivered mark never committed: the next dispatcher sends again " +
			"with the same idempotency key, so the receiver counts it once.", mode: "after", wantRequests: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			recv := newReceiver(t, time.Now)
			path := filepath.Join(t.TempDir(), "meridian.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnvDB+"="+path, crashEnvURL+"="+recv.srv.URL, crashEnvMode+"="+tc.mode)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ready := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if strings.Contains(sc.Text(), crashReady) {
						ready <- true
						return
					}
				}
				ready <- false
			}()
			select {
			case ok := <-ready:
				if !ok {
					_ = cmd.Wait()
					t.Fatal("the helper exited without reaching the crash point")
				}
			case <-time.After(30 * time.Second):
				_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
				t.Fatal("the helper did not reach the crash point in 30s")
			}
			if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("helper exit: %v, want killed", err)
			}
			before := len(recv.requests())

			ctx := context.Background()
			db, err := sqlite.Open(ctx, path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			d := alerting.NewDispatcher(db, alerting.DispatcherOptions{})
			d.SetConfig(crashConfig(recv.srv.URL))
			for range 3 {
				if err := d.Step(ctx); err != nil {
					t.Fatal(err)
				}
			}
			reqs := recv.requests()
			if len(reqs) != tc.wantRequests {
				t.Fatalf("%s\nreceiver saw %d requests (%d before the restart), want %d", tc.reason, len(reqs), before, tc.wantRequests)
			}
			if got := recv.delivered(t); len(got) != 1 {
				t.Errorf("%s\nreceiver counts %d distinct messages, want 1", tc.reason, len(got))
			}
			ds, err := db.ListDeliveries(ctx, store.DeliveryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 1 || ds[0].Status != store.DeliveryDelivered || ds[0].Key != reqs[0].key {
				t.Errorf("deliveries = %+v, want the one message delivered under the key the receiver saw", ds)
			}
		})
	}
}
