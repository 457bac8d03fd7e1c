package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is GitHub.com's REST API.
const DefaultBaseURL = "https://api.github.com"

// apiVersion is the REST API version every request asks for.
const apiVersion = "2022-11-28"

// Client calls GitHub's REST API with one token. It is safe for concurrent
// use. The token never appears in errors.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// ClientOptions tunes NewClient. Zero values mean the defaults.
type ClientOptions struct {
	// BaseURL is the API root (default DefaultBaseURL; GitHub Enterprise
	// Server uses https://HOST/api/v3).
	BaseURL string
	// HTTPClient makes the requests (default: a client with a 30s timeout;
	// never http.DefaultClient, which has none).
	HTTPClient *http.Client
}

// NewClient returns a client that authenticates with token (a personal
// access token or an installation token).
func NewClient(token string, opts ClientOptions) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimSuffix(opts.BaseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("github: bad API URL %q", opts.BaseURL)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, token: token, http: opts.HTTPClient}, nil
}

// Repo names a repository.
type Repo struct {
	Owner, Name string
}

// ParseRepo parses OWNER/NAME.
func ParseRepo(full string) (Repo, error) {
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return Repo{}, fmt.Errorf("github: repository %q is not OWNER/NAME", full)
	}
	return Repo{Owner: owner, Name: name}, nil
}

// String returns OWNER/NAME.
func (r Repo) String() string { return r.Owner + "/" + r.Name }

// Comment is an issue or pull-request comment.
type Comment struct {
	ID      int64  `json:"id"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	// User is the comment's author.
	User User `json:"user"`
}

// Commit status states.
const (
	StatePending = "pending"
	StateSuccess = "success"
	StateFailure = "failure"
	StateError   = "error"
)

// Status is a commit status.
type Status struct {
	State       string `json:"state"`
	TargetURL   string `json:"target_url,omitempty"`
	Description string `json:"description,omitempty"`
	Context     string `json:"context"`
}

// APIError is a non-2xx answer from GitHub.
type APIError struct {
	Method, Path string
	StatusCode   int
	// Message is GitHub's "message" field, or the start of the body.
	Message string
	// RetryAfter is set when GitHub asks to wait (secondary rate limits,
	// Retry-After or an exhausted X-RateLimit-Remaining).
	RetryAfter time.Duration
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("github: %s %s: %d %s", e.Method, e.Path, e.StatusCode, e.Message)
}

// IsNotFound reports whether err is GitHub's 404.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// CreateComment posts a new comment on issue or pull request number.
func (c *Client) CreateComment(ctx context.Context, r Repo, number int, body string) (Comment, error) {
	var out Comment
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/repos/%s/%s/issues/%d/comments", esc(r.Owner), esc(r.Name), number), map[string]string{"body": body}, &out)
	return out, err
}

// UpdateComment replaces the body of comment id.
func (c *Client) UpdateComment(ctx context.Context, r Repo, id int64, body string) (Comment, error) {
	var out Comment
	err := c.do(ctx, http.MethodPatch, fmt.Sprintf("/repos/%s/%s/issues/comments/%d", esc(r.Owner), esc(r.Name), id), map[string]string{"body": body}, &out)
	return out, err
}

// FindComment returns the first comment on issue number whose body
// contains marker, reading at most maxPages pages of 100.
func (c *Client) FindComment(ctx context.Context, r Repo, number int, marker string) (Comment, bool, error) {
	const maxPages = 10
	for page := 1; page <= maxPages; page++ {
		var cs []Comment
		p := fmt.Sprintf("/repos/%s/%s/issues/%d/comments?per_page=100&page=%d", esc(r.Owner), esc(r.Name), number, page)
		if err := c.do(ctx, http.MethodGet, p, nil, &cs); err != nil {
			return Comment{}, false, err
		}
		for _, cm := range cs {
			if strings.Contains(cm.Body, marker) {
				return cm, true, nil
			}
		}
		if len(cs) < 100 {
			break
		}
	}
	return Comment{}, false, nil
}

// CreateStatus sets a commit status on sha.
func (c *Client) CreateStatus(ctx context.Context, r Repo, sha string, s Status) error {
	if len(s.Description) > 140 {
		// GitHub rejects longer descriptions with 422.
		s.Description = s.Description[:137] + "..."
	}
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/repos/%s/%s/statuses/%s", esc(r.Owner), esc(r.Name), esc(sha)), s, nil)
}

func esc(s string) string { return url.PathEscape(s) }

// do sends one request; pathAndQuery is relative to the API root.
func (c *Client) do(ctx context.Context, method, pathAndQuery string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("github: %s %s: %w", method, pathAndQuery, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+pathAndQuery, body)
	if err != nil {
		return fmt.Errorf("github: %s %s: %w", method, pathAndQuery, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	req.Header.Set("User-Agent", "meridian")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error carries the URL, which holds no credentials: the token
		// travels only in the header.
		return fmt.Errorf("github: %s %s: %w", method, pathAndQuery, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return fmt.Errorf("github: %s %s: read response: %w", method, pathAndQuery, err)
	}
	if resp.StatusCode/100 != 2 {
		return apiError(method, pathAndQuery, resp, data)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("github: %s %s: decode response: %w", method, pathAndQuery, err)
	}
	return nil
}

func apiError(method, path string, resp *http.Response, data []byte) error {
	e := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode}
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &msg) == nil && msg.Message != "" {
		e.Message = msg.Message
	} else {
		e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	} else if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			e.RetryAfter = max(time.Until(time.Unix(reset, 0)), time.Second)
		}
	}
	return e
}
