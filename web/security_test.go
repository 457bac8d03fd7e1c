package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/web"
)

// Every test here plays an unauthenticated or hostile client: what it
// sends must cost the server a bounded amount of memory, disk and time
// series, and must never lock out the clients that authenticate.

// serverStore is what `meridian serve` gives both the server and the
// reconciler: store/sqlite, or controlplanetest.Store.
type serverStore interface {
	web.Store
	controlplane.Store
}

var _ serverStore = (*controlplanetest.Store)(nil)

// newBareServer is a server on st with the reconcile loop stopped and no
// GitHub client; its events are for another repository, so valid
// deliveries are acknowledged without background work. The reconciler's
// metrics are on so.Metrics' registry (a new one when unset).
func newBareServer(tb testing.TB, st serverStore, so web.Options) *web.Server {
	tb.Helper()
	if so.Metrics == nil {
		so.Metrics = web.NewMetrics()
	}
	recon := controlplane.NewReconciler(st, controlplanetest.NewLoader(), &controlplanetest.Planner{St: st}, &controlplanetest.Applier{St: st, RepoID: controlplanetest.RepoID}, nil,
		controlplane.ReconcilerOptions{RepoID: controlplanetest.RepoID, Source: controlplanetest.Source, Branch: "master", Metrics: controlplane.NewMetrics(so.Metrics.Registry), PR: controlplane.PROptions{Repo: "elsewhere/none"}})
	if so.WebhookSecret == nil {
		so.WebhookSecret = []byte(testSecret)
	}
	return web.NewServer(st, recon, so)
}

// serve runs one request through h in-process and returns the recorder.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// meridianMetrics returns the meridian_* lines of /metrics (the Go and
// process collectors' numbers move on their own).
func meridianMetrics(t testing.TB, h http.Handler) string {
	t.Helper()
	w := serve(h, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("/metrics: %d", w.Code)
	}
	var b strings.Builder
	for line := range strings.Lines(w.Body.String()) {
		if strings.HasPrefix(line, "meridian_") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestMetricLabelsBounded sends 10,000 distinct event names and HTTP
// methods without credentials: /metrics must not grow with them.
func TestMetricLabelsBounded(t *testing.T) {
	srv := newBareServer(t, controlplanetest.NewStore(nil), web.Options{})
	h := srv.Handler()
	send := func(i int) {
		r := httptest.NewRequest("POST", "/webhooks/github", strings.NewReader(`{}`))
		r.Header.Set(github.HeaderEvent, "evil-event-"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+strconv.Itoa(i))
		r.Header.Set(github.HeaderDelivery, "d")
		serve(h, r)
		m := httptest.NewRequest("GET", "/nowhere", nil)
		m.Method = "M" + strconv.Itoa(i)
		serve(h, m)
	}
	for i := range 10 {
		send(i)
	}
	before := len(meridianMetrics(t, h))
	for i := 10; i < 10000; i++ {
		send(i)
	}
	after := meridianMetrics(t, h)
	// Counters gain digits (10 -> 10000) and histograms shift buckets: a
	// few hundred bytes. One series per event would be megabytes.
	if len(after)-before > 2048 {
		t.Errorf("/metrics grew from %d to %d bytes over 10,000 distinct events and methods", before, len(after))
	}
	for _, want := range []string{`meridian_webhook_deliveries_total{event="other",result="unauthorized"}`, `method="other"`} {
		if !strings.Contains(after, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(after, "evil-event") || strings.Contains(after, `method="M1`) {
		t.Errorf("a client's event name or method became a label")
	}
}

// countingReader is a request body that records how much was read of it.
type countingReader struct {
	n    atomic.Int64
	left int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), c.left)
	for i := range p[:n] {
		p[i] = 'a'
	}
	c.left -= n
	c.n.Add(n)
	return int(n), nil
}

// TestWebhookRefusedBeforeRead: deliveries that can be refused from their
// headers are refused without reading their body.
func TestWebhookRefusedBeforeRead(t *testing.T) {
	srv := newBareServer(t, controlplanetest.NewStore(nil), web.Options{AuthFailureBurst: 1000})
	wellFormed := "sha256=" + strings.Repeat("ab", 32)
	const size = 24 << 20
	cases := map[string]struct {
		reason   string
		sig      string
		delivery string
		length   int64 // -1: unknown (chunked)
		want     int
	}{
		"Unsigned":         {"A delivery without a signature is refused at once.", "", "d1", size, 401},
		"Malformed":        {"A signature that cannot match any payload is refused at once.", "sha256=zz", "d1", size, 401},
		"SHA1":             {"The legacy header format is refused at once.", "sha1=" + strings.Repeat("ab", 20), "d1", size, 401},
		"NoDelivery":       {"A delivery without an ID is refused at once.", wellFormed, "", size, 400},
		"NoLength":         {"A body of unknown length is refused with 411.", wellFormed, "d1", -1, 411},
		"OverCap":          {"A declared length over GitHub's 25 MB cap is refused with 413.", wellFormed, "d1", 26 << 20, 413},
		"LongDeliveryID":   {"An oversized delivery ID is refused at once.", wellFormed, strings.Repeat("d", 101), size, 400},
		"UnsignedNoLength": {"Unsigned and unsized: the signature is checked first.", "", "d1", -1, 401},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			body := &countingReader{left: size}
			r := httptest.NewRequest("POST", "/webhooks/github", body)
			r.ContentLength = tc.length
			r.Header.Set(github.HeaderEvent, "push")
			if tc.delivery != "" {
				r.Header.Set(github.HeaderDelivery, tc.delivery)
			}
			if tc.sig != "" {
				r.Header.Set(github.HeaderSignature, tc.sig)
			}
			w := serve(srv.Handler(), r)
			if w.Code != tc.want {
				t.Errorf("%s got %d, want %d: %s", tc.reason, w.Code, tc.want, w.Body)
			}
			if n := body.n.Load(); n > 4096 {
				t.Errorf("%s but %d bytes of the body were read", tc.reason, n)
			}
		})
	}
}

