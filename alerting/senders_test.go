package alerting

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
)

// fakeSecrets is an environment and a file system in memory.
type fakeSecrets struct {
	env   map[string]string
	files map[string]string
}

func (f fakeSecrets) Getenv(k string) string { return f.env[k] }
func (f fakeSecrets) ReadFile(p string) ([]byte, error) {
	v, ok := f.files[p]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return []byte(v), nil
}

func TestNewSenders(t *testing.T) {
	c := parseTestdata(t)
	sec := fakeSecrets{
		env:   map[string]string{"MERIDIAN_SLACK_PLATFORM_URL": "https://hooks.example.com/services/T/B/SECRET\n", "MERIDIAN_SMTP_PASSWORD": "pw"},
		files: map[string]string{"/run/secrets/audit-hmac": "hmac-key\n"},
	}
	got, err := NewSenders(c, sec, SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Sinks {
		if got[s.Name] == nil {
			t.Errorf("no sender for sink %s", s.Name)
		}
	}
	if w := got["audit"].(*webhook); string(w.secret) != "hmac-key" {
		t.Errorf("the secret file's trailing newline is part of the key: %q", w.secret)
	}

	missing := fakeSecrets{env: map[string]string{"MERIDIAN_SLACK_PLATFORM_URL": "not a url SECRET"}}
	_, err = NewSenders(c, missing, SenderOptions{})
	if err == nil {
		t.Fatal("missing secrets were accepted")
	}
	for _, want := range []string{
		"sink slack-platform: the Slack webhook URL: must be an absolute http(s) URL",
		"sink audit: secret_file: open /run/secrets/audit-hmac: file does not exist",
		"sink oncall-mail: password_env: environment variable MERIDIAN_SMTP_PASSWORD is unset or empty",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("the error shows a secret: %v", err)
	}
}

func TestTestMessage(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 5, time.UTC)
	m := TestMessage("am", now)
	m2 := TestMessage("am", now.Add(time.Second))
	if m.Key == m2.Key || m.Key == "" {
		t.Errorf("two tests share the key %q", m.Key)
	}
	if !m.Test || m.Sink != "am" || len(m.Alerts) != 1 {
		t.Fatalf("message %+v", m)
	}
	a := m.Alerts[0]
	if a.Source != meridian.AlertSourceTest || a.State != meridian.AlertFiring || !a.Source.Valid() || !a.Severity.Valid() {
		t.Errorf("alert %+v", a)
	}
	// Each sink accepts it as well-formed.
	if body := SlackBody(m, ""); len(body.Blocks) != 3 {
		t.Errorf("Slack body of a test has %d blocks", len(body.Blocks))
	}
	if as := AlertmanagerAlerts(m); len(as) != 1 || as[0].Labels["test"] != "true" {
		t.Errorf("Alertmanager alerts %+v", as)
	}
}
