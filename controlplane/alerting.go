package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
)

// AlertDispatcher is the part of alerting.Dispatcher an AlertingLoader
// configures.
type AlertDispatcher interface {
	SetConfig(cfg *alerting.Config, senders map[string]alerting.Sender)
}

// AlertingLoaderOptions tunes an AlertingLoader. Zero values mean the
// defaults.
type AlertingLoaderOptions struct {
	// Secrets reads the secrets the sinks name (default alerting.OSSecrets:
	// the server's environment and files, never Git).
	Secrets alerting.Secrets
	// Senders configures the senders (transport, base URL for links).
	Senders alerting.SenderOptions
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the clock of test messages (default time.Now).
	Now func() time.Time
}

// AlertingLoader is the AlertingConfigurer of the server: it parses
// alerting.yaml, builds its senders and switches the dispatcher over, but
// only when both succeed, so that a broken file never leaves the server
// without the sinks it had.
type AlertingLoader struct {
	d    AlertDispatcher
	o    AlertingLoaderOptions
	mu   sync.Mutex
	data []byte
	cfg  *alerting.Config
	snd  map[string]alerting.Sender
}

// NewAlertingLoader returns a loader configuring d.
func NewAlertingLoader(d AlertDispatcher, o AlertingLoaderOptions) *AlertingLoader {
	if o.Secrets == nil {
		o.Secrets = alerting.OSSecrets{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &AlertingLoader{d: d, o: o}
}

// Configure implements AlertingConfigurer. The same bytes as the config in
// force change nothing, so that rate limits are not reset by every commit.
func (l *AlertingLoader) Configure(ctx context.Context, commit string, data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if data == nil {
		if l.cfg != nil {
			l.o.Logger.InfoContext(ctx, "alerting.yaml removed: alerting is off", "commit", short(commit))
		}
		l.data, l.cfg, l.snd = nil, nil, nil
		l.d.SetConfig(nil, nil)
		return nil
	}
	if l.cfg != nil && bytes.Equal(data, l.data) {
		return nil
	}
	cfg, snd, err := LoadAlerting(data, l.o.Secrets, l.o.Senders)
	if err != nil {
		return err
	}
	l.data, l.cfg, l.snd = bytes.Clone(data), cfg, snd
	l.d.SetConfig(cfg, snd)
	l.o.Logger.InfoContext(ctx, "alerting config loaded", "commit", short(commit), "sinks", len(cfg.Sinks), "routes", len(cfg.Routes))
	return nil
}

// SendTest sends alerting.TestMessage to sink through the config in force,
// at once and outside the outbox: it is a check of the sink, for `meridian
// alerts test` and POST /api/v1/alerts/test.
func (l *AlertingLoader) SendTest(ctx context.Context, sink string) (alerting.Message, error) {
	l.mu.Lock()
	snd, cfg := l.snd, l.cfg
	l.mu.Unlock()
	if cfg == nil {
		return alerting.Message{}, meridian.Errorf(meridian.ECONFLICT, "alerting is off: the tracked branch has no valid %s", alerting.FileName)
	}
	return SendTest(ctx, snd, sink, l.o.Now())
}

// SendTest sends alerting.TestMessage to the sink named sink of senders.
func SendTest(ctx context.Context, senders map[string]alerting.Sender, sink string, now time.Time) (alerting.Message, error) {
	s, ok := senders[sink]
	if !ok {
		return alerting.Message{}, meridian.Errorf(meridian.ENOTFOUND, "no sink %q in %s", sink, alerting.FileName)
	}
	m := alerting.TestMessage(sink, now)
	if err := s.Send(ctx, m); err != nil {
		return m, fmt.Errorf("send a test message to sink %s: %w", sink, err)
	}
	return m, nil
}

// LoadAlerting parses alerting.yaml and builds its senders with secrets
// from sec. Every problem is reported: parse errors as
// "alerting.yaml:LINE: field: message", a sink whose secret cannot be read
// as "alerting.yaml:LINE: sinks.N: sink NAME: ..." at the sink's line.
func LoadAlerting(data []byte, sec alerting.Secrets, opts alerting.SenderOptions) (*alerting.Config, map[string]alerting.Sender, error) {
	cfg, err := alerting.Parse(alerting.FileName, data)
	if err != nil {
		return nil, nil, err
	}
	// One sink at a time, so that each error can name its sink's line.
	senders := make(map[string]alerting.Sender, len(cfg.Sinks))
	var errs meridian.ConfigErrors
	for i, s := range cfg.Sinks {
		m, err := alerting.NewSenders(&alerting.Config{Sinks: []alerting.SinkConfig{s}}, sec, opts)
		if err != nil {
			errs = append(errs, meridian.ConfigError{File: alerting.FileName, Line: s.Line, Field: fmt.Sprintf("sinks.%d", i), Message: err.Error()})
			continue
		}
		senders[s.Name] = m[s.Name]
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return cfg, senders, nil
}