// blockingBody is a request body whose reads wait for release.
type blockingBody struct {
	entered chan<- struct{}
	release <-chan struct{}
	once    bool
}

func (b *blockingBody) Read(p []byte) (int, error) {
	if !b.once {
		b.once = true
		b.entered <- struct{}{}
		<-b.release
	}
	return 0, io.EOF
}

// TestWebhookReadsBounded: signed-looking deliveries (well-formed but
// wrong signatures, which can only be told apart once read) are read a few
// at a time, so that their payloads cannot pile up in memory.
func TestWebhookReadsBounded(t *testing.T) {
	srv := newBareServer(t, controlplanetest.NewStore(nil), web.Options{AuthFailureBurst: 1000})
	entered, release := make(chan struct{}, 16), make(chan struct{})
	done := make(chan int, 8)
	for i := range 8 {
		go func() {
			r := httptest.NewRequest("POST", "/webhooks/github", &blockingBody{entered: entered, release: release})
			r.ContentLength = 24 << 20
			r.Header.Set(github.HeaderEvent, "push")
			r.Header.Set(github.HeaderDelivery, "d"+strconv.Itoa(i))
			r.Header.Set(github.HeaderSignature, "sha256="+strings.Repeat("ab", 32))
			done <- serve(srv.Handler(), r).Code
		}()
	}
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("no payload was read")
	}
	// Give the other seven every chance to start reading: none of them
	// may while four reads are in progress.
	reading := 1
	for timeout := time.After(300 * time.Millisecond); ; {
		select {
		case <-entered:
			reading++
			continue
		case <-timeout:
		}
		break
	}
	if reading > 4 {
		t.Errorf("%d payloads read at once, want at most 4", reading)
	}
	close(release)
	for range 8 {
		if code := <-done; code != 401 {
			t.Errorf("wrongly signed delivery: %d, want 401", code)
		}
	}
}

// TestAuditRowsBounded: huge headers and paths from unauthenticated
// clients reach the audit log and the log clipped.
func TestAuditRowsBounded(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	huge := strings.Repeat("x", 600<<10)
	if code, _ := h.webhook("push", huge, []byte(`{}`), "-"); code != 401 {
		t.Errorf("unsigned delivery with a 600 KB ID: %d, want 401", code)
	}
	req, _ := http.NewRequest("GET", h.http.URL+"/api/v1/"+strings.Repeat("p", 500<<10), nil)
	req.Header.Set("Authorization", "Bearer mrd_wrong")
	resp, err := h.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || len(body) > 2048 {
		t.Errorf("bad token on a 500 KB path: %d with a %d-byte body", resp.StatusCode, len(body))
	}
	events, _ := h.St.ListAudit(t.Context(), store.AuditFilter{Action: "auth.failed"})
	if len(events) != 2 {
		t.Fatalf("%d auth.failed events, want 2", len(events))
	}
	for _, e := range events {
		if n := len(e.Actor) + len(e.Detail); n > 1024 {
			t.Errorf("audit row of %d bytes: %.120s…", n, e.Detail)
		}
		if !strings.Contains(e.Detail, "bytes)") {
			t.Errorf("a clipped value must say its original length: %.300s", e.Detail)
		}
	}
	for _, line := range strings.Split(h.Logs.String(), "\n") {
		if len(line) > 4096 {
			t.Errorf("log line of %d bytes: %.120s…", len(line), line)
		}
	}
}

