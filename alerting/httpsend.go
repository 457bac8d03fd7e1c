package alerting

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes caps what is read of a sink's response: enough for an
// error message, never a hostile sink's stream.
const maxResponseBytes = 64 << 10

// maxRetryAfter caps how long a sink may ask to be left alone.
const maxRetryAfter = time.Hour

// errRedirect stops the client at a redirect: credentials (a Slack URL, a
// signature) go only to the configured host.
var errRedirect = errors.New("sink answered with a redirect; redirects are not followed")

// poster sends JSON bodies to one URL.
type poster struct {
	sink    string
	url     string // may be a secret: never in errors or logs
	display string // what errors name instead
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger
}

func newPoster(sink, rawURL, display string, opts SenderOptions) *poster {
	return &poster{
		sink:    sink,
		url:     rawURL,
		display: display,
		timeout: opts.Timeout,
		log:     opts.Logger,
		client: &http.Client{
			Transport: opts.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return errRedirect
			},
		},
	}
}

// post sends body with the given headers and classifies the outcome: nil
// for 2xx; ErrPermanent for a redirect or a 4xx other than 408 and 429;
// a plain (retryable) error for 408, 429, 5xx and transport failures,
// wrapped in RetryAfterError when the sink said when to come back.
func (p *poster) post(ctx context.Context, body []byte, header http.Header) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sink %s: %w: build request: bad URL", p.sink, ErrPermanent)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		if errors.Is(err, errRedirect) {
			return fmt.Errorf("sink %s: post to %s: %w: %w", p.sink, p.display, ErrPermanent, errRedirect)
		}
		// The *url.Error names the URL, which may be secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("sink %s: post to %s: %w", p.sink, p.display, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	err = classify(p.sink, p.display, resp, snippet, time.Now())
	// The key, not the body: alert text is not secret, but a log line per
	// alert would be noise; the dispatcher logs outcomes.
	p.log.DebugContext(ctx, "alert sink answered", "sink", p.sink, "host", p.display,
		"key", header.Get(HeaderIdempotency), "status", resp.StatusCode, "ok", err == nil)
	return err
}

func classify(sink, display string, resp *http.Response, snippet []byte, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	msg := strings.TrimSpace(string(snippet))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	err := fmt.Errorf("sink %s: post to %s: HTTP %d: %q", sink, display, code, msg)
	switch {
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), now); ok {
			return &RetryAfterError{After: d, Err: err}
		}
		return err
	case code >= 300 && code < 400:
		return fmt.Errorf("%w: %w: %w", err, ErrPermanent, errRedirect)
	}
	return fmt.Errorf("%w: %w", err, ErrPermanent)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date, capped.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		d = time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// checkHTTPURL reports whether u is an absolute http(s) URL with a host.
func checkHTTPURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return errors.New("not a URL")
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	if p.User != nil {
		return errors.New("must not carry a user or password")
	}
	return nil
}
