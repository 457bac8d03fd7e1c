package alerting

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPOutcomes(t *testing.T) {
	cases := map[string]struct {
		reason     string
		status     int
		header     map[string]string
		wantErr    bool
		permanent  bool
		retryAfter time.Duration
	}{
		"ok":          {reason: "2xx is delivered", status: http.StatusOK},
		"accepted":    {reason: "any 2xx is delivered", status: http.StatusAccepted},
		"bad request": {reason: "a 4xx will fail again", status: http.StatusBadRequest, wantErr: true, permanent: true},
		"gone":        {reason: "a deleted Slack webhook answers 404 or 410", status: http.StatusGone, wantErr: true, permanent: true},
		"timeout":     {reason: "408 is worth a retry", status: http.StatusRequestTimeout, wantErr: true},
		"server":      {reason: "5xx is worth a retry", status: http.StatusBadGateway, wantErr: true},
		"rate limited": {
			reason: "429 with Retry-After says when", status: http.StatusTooManyRequests,
			header: map[string]string{"Retry-After": "7"}, wantErr: true, retryAfter: 7 * time.Second,
		},
		"unavailable huge": {
			reason: "a Retry-After is capped", status: http.StatusServiceUnavailable,
			header: map[string]string{"Retry-After": "999999"}, wantErr: true, retryAfter: time.Hour,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(strings.Repeat("x", 1<<20)))
			}))
			defer srv.Close()
			snd := NewSlack("s", srv.URL+"/services/SECRET-TOKEN", SenderOptions{})
			err := snd.Send(context.Background(), TestMessage("s", time.Now()))
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: err = %v", tc.reason, err)
			}
			if err == nil {
				return
			}
			if errors.Is(err, ErrPermanent) != tc.permanent {
				t.Errorf("%s: permanent = %v, want %v (%v)", tc.reason, errors.Is(err, ErrPermanent), tc.permanent, err)
			}
			var ra *RetryAfterError
			if got := errors.As(err, &ra); got != (tc.retryAfter > 0) || (got && ra.After != tc.retryAfter) {
				t.Errorf("%s: Retry-After: got %v, want %s", tc.reason, err, tc.retryAfter)
			}
			if strings.Contains(err.Error(), "SECRET-TOKEN") {
				t.Errorf("the error shows the secret webhook URL: %v", err)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("the error carries the whole response (%d bytes)", len(err.Error()))
			}
		})
	}
}

func TestHTTPRedirectIsPermanent(t *testing.T) {
	var hit atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Add(1) }))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect))
	defer srv.Close()
	snd := NewWebhook("w", srv.URL, []byte("k"), SenderOptions{})
	err := snd.Send(context.Background(), TestMessage("w", time.Now()))
	if !errors.Is(err, ErrPermanent) {
		t.Errorf("a redirect is a permanent failure, got %v", err)
	}
	if hit.Load() != 0 {
		t.Error("the redirect was followed: the signed request went to another host")
	}
}

func TestHTTPTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	snd := NewAlertmanager("am", srv.URL, SenderOptions{Timeout: 100 * time.Millisecond})
	start := time.Now()
	err := snd.Send(context.Background(), TestMessage("am", time.Now()))
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Errorf("a hung sink is a retryable error, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the send took %s despite a 100ms timeout", d)
	}
}