// TestLockoutLimitsOnlyFailures: a client IP locked out by failed tokens
// still gets through with a valid token or a validly signed delivery, and
// CORS preflights never count as failures.
func TestLockoutLimitsOnlyFailures(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{AuthFailureBurst: 2, AuthFailureEvery: time.Hour}})
	for range 20 {
		req, _ := http.NewRequest(http.MethodOptions, h.http.URL+"/api/v1/plans", nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := h.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Allow"), "POST") {
			t.Fatalf("preflight: %d Allow %q, want 204 listing POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
		if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Fatalf("preflight allowed origin %q: the server does no CORS", v)
		}
	}
	if got := h.do("OPTIONS", "/no/such/route", "", nil, nil); got != 404 {
		t.Errorf("preflight of an unknown route: %d, want 404", got)
	}
	if got := h.do("GET", "/api/v1/plans", "", nil, nil); got != 401 {
		t.Fatalf("first failure after 20 preflights: %d, want 401 (preflights are not failures)", got)
	}
	h.do("GET", "/api/v1/plans", "", nil, nil)
	if got := h.do("GET", "/api/v1/plans", "", nil, nil); got != 429 {
		t.Fatalf("third failure: %d, want 429", got)
	}
	if got := h.do("GET", "/api/v1/status", web.RoleAdmin, nil, nil); got != 200 {
		t.Errorf("valid admin token during the lockout: %d, want 200", got)
	}
	if code, body := h.webhook("ping", "lock-1", []byte(`{"zen":"z"}`), ""); code != 200 {
		t.Errorf("valid signed delivery during the lockout: %d %v, want 200", code, body)
	}
	if code, _ := h.webhook("ping", "lock-2", []byte(`{"zen":"z"}`), "sha256="+strings.Repeat("0", 64)); code != 429 {
		t.Errorf("badly signed delivery during the lockout: %d, want 429", code)
	}
	failed, _ := h.St.ListAudit(t.Context(), store.AuditFilter{Action: "auth.failed"})
	if len(failed) != 2 {
		t.Errorf("%d auth.failed rows, want 2 (preflights and refusals are not audited as failures)", len(failed))
	}
}

// TestPageTokenBounds: page tokens past the bound, up to one whose offset
// would overflow offset+size+1 into "no LIMIT", are refused.
func TestPageTokenBounds(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	tok := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	cases := map[string]struct {
		token string
		want  int
	}{
		"MaxInt64":     {tok("o:9223372036854775807"), 400},
		"MaxInt64-500": {tok("o:9223372036854775307"), 400},
		"PastBound":    {tok("o:100001"), 400},
		"AtBound":      {tok("o:100000"), 200},
		"Small":        {tok("o:3"), 200},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, list := range []string{"/api/v1/plans", "/api/v1/audit", "/api/v1/runs", "/api/v1/tokens"} {
				if got := h.do("GET", list+"?page_size=500&page_token="+tc.token, web.RoleAdmin, nil, nil); got != tc.want {
					t.Errorf("%s: %d, want %d", list, got, tc.want)
				}
			}
		})
	}
}

// TestTokenExpiry: a token with a lifetime works until then, is listed
// with its expiry, and gets 401 "expired token" after.
func TestTokenExpiry(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{Now: clock}})
	var created struct {
		ID        string
		Token     string
		ExpiresAt time.Time `json:"expires_at"`
	}
	if code := h.do("POST", "/api/v1/tokens", web.RoleAdmin, map[string]string{"name": "ci", "role": "viewer", "expires_in": "720h"}, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if want := now.Add(720 * time.Hour); !created.ExpiresAt.Equal(want) {
		t.Errorf("expires_at %v, want %v", created.ExpiresAt, want)
	}
	for _, bad := range []string{"-1h", "0s", "soon", "1000000h"} {
		if code := h.do("POST", "/api/v1/tokens", web.RoleAdmin, map[string]string{"name": "bad", "role": "viewer", "expires_in": bad}, nil); code != 400 {
			t.Errorf("expires_in %q: %d, want 400", bad, code)
		}
	}
	var l struct {
		Items []map[string]any
	}
	h.do("GET", "/api/v1/tokens", web.RoleAdmin, nil, &l)
	listed := 0
	for _, it := range l.Items {
		if it["id"] == created.ID && it["expires_at"] != nil {
			listed++
		}
		if it["name"] == "t-admin" && it["expires_at"] != nil {
			t.Errorf("a token without a lifetime is listed with expires_at %v", it["expires_at"])
		}
	}
	if listed != 1 {
		t.Errorf("the token list does not show the expiry: %v", l.Items)
	}
	h.tokens["ci"] = created.Token
	now = now.Add(720*time.Hour - time.Second)
	if got := h.do("GET", "/api/v1/plans", "ci", nil, nil); got != 200 {
		t.Errorf("a second before expiry: %d, want 200", got)
	}
	now = now.Add(time.Second)
	var e struct{ Error struct{ Message string } }
	if got := h.do("GET", "/api/v1/plans", "ci", nil, &e); got != 401 || !strings.Contains(e.Error.Message, "expired token "+created.ID) {
		t.Errorf("at expiry: %d %q, want 401 naming the expired token", got, e.Error.Message)
	}
	if got := h.do("GET", "/api/v1/plans", web.RoleViewer, nil, nil); got != 200 {
		t.Errorf("a token without a lifetime: %d, want 200", got)
	}
}

