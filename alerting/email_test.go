package alerting

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/meridianhq/meridian/citest"
)

// mailbox is an in-process SMTP server that records what it receives.
type mailbox struct {
	mu    sync.Mutex
	mails []delivered
	users []string
}

type delivered struct {
	from string
	to   []string
	data []byte
}

func (mb *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{mb: mb}, nil }

type session struct {
	mb  *mailbox
	cur delivered
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if pass != "pw" {
			return errors.New("bad password")
		}
		s.mb.mu.Lock()
		s.mb.users = append(s.mb.users, user)
		s.mb.mu.Unlock()
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.mb.mu.Lock()
	s.mb.mails = append(s.mb.mails, s.cur)
	s.mb.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = delivered{} }
func (s *session) Logout() error { return nil }

func (mb *mailbox) delivered() []delivered {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]delivered(nil), mb.mails...)
}

// startSMTP serves a mailbox on host (a loopback address), with STARTTLS
// when tlsCfg is set; it returns the port.
func startSMTP(t *testing.T, host string, tlsCfg *tls.Config) (*mailbox, int) {
	t.Helper()
	mb := &mailbox{}
	srv := smtp.NewServer(mb)
	srv.Domain = "localhost"
	srv.TLSConfig = tlsCfg
	// Accept PLAIN without TLS, so that only the client can refuse it.
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		// 127.0.0.2 is loopback on Linux (and in CI), not on every OS.
		citest.Missingf(t, "cannot listen on %s: %v", host, err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return mb, l.Addr().(*net.TCPAddr).Port
}

// testTLS borrows httptest's certificate for 127.0.0.1.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(hs.Close)
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	return &tls.Config{Certificates: hs.TLS.Certificates}, &tls.Config{RootCAs: pool}
}

func emailSink(port int, host string) SinkConfig {
	return SinkConfig{
		Name: "mail", Type: SinkEmail, Host: host, Port: port,
		From: "meridian@example.com", To: []string{"oncall@example.com", "web@example.com"}, Username: "meridian",
	}
}

func TestEmailSTARTTLSAndAuth(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	mb, port := startSMTP(t, "127.0.0.1", srvTLS)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	snd := NewEmail(emailSink(port, "127.0.0.1"), "pw", SenderOptions{TLSConfig: cliTLS, Now: func() time.Time { return now }})
	m := sampleMessage()
	for range 2 { // a retry of the same message
		if err := snd.Send(context.Background(), m); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	got := mb.delivered()
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2", len(got))
	}
	if got[0].from != "meridian@example.com" || strings.Join(got[0].to, ",") != "oncall@example.com,web@example.com" {
		t.Errorf("envelope %q -> %q", got[0].from, got[0].to)
	}
	if mb.users[0] != "meridian" {
		t.Errorf("auth users %v", mb.users)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].data))
	if err != nil {
		t.Fatal(err)
	}
	msg2, _ := mail.ReadMessage(bytes.NewReader(got[1].data))
	if id := msg.Header.Get("Message-ID"); id == "" || id != msg2.Header.Get("Message-ID") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q / %q: must come from the key, the same on a retry", id, msg2.Header.Get("Message-ID"))
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if want := "[FIRING:1] MER-TAG-001 (" + m.Group + ")"; subject != want {
		t.Errorf("Subject %q, want %q", subject, want)
	}
	body, _ := io.ReadAll(msg.Body)
	text := strings.ReplaceAll(string(body), "=\r\n", "")
	for _, want := range []string{
		"1 firing, 1 resolved",
		"[FIRING] MER-TAG-001: " + m.Alerts[0].Summary,
		"file: workloads/api.yaml:14",
		"frozen: api frozen at 3 replicas on aws-eu until the finding is fixed",
		"[RESOLVED] drift: gcp-us drifted from the plan",
		"Idempotency key: key-1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("body lacks %q:\n%s", want, text)
		}
	}
}

func TestEmailRefusals(t *testing.T) {
	cases := map[string]struct {
		reason   string
		host     string
		startTLS bool
		user     string
	}{
		"no STARTTLS offered": {
			reason: "TLS is required by default, so a server without STARTTLS gets nothing", host: "127.0.0.1", startTLS: true,
		},
		"password in the clear": {
			reason: "with starttls: false, PLAIN auth still never crosses an unencrypted link to another host",
			host:   "127.0.0.2", startTLS: false, user: "meridian",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			mb, port := startSMTP(t, tc.host, nil)
			s := emailSink(port, tc.host)
			s.StartTLS, s.Username = &tc.startTLS, tc.user
			err := NewEmail(s, "pw", SenderOptions{}).Send(context.Background(), sampleMessage())
			if !errors.Is(err, ErrPermanent) {
				t.Errorf("%s: got %v, want a permanent error", tc.reason, err)
			}
			if n := len(mb.delivered()); n != 0 || len(mb.users) != 0 {
				t.Errorf("%s: %d deliveries, auth %v", tc.reason, n, mb.users)
			}
		})
	}
}

func TestEmailPlainToLocalhost(t *testing.T) {
	mb, port := startSMTP(t, "127.0.0.1", nil)
	off := false
	s := emailSink(port, "127.0.0.1")
	s.StartTLS = &off
	if err := NewEmail(s, "pw", SenderOptions{}).Send(context.Background(), sampleMessage()); err != nil {
		t.Fatalf("starttls: false to localhost: %v", err)
	}
	if len(mb.delivered()) != 1 {
		t.Errorf("%d deliveries, want 1", len(mb.delivered()))
	}
}

func TestEmailHeadersInjectionProof(t *testing.T) {
	m := sampleMessage()
	m.Group = "g\r\nBcc: victim@example.com"
	m.Key = "k\r\nX-Evil: 1"
	m.Alerts[0].Name = "MER-TAG-001\nCc: victim@example.com"
	raw := EmailBody(m, "meridian@example.com", []string{"a@example.com"}, time.Unix(0, 0), "")
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Bcc", "Cc", "X-Evil"} {
		if v := msg.Header.Get(h); v != "" {
			t.Errorf("alert text added a %s header: %q", h, v)
		}
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for i, line := range strings.Split(string(head), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("header line %d holds a bare CR or LF: %q", i, line)
		}
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.Contains(subject, "MER-TAG-001 Cc: victim@example.com") {
		t.Errorf("the subject should keep the text, flattened to one line: %q", subject)
	}
}
