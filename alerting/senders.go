package alerting

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// Secrets reads the secrets alerting.yaml names (url_env, secret_file,
// ...). Tests pass a fake, so that they need no real environment.
type Secrets interface {
	Getenv(name string) string
	ReadFile(name string) ([]byte, error)
}

// OSSecrets reads secrets from the process environment and the file
// system.
type OSSecrets struct{}

// Getenv returns os.Getenv(name).
func (OSSecrets) Getenv(name string) string { return os.Getenv(name) }

// ReadFile returns os.ReadFile(name).
func (OSSecrets) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// DefaultTimeout bounds one delivery attempt.
const DefaultTimeout = 10 * time.Second

// errNoSecret is returned by NewSenders when a secret file is empty.
var errNoSecret = errors.New("secret is empty")

// maxSecretBytes caps a secret file: a URL or key, never a large file.
const maxSecretBytes = 64 << 10

// SenderOptions are what senders share. The zero value is usable.
type SenderOptions struct {
	// Transport carries the HTTP sinks' requests; nil means a transport of
	// their own (never http.DefaultTransport's shared state).
	Transport http.RoundTripper
	// Timeout bounds one send; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock (webhook timestamps, e-mail Date); nil is time.Now.
	Now func() time.Time
	// BaseURL is the dashboard's base URL, from the server's flag (never
	// from Git), for links; empty means no links beyond Alert.URL.
	BaseURL string
	// TLSConfig is used for SMTP STARTTLS; nil means the system roots and
	// the sink's host as server name.
	TLSConfig *tls.Config
	// Logger logs deliveries; nil discards.
	Logger *slog.Logger
}

func (o SenderOptions) withDefaults() SenderOptions {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	return o
}

// NewSenders builds one Sender per sink of c, keyed by sink name, reading
// the secrets the sinks name through sec. A secret that is missing or
// empty is an error naming the sink and the variable or file (never the
// secret).
func NewSenders(c *Config, sec Secrets, opts SenderOptions) (map[string]Sender, error) {
	opts = opts.withDefaults()
	out := make(map[string]Sender, len(c.Sinks))
	var errs []error
	for _, s := range c.Sinks {
		snd, err := newSender(s, sec, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("sink %s: %w", s.Name, err))
			continue
		}
		out[s.Name] = snd
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func newSender(s SinkConfig, sec Secrets, opts SenderOptions) (Sender, error) {
	switch s.Type {
	case SinkSlack:
		u, err := secret(sec, "url_env", s.URLEnv, "url_file", s.URLFile)
		if err != nil {
			return nil, err
		}
		if err := checkHTTPURL(u); err != nil {
			return nil, fmt.Errorf("the Slack webhook URL: %w", err)
		}
		return NewSlack(s.Name, u, opts), nil
	case SinkWebhook:
		u := s.URL
		if u == "" {
			var err error
			if u, err = secret(sec, "url_env", s.URLEnv, "url_file", s.URLFile); err != nil {
				return nil, err
			}
			if err := checkHTTPURL(u); err != nil {
				return nil, fmt.Errorf("the webhook URL: %w", err)
			}
		}
		key, err := secret(sec, "secret_env", s.SecretEnv, "secret_file", s.SecretFile)
		if err != nil {
			return nil, err
		}
		return NewWebhook(s.Name, u, []byte(key), opts), nil
	case SinkAlertmanager:
		return NewAlertmanager(s.Name, s.URL, opts), nil
	case SinkEmail:
		var pw string
		if s.PasswordEnv != "" || s.PasswordFile != "" {
			var err error
			if pw, err = secret(sec, "password_env", s.PasswordEnv, "password_file", s.PasswordFile); err != nil {
				return nil, err
			}
		}
		return NewEmail(s, pw, opts), nil
	}
	return nil, fmt.Errorf("unknown sink type %q", s.Type)
}

// secret reads the secret named by env var or file (Parse made sure that
// exactly one is set), trimming surrounding white space and line ends.
func secret(sec Secrets, envField, env, fileField, file string) (string, error) {
	if env != "" {
		v := strings.TrimSpace(sec.Getenv(env))
		if v == "" {
			return "", fmt.Errorf("%s: environment variable %s is unset or empty", envField, env)
		}
		return v, nil
	}
	b, err := sec.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileField, err)
	}
	if len(b) > maxSecretBytes {
		return "", fmt.Errorf("%s: %s is larger than %d bytes", fileField, file, maxSecretBytes)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s: %s: %w", fileField, file, errNoSecret)
	}
	return v, nil
}

// TestMessage is the message `meridian alerts test --sink NAME` sends: one
// firing info alert from source test, with a key unique to now.
func TestMessage(sink string, now time.Time) Message {
	now = now.UTC().Truncate(time.Second)
	key := fmt.Sprintf("test-%s-%d", sink, now.UnixNano())
	return Message{
		Key:   key,
		Sink:  sink,
		Group: "source=test",
		Test:  true,
		Alerts: []meridian.Alert{{
			ID:          key,
			Fingerprint: key,
			Source:      meridian.AlertSourceTest,
			Name:        "test",
			Severity:    meridian.SeverityInfo,
			Target:      meridian.AlertTarget,
			Team:        meridian.Unowned,
			Summary:     "Test alert from meridian alerts test: sink " + sink + " is reachable.",
			Remediation: "Nothing to do: this alert resolves on its own.",
			State:       meridian.AlertFiring,
			StartsAt:    now,
		}},
		Created: now,
	}
}