// TestFullStoreIsUnavailable runs the server on a real SQLite database
// capped by max_page_count, so that the engine itself answers SQLITE_FULL
// as on a full disk: writes get 503 with Retry-After, /readyz reports the
// store as failing, and no answer names the database file.
func TestFullStoreIsUnavailable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "meridian.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, admin, err := web.IssueToken(ctx, db, web.TokenRequest{Name: "root", Role: web.RoleAdmin, CreatedBy: "test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A cap below the current size is raised to it: the file is full now.
	db, err = sqlite.Open(ctx, path, sqlite.Options{MaxPageCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httptest.NewServer(newBareServer(t, db, web.Options{}).Handler())
	t.Cleanup(srv.Close)

	call := func(method, path string, body any) (*http.Response, string) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	var resp *http.Response
	var body string
	for i := 0; i < 2000; i++ {
		resp, body = call("POST", "/api/v1/tokens", map[string]string{"name": "t" + strconv.Itoa(i), "role": "viewer"})
		if resp.StatusCode != http.StatusCreated {
			break
		}
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a write to a full store: %d (Retry-After %q) %s, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if !strings.Contains(body, `"code":"unavailable"`) || strings.Contains(body, dir) {
		t.Errorf("503 body %s: want code unavailable and no file path", body)
	}
	resp, body = call("GET", "/readyz", nil)
	var ready struct {
		Status string
		Checks map[string]string
	}
	_ = json.Unmarshal([]byte(body), &ready)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(ready.Checks["store"], "failing") || !strings.Contains(ready.Checks["store"], "full") {
		t.Errorf("/readyz on a full store: %d %s, want 503 naming the failing store check", resp.StatusCode, body)
	}
	if strings.Contains(body, dir) {
		t.Errorf("/readyz names a file: %s", body)
	}
	if resp, body = call("GET", "/api/v1/tokens", nil); resp.StatusCode != 200 {
		t.Errorf("reads of a full store: %d %s, want 200", resp.StatusCode, body)
	}
}

// TestRequestIDs: a client's X-Request-Id is kept only when it is short
// and plain.
func TestRequestIDs(t *testing.T) {
	srv := newBareServer(t, controlplanetest.NewStore(nil), web.Options{})
	cases := map[string]struct {
		id   string
		keep bool
	}{
		"Plain":    {"req-123_abc.DEF", true},
		"Max":      {strings.Repeat("a", 64), true},
		"TooLong":  {strings.Repeat("a", 65), false},
		"Spaces":   {"a b", false},
		"LogForge": {`x" level=ERROR msg="forged`, false},
		"Unicode":  {"é", false},
		"Empty":    {"", false},
	}
	seen := map[string]bool{}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/healthz", nil)
			if tc.id != "" {
				r.Header.Set("X-Request-Id", tc.id)
			}
			got := serve(srv.Handler(), r).Header().Get("X-Request-Id")
			if tc.keep != (got == tc.id) {
				t.Errorf("X-Request-Id %q answered with %q (keep %v)", tc.id, got, tc.keep)
			}
			if !tc.keep && (got == "" || seen[got]) {
				t.Errorf("replacement ID %q must be fresh", got)
			}
			seen[got] = true
		})
	}
}

// TestNotFoundBodies: 404 and 405 answers clip the client's path.
func TestNotFoundBodies(t *testing.T) {
	srv := newBareServer(t, controlplanetest.NewStore(nil), web.Options{})
	long := "/" + strings.Repeat("z", 100<<10)
	for _, r := range []*http.Request{httptest.NewRequest("GET", long, nil), httptest.NewRequest("DELETE", "/healthz"+"?"+long, nil)} {
		w := serve(srv.Handler(), r)
		if w.Code != 404 && w.Code != 405 {
			t.Errorf("%s: %d", r.Method, w.Code)
		}
		if w.Body.Len() > 1024 {
			t.Errorf("%s: a %d-byte error body echoes the path", r.Method, w.Body.Len())
		}
	}
}
