// Package alertingtest runs real receivers for the tests of package
// alerting and of the packages that deliver through it.
package alertingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/meridianhq/meridian/citest"
)

// EnvAlertmanager names an Alertmanager binary to use instead of the one
// found on the PATH or at DebianAlertmanager.
const EnvAlertmanager = "MERIDIAN_ALERTMANAGER"

// DebianAlertmanager is where Debian's prometheus-alertmanager package
// (installed by .ci/run) puts the binary.
const DebianAlertmanager = "/usr/bin/prometheus-alertmanager"

// Alertmanager is a running Alertmanager on a loopback port.
type Alertmanager struct {
	// URL is its base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Log holds its output, for failure messages.
	Log *bytes.Buffer
}

// Options configure StartAlertmanager. The zero value is a single receiver
// that notifies nobody.
type Options struct {
	// WebhookURL, when set, makes the receiver a webhook to it (with
	// send_resolved), so a test can watch what Alertmanager notifies.
	WebhookURL string
	// GroupInterval is the route's group_interval; zero means 1s.
	GroupInterval time.Duration
}

// Binary returns the Alertmanager binary. When there is none it fails the
// test under CI=true (CI must run it) and skips it otherwise.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(EnvAlertmanager); p != "" {
		return p
	}
	for _, name := range []string{"alertmanager", "prometheus-alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat(DebianAlertmanager); err == nil {
		return DebianAlertmanager
	}
	msg := "no Alertmanager binary: install prometheus-alertmanager or set " + EnvAlertmanager
	citest.Missing(tb, msg)
	return ""
}

// StartAlertmanager starts Alertmanager with a one-receiver config, waits
// until it is ready and stops it when the test ends.
func StartAlertmanager(tb testing.TB, opts Options) *Alertmanager {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	gi := opts.GroupInterval
	if gi <= 0 {
		gi = time.Second
	}
	// "sink", not "null": YAML reads an unquoted null as no name at all.
	receiver := "receivers:\n  - name: 'sink'\n"
	if opts.WebhookURL != "" {
		receiver += fmt.Sprintf("    webhook_configs:\n      - url: %q\n        send_resolved: true\n", opts.WebhookURL)
	}
	cfg := fmt.Sprintf("route:\n  receiver: 'sink'\n  group_wait: 1s\n  group_interval: %s\n  repeat_interval: 1h\n%s", gi, receiver)
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	var lastErr error
	for range 3 { // the free port may be taken between probe and start
		am, err := start(tb, bin, cfgFile, dir)
		if err == nil {
			return am
		}
		lastErr = err
	}
	tb.Fatalf("start Alertmanager: %v", lastErr)
	return nil
}

func start(tb testing.TB, bin, cfgFile, dir string) (*Alertmanager, error) {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfgFile,
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
		"--storage.path="+filepath.Join(dir, "data"),
		"--log.level=warn",
	)
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		cancel()
		<-exited
	}
	am := &Alertmanager{URL: "http://" + addr, Log: log}
	deadline := time.Now().Add(20 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			cancel()
			return nil, fmt.Errorf("alertmanager exited early:\n%s", log)
		default:
		}
		resp, err := client.Get(am.URL + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				tb.Cleanup(stop)
				return am, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("alertmanager not ready after 20s:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// GettableAlert is an alert as Alertmanager's GET /api/v2/alerts returns
// it.
type GettableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// Alerts returns the alerts Alertmanager holds that have not ended:
// Alertmanager's API leaves out an alert once its endsAt has passed, so a
// resolved alert disappears from this list.
func (am *Alertmanager) Alerts(tb testing.TB) []GettableAlert {
	tb.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(am.URL + "/api/v2/alerts")
	if err != nil {
		tb.Fatalf("GET /api/v2/alerts: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /api/v2/alerts: HTTP %d, %v: %s", resp.StatusCode, err, b)
	}
	var out []GettableAlert
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatalf("GET /api/v2/alerts: %v: %s", err, b)
	}
	return out
}

// Notification is the body of Alertmanager's webhook notification
// (version 4), as far as tests need it.
type Notification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
	} `json:"alerts"`
}
