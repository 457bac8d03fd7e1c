package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/meridianhq/meridian"
)

// captured is one request a test server received.
type captured struct {
	header http.Header
	body   []byte
}

// recorder is an httptest server answering status and recording requests.
func recorder(t *testing.T, status int) (*httptest.Server, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		got = append(got, captured{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile("../docs/alerts-webhook.schema.json")
	if err != nil {
		t.Fatalf("compile docs/alerts-webhook.schema.json: %v", err)
	}
	return s
}

func TestWebhookSignedBodyMatchesSchema(t *testing.T) {
	schema := compileSchema(t)
	secret := []byte("s3cret")
	now := time.Unix(1_800_000_000, 0)
	srv, got := recorder(t, http.StatusAccepted)
	snd := NewWebhook("audit", srv.URL+"/hook", secret, SenderOptions{Now: func() time.Time { return now }})

	alerts := amAlerts(now.Add(-time.Hour))
	alerts[1].State, alerts[1].EndsAt = meridian.AlertResolved, now
	m := Message{Key: "key-1", Sink: "audit", Group: "commit=abc123", Alerts: alerts, Created: now}
	if err := snd.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := snd.Send(context.Background(), TestMessage("audit", now)); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("body does not match docs/alerts-webhook.schema.json: %v\n%s", err, r.body)
		}
		if err := VerifySignature(secret, r.header.Get(HeaderTimestamp), r.header.Get(HeaderSignature), r.body, now, 5*time.Minute); err != nil {
			t.Errorf("signature does not verify: %v", err)
		}
	}
	r := reqs[0]
	if k := r.header.Get(HeaderIdempotency); k != "key-1" {
		t.Errorf("Idempotency-Key = %q, want key-1", k)
	}
	var body WebhookBody
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Key != "key-1" || body.Status != meridian.AlertFiring || body.Firing != 1 || body.Resolved != 1 || len(body.Alerts) != 2 {
		t.Errorf("body = %+v", body)
	}

	// The schema must be able to fail: a body without its key does not pass.
	var loose map[string]any
	_ = json.Unmarshal(r.body, &loose)
	delete(loose, "key")
	if err := schema.Validate(loose); err == nil {
		t.Error("the schema accepts a body without key")
	}
}

func TestVerifySignature(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"key":"k"}`)
	sent := time.Unix(1_800_000_000, 0)
	ts := "1800000000"
	sig := Sign(secret, ts, body)
	cases := map[string]struct {
		reason    string
		secret    []byte
		ts, sig   string
		body      []byte
		now       time.Time
		wantError error
	}{
		"fresh":    {reason: "the request as sent verifies", secret: secret, ts: ts, sig: sig, body: body, now: sent.Add(time.Minute)},
		"rotation": {reason: "any of several signatures may match", secret: secret, ts: ts, sig: "v1=00, " + sig, body: body, now: sent},
		"replay": {
			reason: "an old request replayed later fails even with its valid signature",
			secret: secret, ts: ts, sig: sig, body: body, now: sent.Add(10 * time.Minute), wantError: ErrStale,
		},
		"future": {reason: "a timestamp far ahead fails too", secret: secret, ts: ts, sig: sig, body: body, now: sent.Add(-10 * time.Minute), wantError: ErrStale},
		"tampered body": {
			reason: "a changed body fails", secret: secret, ts: ts, sig: sig, body: []byte(`{"key":"K"}`), now: sent, wantError: ErrBadSignature,
		},
		"tampered timestamp": {
			reason: "a fresh timestamp on an old signature fails", secret: secret, ts: "1800000001", sig: sig, body: body, now: sent, wantError: ErrBadSignature,
		},
		"wrong secret": {reason: "another key fails", secret: []byte("other"), ts: ts, sig: sig, body: body, now: sent, wantError: ErrBadSignature},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := VerifySignature(tc.secret, tc.ts, tc.sig, tc.body, tc.now, 5*time.Minute)
			if !errors.Is(err, tc.wantError) || (tc.wantError == nil) != (err == nil) {
				t.Errorf("%s: got %v, want %v", tc.reason, err, tc.wantError)
			}
		})
	}
	if err := VerifySignature(secret, "yesterday", sig, body, sent, time.Minute); err == nil {
		t.Error("a timestamp that is not a number verifies")
	}
}
