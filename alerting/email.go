package alerting

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// DefaultSMTPPort is the submission port, used when a sink sets none.
const DefaultSMTPPort = 587

type email struct {
	sink     string
	cfg      SinkConfig
	password string
	opts     SenderOptions
}

// NewEmail returns a Sender mailing s.To over SMTP at s.Host: with
// STARTTLS whenever the server offers it and required unless s.StartTLS is
// false, and with PLAIN auth (when s.Username is set) only over TLS or to
// localhost.
func NewEmail(s SinkConfig, password string, opts SenderOptions) Sender {
	opts = opts.withDefaults()
	if s.Port == 0 {
		s.Port = DefaultSMTPPort
	}
	return &email{sink: s.Name, cfg: s, password: password, opts: opts}
}

func (e *email) Send(ctx context.Context, m Message) error {
	if !hasSendable(m) {
		return nil
	}
	msg := EmailBody(m, e.cfg.From, e.cfg.To, e.opts.Now(), e.opts.BaseURL)
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	if err := e.send(ctx, msg); err != nil {
		return fmt.Errorf("sink %s: smtp %s: %w", e.sink, e.addr(), classifySMTP(err))
	}
	return nil
}

func (e *email) addr() string { return net.JoinHostPort(e.cfg.Host, strconv.Itoa(e.cfg.Port)) }

func (e *email) send(ctx context.Context, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr())
	if err != nil {
		return err
	}
	// net/smtp has no context: the deadline bounds every read and write,
	// and closing the connection on cancel ends a stalled exchange.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, e.cfg.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if e.opts.TLSConfig != nil {
			tc = e.opts.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = e.cfg.Host
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	} else if e.cfg.RequireTLS() {
		return fmt.Errorf("%w: the server does not offer STARTTLS (set starttls: false to allow plain SMTP)", ErrPermanent)
	}
	if e.cfg.Username != "" {
		// The same rule as smtp.PlainAuth's, checked here so that the
		// refusal is a typed, permanent error.
		if _, isTLS := c.TLSConnectionState(); !isTLS && !localhost(e.cfg.Host) {
			return fmt.Errorf("%w: refusing to send the password over an unencrypted connection to %s", ErrPermanent, e.cfg.Host)
		}
		if err := c.Auth(smtp.PlainAuth("", e.cfg.Username, e.password, e.cfg.Host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(e.cfg.From); err != nil {
		return err
	}
	for _, to := range e.cfg.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// classifySMTP marks 5xx replies permanent; 4xx replies and network
// failures stay retryable.
func classifySMTP(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && !errors.Is(err, ErrPermanent) {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return err
}

// localhost is smtp.PlainAuth's notion of a host that needs no TLS.
func localhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func hasSendable(m Message) bool {
	f, r := count(m.Alerts)
	return f+r > 0
}

// EmailBody builds the RFC 5322 message for m: a Subject
// "[FIRING:N] names (group)" or "[RESOLVED] names (group)", a Message-ID
// derived from m.Key (so that a retry is the same message to the
// receiving servers), and a quoted-printable text/plain body listing the
// alerts. Alert text never reaches a header unsanitised.
func EmailBody(m Message, from string, to []string, now time.Time, baseURL string) []byte {
	firing, resolved := count(m.Alerts)
	var names []string
	seen := map[string]bool{}
	for _, a := range m.Alerts {
		if (a.State == meridian.AlertFiring || (firing == 0 && a.State == meridian.AlertResolved)) && !seen[a.Name] {
			seen[a.Name] = true
			names = append(names, a.Name)
		}
	}
	prefix := "[RESOLVED]"
	if firing > 0 {
		prefix = fmt.Sprintf("[FIRING:%d]", firing)
	}
	if m.Test {
		prefix = "[TEST] " + prefix
	}
	subject := clip(prefix+" "+strings.Join(names, ", ")+" ("+m.Group+")", 200)

	domain := "meridian.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = headerSafe(from[i+1:])
	}
	sum := sha256.Sum256([]byte(m.Key))

	var h bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&h, "%s: %s\r\n", k, v) }
	header("From", headerSafe(from))
	header("To", headerSafe(strings.Join(to, ", ")))
	header("Subject", mime.QEncoding.Encode("utf-8", headerSafe(subject)))
	header("Date", now.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(sum[:16])+"@"+domain+">")
	header("X-Meridian-Idempotency-Key", mime.QEncoding.Encode("utf-8", headerSafe(m.Key)))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	h.WriteString("\r\n")

	var text strings.Builder
	fmt.Fprintf(&text, "%d firing, %d resolved in group %s.\n", firing, resolved, m.Group)
	for _, st := range []meridian.AlertState{meridian.AlertFiring, meridian.AlertResolved} {
		for _, a := range m.Alerts {
			if a.State != st {
				continue
			}
			fmt.Fprintf(&text, "\n[%s] %s: %s\n", strings.ToUpper(string(a.State)), a.Name, a.Summary)
			fmt.Fprintf(&text, "  severity: %s\n  target: %s\n  team: %s\n", a.Severity, a.Target, team(a))
			if a.Workload != "" {
				fmt.Fprintf(&text, "  workload: %s\n", a.Workload)
			}
			if fl := fileLine(a); fl != "" {
				fmt.Fprintf(&text, "  file: %s\n", fl)
			}
			if f := frozenText(a); f != "" {
				fmt.Fprintf(&text, "  frozen: %s\n", f)
			}
			if a.Remediation != "" && a.State == meridian.AlertFiring {
				fmt.Fprintf(&text, "  remediation: %s\n", a.Remediation)
			}
			if a.URL != "" {
				fmt.Fprintf(&text, "  link: %s\n", a.URL)
			}
			fmt.Fprintf(&text, "  since: %s\n", a.StartsAt.UTC().Format(time.RFC3339))
		}
	}
	if baseURL != "" {
		fmt.Fprintf(&text, "\nAll alerts: %s/alerts\n", baseURL)
	}
	fmt.Fprintf(&text, "\nIdempotency key: %s\n", m.Key)

	qp := quotedprintable.NewWriter(&h)
	_, _ = qp.Write([]byte(strings.ReplaceAll(text.String(), "\n", "\r\n")))
	_ = qp.Close()
	return h.Bytes()
}

// headerSafe drops control characters (CR and LF above all), so that alert
// text cannot add headers.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
