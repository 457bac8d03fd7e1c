package alerting

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// Webhook headers. The signature is "v1=" and the hex HMAC-SHA256, keyed
// with the sink's secret, of the timestamp, a dot and the body, so that a
// receiver can reject a forged or replayed request (docs/alerts.md).
const (
	HeaderTimestamp   = "X-Meridian-Timestamp"
	HeaderSignature   = "X-Meridian-Signature"
	HeaderIdempotency = "Idempotency-Key"
)

// WebhookVersion is the version of the webhook body (docs/alerts-webhook.schema.json).
const WebhookVersion = "1"

// WebhookBody is the JSON body of a generic webhook: the message with
// counts, so a receiver need not count.
type WebhookBody struct {
	Version string `json:"version"`
	// Key is the idempotency key, also in the Idempotency-Key header.
	Key   string `json:"key"`
	Sink  string `json:"sink"`
	Group string `json:"group"`
	// Status is "firing" when any alert fires, else "resolved".
	Status   meridian.AlertState `json:"status"`
	Firing   int                 `json:"firing"`
	Resolved int                 `json:"resolved"`
	Repeat   bool                `json:"repeat"`
	Test     bool                `json:"test"`
	Created  time.Time           `json:"created"`
	Alerts   []meridian.Alert    `json:"alerts"`
}

// NewWebhookBody builds the body for m.
func NewWebhookBody(m Message) WebhookBody {
	firing, resolved := count(m.Alerts)
	status := meridian.AlertResolved
	if firing > 0 {
		status = meridian.AlertFiring
	}
	// Hold receivers to the documented contract even when a source left
	// Team or Target empty.
	alerts := make([]meridian.Alert, len(m.Alerts))
	for i, a := range m.Alerts {
		a.Team, a.Target = team(a), orNone(a.Target)
		alerts[i] = a
	}
	return WebhookBody{
		Version: WebhookVersion, Key: m.Key, Sink: m.Sink, Group: m.Group, Status: status,
		Firing: firing, Resolved: resolved, Repeat: m.Repeat, Test: m.Test, Created: m.Created.UTC(), Alerts: alerts,
	}
}

// count returns how many of alerts fire and how many are resolved.
func count(alerts []meridian.Alert) (firing, resolved int) {
	for _, a := range alerts {
		switch a.State {
		case meridian.AlertFiring:
			firing++
		case meridian.AlertResolved:
			resolved++
		}
	}
	return firing, resolved
}

type webhook struct {
	p      *poster
	secret []byte
	now    func() time.Time
}

// NewWebhook returns a Sender posting signed JSON (WebhookBody) to url.
func NewWebhook(sink, url string, secret []byte, opts SenderOptions) Sender {
	opts = opts.withDefaults()
	return &webhook{p: newPoster(sink, url, redactURL(url), opts), secret: secret, now: opts.Now}
}

func (w *webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(NewWebhookBody(m))
	if err != nil {
		return fmt.Errorf("sink %s: encode body: %w: %w", w.p.sink, ErrPermanent, err)
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	h := http.Header{}
	h.Set(HeaderIdempotency, m.Key)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(w.secret, ts, body))
	return w.p.post(ctx, body, h)
}

// Sign returns the X-Meridian-Signature value for body sent at timestamp
// (unix seconds, as sent in X-Meridian-Timestamp).
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Signature verification errors.
var (
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("timestamp outside the tolerance: possible replay")
)

// VerifySignature checks a webhook request as a receiver should: the
// timestamp is unix seconds within tolerance of now (either way, to allow
// for clock skew), and signature (the X-Meridian-Signature header, which
// may list several comma-separated values during a key rotation) holds a
// v1 HMAC of timestamp and body under secret. It compares in constant
// time.
func VerifySignature(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q: not unix seconds", HeaderTimestamp, timestamp)
	}
	t := time.Unix(sec, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s %s is %s from now: %w", HeaderTimestamp, timestamp, d.Round(time.Second), ErrStale)
	}
	want := []byte(Sign(secret, strings.TrimSpace(timestamp), body))
	for s := range strings.SplitSeq(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), want) {
			return nil
		}
	}
	return ErrBadSignature
}

// redactURL keeps a URL's scheme and host only, for errors and logs: a
// path or query may hold a token.
func redactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return "(invalid URL)"
	}
	rest := raw[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	return raw[:i+3] + rest
}
