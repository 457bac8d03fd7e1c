package argocd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// maxBody bounds what is read from one response: an Application with a long
// history is tens of kilobytes, a list of many is a few megabytes.
const maxBody = 32 << 20

// Client talks to one Argo CD API server with a bearer token. It is safe for
// concurrent use. None of its calls block beyond one HTTP round trip.
type Client struct {
	base         *url.URL
	token        string
	hc           *http.Client
	log          *slog.Logger
	appNamespace string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client (default: a client with a 30 s
// timeout, never http.DefaultClient).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithLogger sets the logger (default: discard). Requests are logged at
// debug level, never with the token.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithAppNamespace makes Get and Sync address Applications in ns, for
// Argo CD's "applications in any namespace" mode. Empty means Argo CD's own
// namespace.
func WithAppNamespace(ns string) Option { return func(c *Client) { c.appNamespace = ns } }

// New returns a client for the Argo CD API at server (https://argocd.example.com,
// optionally with a path prefix when Argo CD runs under --rootpath).
func New(server, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, meridian.Errorf(meridian.EINVALID, "argocd: server must be an http(s) URL, got %q", server)
	}
	c := &Client{
		base:  u,
		token: token,
		hc:    &http.Client{Timeout: 30 * time.Second},
		log:   slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// List returns the Applications matching a Kubernetes label selector
// (e.g. "meridian.io/workload"), as GET /api/v1/applications?selector=….
func (c *Client) List(ctx context.Context, selector string) ([]Application, error) {
	q := url.Values{}
	if selector != "" {
		q.Set("selector", selector)
	}
	var list ApplicationList
	if err := c.do(ctx, http.MethodGet, "/api/v1/applications", q, nil, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Get returns one Application with its status, as
// GET /api/v1/applications/{name}. A missing Application is an error with
// code meridian.ENOTFOUND.
func (c *Client) Get(ctx context.Context, name string) (*Application, error) {
	var app Application
	if err := c.do(ctx, http.MethodGet, "/api/v1/applications/"+url.PathEscape(name), c.nsQuery(), nil, &app); err != nil {
		return nil, err
	}
	return &app, nil
}

// Sync asks Argo CD to sync an Application now, as
// POST /api/v1/applications/{name}/sync, and returns the Application with
// the operation it started. It does not wait for the sync to finish.
func (c *Client) Sync(ctx context.Context, name string, req SyncRequest) (*Application, error) {
	req.Name = name
	if req.AppNamespace == "" {
		req.AppNamespace = c.appNamespace
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("argocd: encode sync request: %w", err)
	}
	var app Application
	if err := c.do(ctx, http.MethodPost, "/api/v1/applications/"+url.PathEscape(name)+"/sync", nil, body, &app); err != nil {
		return nil, err
	}
	return &app, nil
}

func (c *Client) nsQuery() url.Values {
	if c.appNamespace == "" {
		return nil
	}
	return url.Values{"appNamespace": {c.appNamespace}}
}

// apiError is the body of an Argo CD error (runtimeError in swagger.json).
type apiError struct {
	Error   string `json:"error"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = q.Encode()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return fmt.Errorf("argocd: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		// Keep context errors matchable through the wrapper.
		return fmt.Errorf("argocd: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("argocd: %s %s: read response: %w", method, path, err)
	}
	c.log.DebugContext(ctx, "argocd request", "method", method, "path", path, "status", resp.StatusCode, "elapsed", time.Since(start))
	if len(b) > maxBody {
		return fmt.Errorf("argocd: %s %s: response larger than %d bytes", method, path, maxBody)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("argocd: %s %s: %w", method, path, statusError(resp.StatusCode, b))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("argocd: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// statusError maps an HTTP error to a meridian error code. Argo CD answers
// 403 rather than 404 for an Application the token may not see, so a
// missing Application can look like a permission problem.
func statusError(status int, body []byte) error {
	var e apiError
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && (e.Message != "" || e.Error != "") {
		msg = e.Message
		if msg == "" {
			msg = e.Error
		}
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	code := meridian.EINTERNAL
	switch status {
	case http.StatusBadRequest:
		code = meridian.EINVALID
	case http.StatusUnauthorized:
		code = meridian.EUNAUTHORIZED
	case http.StatusForbidden:
		code = meridian.EFORBIDDEN
	case http.StatusNotFound:
		code = meridian.ENOTFOUND
	case http.StatusConflict:
		code = meridian.ECONFLICT
	}
	return meridian.Errorf(code, "HTTP %d: %s", status, msg)
}

// IsNotFound reports whether err says the Application does not exist.
func IsNotFound(err error) bool {
	var e *meridian.Error
	return errors.As(err, &e) && e.Code == meridian.ENOTFOUND
}
