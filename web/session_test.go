package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

// browser is a client with its own cookie jar that does not follow
// redirects, so that tests see each 303.
type browser struct {
	t    *testing.T
	h    *harness
	c    *http.Client
	base *url.URL
}

func newBrowser(t *testing.T, h *harness) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(h.http.URL)
	return &browser{t: t, h: h, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send sends a request with a form body (when form is not nil) and the
// given headers, and returns the answer with its body read.
func (b *browser) send(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.h.http.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formCSRF returns the csrf field of a page.
func formCSRF(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in:\n%s", page)
	}
	return m[1]
}

// login signs in through the form with secret and returns the answer.
func (b *browser) login(secret, next string) *http.Response {
	b.t.Helper()
	_, page := b.send("GET", "/login?next="+url.QueryEscape(next), nil, nil)
	resp, _ := b.send("POST", "/login", url.Values{"csrf": {formCSRF(b.t, page)}, "token": {secret}, "next": {next}}, nil)
	return resp
}

// signedIn reports whether the browser has a live session: /login sends a
// signed-in browser on to next.
func (b *browser) signedIn() bool {
	b.t.Helper()
	resp, _ := b.send("GET", "/login?next=/x", nil, nil)
	return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/x"
}

func (b *browser) cookie(name string) *http.Cookie {
	for _, c := range b.c.Jar.Cookies(b.base) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func sessionCookieOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "meridian_session" {
			return c
		}
	}
	return nil
}

// clock is a settable clock for the server.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func auditRows(t *testing.T, h *harness, action string) []store.AuditEvent {
	t.Helper()
	rows, err := h.St.ListAudit(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func tokenOf(t *testing.T, h *harness, secret string) store.Token {
	t.Helper()
	tok, err := h.St.TokenByHash(context.Background(), web.HashToken(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestSignInForm: the sign-in form takes exactly the tokens the API takes,
// and refuses the rest as the API does (401, audited, no session).
func TestSignInForm(t *testing.T) {
	cases := map[string]struct {
		reason string
		// secret picks the token to send.
		secret func(h *harness) string
		// csrf changes the form's CSRF field ("" keeps it).
		csrf   func(string) string
		hdr    map[string]string
		want   int
		audit  string
		signed bool
	}{
		"Good": {reason: "a live token signs in and goes to next",
			secret: func(h *harness) string { return h.tokens[web.RoleViewer] }, want: 303, signed: true},
		"Unknown": {reason: "an unknown token is a failed authentication, audited",
			secret: func(*harness) string { return "mrd_nope" }, want: 401, audit: "unknown token"},
		"Empty": {reason: "no token at all counts as a failure too",
			secret: func(*harness) string { return "" }, want: 401, audit: "missing token"},
		"Revoked": {reason: "a revoked token signs nobody in",
			secret: func(h *harness) string {
				tok := tokenOf(t, h, h.tokens[web.RoleOperator])
				if err := h.St.RevokeToken(context.Background(), tok.ID, time.Now()); err != nil {
					t.Fatal(err)
				}
				return h.tokens[web.RoleOperator]
			}, want: 401, audit: "revoked token"},
		"Expired": {reason: "an expired token signs nobody in",
			secret: func(h *harness) string {
				_, s, err := web.IssueToken(context.Background(), h.St, web.TokenRequest{Name: "short", Role: web.RoleViewer, TTL: time.Millisecond}, time.Now().Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return s
			}, want: 401, audit: "expired token"},
		"NoCSRF": {reason: "the unauthenticated form is CSRF-protected all the same",
			secret: func(h *harness) string { return h.tokens[web.RoleViewer] }, csrf: func(string) string { return "" }, want: 403},
		"WrongCSRF": {reason: "a CSRF value not derived from the browser's cookie is refused",
			secret: func(h *harness) string { return h.tokens[web.RoleViewer] }, csrf: func(s string) string { return s[:len(s)-2] + "xx" }, want: 403},
		"CrossOrigin": {reason: "a browser posting from another site is refused before the token is read",
			secret: func(h *harness) string { return h.tokens[web.RoleViewer] }, hdr: map[string]string{"Origin": "https://evil.example"}, want: 403},
		"OriginNull": {reason: "browsers send Origin: null for forms of a no-referrer page; Sec-Fetch-Site vouches for them",
			secret: func(h *harness) string { return h.tokens[web.RoleViewer] }, hdr: map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}, want: 303, signed: true},
		"CrossSite": {reason: "Sec-Fetch-Site cross-site is refused",
			secret: func(h *harness) string { return h.tokens[web.RoleViewer] }, hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 403},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{noRun: true})
			b := newBrowser(t, h)
			_, page := b.send("GET", "/login?next=/placements", nil, nil)
			csrf := formCSRF(t, page)
			if tc.csrf != nil {
				csrf = tc.csrf(csrf)
			}
			resp, body := b.send("POST", "/login", url.Values{"csrf": {csrf}, "token": {tc.secret(h)}, "next": {"/placements"}}, tc.hdr)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s: status %d, want %d\n%s", tc.reason, resp.StatusCode, tc.want, body)
			}
			c := sessionCookieOf(resp)
			if tc.signed != (c != nil) {
				t.Fatalf("%s: session cookie %v, want one: %v", tc.reason, c, tc.signed)
			}
			if tc.signed {
				if loc := resp.Header.Get("Location"); loc != "/placements" {
					t.Errorf("redirect to %q, want /placements", loc)
				}
				if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
					t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", c)
				}
				if c.Value == tc.secret(h) || strings.Contains(c.Value, "mrd_") {
					t.Errorf("the cookie carries the token")
				}
				if !b.signedIn() {
					t.Errorf("the session does not work")
				}
				if n := len(auditRows(t, h, "session.start")); n != 1 {
					t.Errorf("%d session.start audit rows, want 1", n)
				}
			}
			failed := auditRows(t, h, "auth.failed")
			if tc.audit == "" && len(failed) != 0 {
				t.Errorf("audited failures %+v, want none", failed)
			}
			if tc.audit != "" && (len(failed) != 1 || !strings.Contains(failed[0].Detail, tc.audit)) {
				t.Errorf("audited failures %+v, want one saying %q", failed, tc.audit)
			}
			if tc.audit != "" && b.signedIn() {
				t.Errorf("a failed sign-in left a session")
			}
		})
	}
}

// TestSignInLockout: failed sign-ins share the API's failure limit, and a
// live token still signs in from a locked-out address.
func TestSignInLockout(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{AuthFailureBurst: 2, AuthFailureEvery: time.Hour}})
	b := newBrowser(t, h)
	for i, want := range []int{401, 401, 429, 429} {
		resp := b.login("mrd_wrong", "/")
		if resp.StatusCode != want {
			t.Fatalf("failure %d: %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	if got := h.do("GET", "/api/v1/plans", "", nil, nil); got != 429 {
		t.Errorf("the API after failed sign-ins: %d, want 429 (one limit for both)", got)
	}
	if resp := b.login(h.tokens[web.RoleViewer], "/"); resp.StatusCode != 303 {
		t.Errorf("a live token during the lockout: %d, want 303", resp.StatusCode)
	}
}

// TestSessionEnds: a session ends when idle too long, at its absolute
// lifetime, at its token's expiry, and when its token is revoked.
func TestSessionEnds(t *testing.T) {
	start := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		reason string
		ttl    time.Duration // of the token; 0: none
		// steps advance the clock and use the session; the last must fail.
		steps  []time.Duration
		revoke bool
	}{
		"Idle": {reason: "two idle hours end a session", steps: []time.Duration{time.Hour, 2 * time.Hour}},
		"Lifetime": {reason: "an active session ends 12 h after sign-in",
			steps: []time.Duration{time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, 59 * time.Minute, time.Minute}},
		"TokenExpiry": {reason: "a session never outlives its token", ttl: 90 * time.Minute, steps: []time.Duration{time.Hour, 30 * time.Minute}},
		"Revoked":     {reason: "revoking the token ends its sessions at once", steps: []time.Duration{time.Minute}, revoke: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			clk := &clock{now: start}
			h := newHarness(t, harnessOptions{noRun: true, server: web.Options{Now: clk.Now}})
			tok, secret, err := web.IssueToken(context.Background(), h.St, web.TokenRequest{Name: "browser", Role: web.RoleViewer, TTL: tc.ttl}, start)
			if err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t, h)
			if resp := b.login(secret, "/"); resp.StatusCode != 303 {
				t.Fatalf("sign in: %d", resp.StatusCode)
			}
			last := len(tc.steps) - 1
			for i, d := range tc.steps {
				clk.add(d)
				if i == last && tc.revoke {
					if err := h.St.RevokeToken(context.Background(), tok.ID, clk.Now()); err != nil {
						t.Fatal(err)
					}
				}
				if got := b.signedIn(); got != (i != last) {
					t.Fatalf("%s: after step %d (%s) signed in = %v", tc.reason, i, clk.Now().Sub(start), got)
				}
			}
		})
	}
}

// TestBrowserAuth: pages send a browser without a session to sign in (GET)
// or refuse it (other methods); with a session they see the principal.
func TestBrowserAuth(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	b := newBrowser(t, h)
	resp, _ := b.send("GET", "/placements?env=prod", nil, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != "/login?next="+url.QueryEscape("/placements?env=prod") {
		t.Fatalf("GET without a session: %d Location %q, want 303 to the sign-in page with next", resp.StatusCode, loc)
	}
	resp, _ = b.send("POST", "/plans/p1/apply", url.Values{"csrf": {"x"}}, nil)
	if resp.StatusCode != 401 {
		t.Errorf("POST without a session: %d, want 401", resp.StatusCode)
	}
	b.send("GET", "/", nil, map[string]string{"Cookie": "meridian_session=forged"})
	if resp := b.login(h.tokens[web.RoleViewer], "/"); resp.StatusCode != 303 {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	resp, body := b.send("GET", "/", nil, nil)
	if resp.StatusCode != 200 {
		t.Errorf("the overview with a session: %d\n%s", resp.StatusCode, body)
	}
}

// TestCSRF: every state-changing page request needs the session's CSRF
// token; the token is the session's, not any session's.
func TestCSRF(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	op, other := newBrowser(t, h), newBrowser(t, h)
	for _, b := range []*browser{op, other} {
		if resp := b.login(h.tokens[web.RoleOperator], "/"); resp.StatusCode != 303 {
			t.Fatalf("sign in: %d", resp.StatusCode)
		}
	}
	_, page := other.send("GET", "/login?next=/", nil, nil) // signed in: a redirect, no form
	if csrfField.MatchString(page) {
		t.Fatalf("a signed-in browser got a sign-in form")
	}
	_, otherPage := other.send("GET", "/plans", nil, nil)
	otherCSRF := ""
	if m := csrfField.FindStringSubmatch(otherPage); m != nil {
		otherCSRF = m[1]
	}
	cases := map[string]struct {
		form url.Values
		hdr  map[string]string
	}{
		"Missing":       {form: url.Values{}},
		"Wrong":         {form: url.Values{"csrf": {"AAAA"}}},
		"OtherSession":  {form: url.Values{"csrf": {otherCSRF}}},
		"OversizedForm": {form: url.Values{"csrf": {strings.Repeat("a", 20<<10)}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := op.send("POST", "/plans/p1/apply", tc.form, tc.hdr)
			if resp.StatusCode != 403 && !(name == "OversizedForm" && resp.StatusCode == 413) {
				t.Errorf("status %d, want 403\n%s", resp.StatusCode, body)
			}
		})
	}
}

// TestLogout: signing out needs the CSRF token, deletes the session (its
// cookie no longer works anywhere) and clears the cookie.
func TestLogout(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	b := newBrowser(t, h)
	if resp := b.login(h.tokens[web.RoleViewer], "/"); resp.StatusCode != 303 {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	stolen := b.cookie("meridian_session")
	if resp, _ := b.send("POST", "/logout", url.Values{}, nil); resp.StatusCode != 403 || !b.signedIn() {
		t.Fatalf("sign-out without CSRF: %d, want 403 and the session kept", resp.StatusCode)
	}
	// The pages carry the CSRF token; /logout takes it.
	_, page := b.send("GET", "/", nil, nil)
	resp, _ := b.send("POST", "/logout", url.Values{"csrf": {formCSRF(t, page)}}, nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
		t.Fatalf("sign-out: %d %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := sessionCookieOf(resp); c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out did not clear the cookie: %+v", c)
	}
	if b.signedIn() {
		t.Errorf("still signed in after sign-out")
	}
	replay := newBrowser(t, h)
	replay.c.Jar.SetCookies(replay.base, []*http.Cookie{stolen})
	if replay.signedIn() {
		t.Errorf("the signed-out session's cookie still works")
	}
}

// TestOpenRedirect: next= only ever leads to a path of this site.
func TestOpenRedirect(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	cases := map[string]string{
		"//evil.example/x":         "/",
		"/\\evil.example":          "/",
		"\\\\evil.example":         "/",
		"https://evil.example/":    "/",
		"javascript:alert(1)":      "/",
		"/\t/evil.example":         "/",
		"evil.example":             "/",
		"":                         "/",
		"/placements?env=prod&p=2": "/placements?env=prod&p=2",
		"/drift":                   "/drift",
	}
	for next, want := range cases {
		t.Run(next, func(t *testing.T) {
			b := newBrowser(t, h)
			resp := b.login(h.tokens[web.RoleViewer], next)
			if got := resp.Header.Get("Location"); resp.StatusCode != 303 || got != want {
				t.Errorf("next %q: %d to %q, want 303 to %q", next, resp.StatusCode, got, want)
			}
			// A signed-in browser visiting /login?next= is redirected too.
			resp, _ = b.send("GET", "/login?next="+url.QueryEscape(next), nil, nil)
			if got := resp.Header.Get("Location"); got != want {
				t.Errorf("signed in, /login?next=%q goes to %q, want %q", next, got, want)
			}
		})
	}
}

// TestHTMLHeaders: every HTML answer (page, sign-in form, redirect, error,
// unknown path) carries the CSP and its companions.
func TestHTMLHeaders(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	signed := newBrowser(t, h)
	if resp := signed.login(h.tokens[web.RoleViewer], "/"); resp.StatusCode != 303 {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	anon := newBrowser(t, h)
	cases := map[string]struct {
		b            *browser
		method, path string
		form         url.Values
		want         int
	}{
		"Page":          {b: signed, method: "GET", path: "/", want: 200},
		"LoginForm":     {b: anon, method: "GET", path: "/login", want: 200},
		"Redirect":      {b: anon, method: "GET", path: "/drift", want: 303},
		"Unauthorized":  {b: anon, method: "POST", path: "/plans/x/apply", form: url.Values{}, want: 401},
		"Forbidden":     {b: anon, method: "POST", path: "/login", form: url.Values{"token": {"x"}}, want: 403},
		"BadCode":       {b: anon, method: "GET", path: "/login?token=mlc_nope", want: 401},
		"NotFound":      {b: signed, method: "GET", path: "/no/such/page", want: 404},
		"LoginRedirect": {b: signed, method: "GET", path: "/login", want: 303},
	}
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := tc.b.send(tc.method, tc.path, tc.form, nil)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s: %d, want %d\n%s", tc.method, tc.path, resp.StatusCode, tc.want, body)
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, " style=") {
				t.Errorf("inline script or style in the answer")
			}
		})
	}
}

// TestLoginCode: a one-time sign-in code signs in once (of concurrent
// uses exactly one wins), with its token's role, for 15 minutes, and is
// never written to the log or the audit log.
func TestLoginCode(t *testing.T) {
	clk := &clock{now: time.Now()}
	db := controlplanetest.OpenSQLite(t)
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{Now: clk.Now, Sessions: db}})
	tok := tokenOf(t, h, h.tokens[web.RoleOperator])
	ctx := context.Background()
	var codes []string
	issue := func() string {
		code, err := web.IssueLoginCode(ctx, db, tok, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, code)
		return code
	}

	t.Run("SingleUse", func(t *testing.T) {
		code := issue()
		if strings.HasPrefix(code, "mrd_") || code == h.tokens[web.RoleOperator] {
			t.Fatalf("the code looks like an API token")
		}
		link, err := web.LoginLink("http://127.0.0.1:8080/", code)
		if err != nil || link != "http://127.0.0.1:8080/login?token="+code {
			t.Fatalf("LoginLink: %q %v", link, err)
		}
		const n = 16
		statuses := make([]int, n)
		cookies := make([]*http.Cookie, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp, _ := newBrowser(t, h).send("GET", "/login?token="+code, nil, nil)
				statuses[i], cookies[i] = resp.StatusCode, sessionCookieOf(resp)
				if resp.StatusCode == 303 && resp.Header.Get("Location") != "/" {
					t.Errorf("the code led to %q, want /", resp.Header.Get("Location"))
				}
			})
		}
		wg.Wait()
		won := 0
		for i, st := range statuses {
			switch {
			case st == 303 && cookies[i] != nil:
				won++
			case (st != 401 && st != 429) || (cookies[i] != nil && cookies[i].MaxAge >= 0):
				// Past the failure burst, losers are locked out (429).
				t.Errorf("use %d: %d cookie %+v, want 401 or 429 and no session", i, st, cookies[i])
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent uses signed in, want exactly 1 (%v)", won, n, statuses)
		}
	})
	t.Run("OperatorRole", func(t *testing.T) {
		b := newBrowser(t, h)
		b.send("GET", "/login?token="+issue(), nil, nil)
		if !b.signedIn() {
			t.Fatal("the code did not sign in")
		}
		starts := auditRows(t, h, "session.start")
		if len(starts) == 0 || starts[len(starts)-1].Actor != "api:t-operator" || !strings.Contains(starts[len(starts)-1].Detail, "(operator)") {
			t.Errorf("session.start rows %+v, want the operator token's", starts)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		code := issue()
		clk.add(web.LoginCodeTTL)
		resp, _ := newBrowser(t, h).send("GET", "/login?token="+code, nil, nil)
		if resp.StatusCode != 401 || sessionCookieOf(resp) != nil {
			t.Errorf("a code 15 minutes old: %d, want 401 without a session", resp.StatusCode)
		}
		failed := auditRows(t, h, "auth.failed")
		if len(failed) == 0 || !strings.Contains(failed[len(failed)-1].Detail, "expired sign-in code") {
			t.Errorf("audit %+v, want the expired code's failure", failed)
		}
	})
	t.Run("RevokedToken", func(t *testing.T) {
		code := issue()
		if err := h.St.RevokeToken(ctx, tok.ID, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if resp, _ := newBrowser(t, h).send("GET", "/login?token="+code, nil, nil); resp.StatusCode != 401 {
			t.Errorf("a code of a revoked token: %d, want 401", resp.StatusCode)
		}
		if _, err := web.IssueLoginCode(ctx, db, tokenOf(t, h, h.tokens[web.RoleOperator]), clk.Now()); err == nil {
			t.Errorf("issued a code for a revoked token")
		}
	})
	t.Run("NeverLogged", func(t *testing.T) {
		all := auditRows(t, h, "")
		logs := h.Logs.String()
		for _, code := range codes {
			if strings.Contains(logs, code) {
				t.Errorf("the log holds a sign-in code")
			}
			for _, e := range all {
				if strings.Contains(e.Detail+e.Actor+e.Target, code) || strings.Contains(e.Detail, code[len(code)-20:]) {
					t.Errorf("audit row %+v holds a sign-in code", e)
				}
			}
		}
		if !strings.Contains(logs, "/login") {
			t.Errorf("the request log has no /login line; cannot tell that codes are kept out of it:\n%s", logs)
		}
	})
}

// TestSecureCookie: the session cookie is Secure when the browser came
// over TLS, which a plain-HTTP request proves only through a trusted
// proxy's X-Forwarded-Proto.
func TestSecureCookie(t *testing.T) {
	cases := map[string]struct {
		proxies []string
		proto   string
		secure  bool
	}{
		"PlainHTTP":       {secure: false},
		"TrustedProxy":    {proxies: []string{"127.0.0.1/32"}, proto: "https", secure: true},
		"UntrustedHeader": {proto: "https", secure: false},
		"TrustedHTTP":     {proxies: []string{"127.0.0.0/8"}, proto: "http", secure: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{noRun: true, server: web.Options{TrustedProxies: tc.proxies}})
			b := newBrowser(t, h)
			hdr := map[string]string{}
			if tc.proto != "" {
				hdr["X-Forwarded-Proto"] = tc.proto
			}
			_, page := b.send("GET", "/login", nil, hdr)
			resp, _ := b.send("POST", "/login", url.Values{"csrf": {formCSRF(t, page)}, "token": {h.tokens[web.RoleViewer]}, "next": {"/"}}, hdr)
			c := sessionCookieOf(resp)
			if resp.StatusCode != 303 || c == nil || c.Secure != tc.secure {
				t.Errorf("%d, cookie %+v; want a session cookie with Secure=%v", resp.StatusCode, c, tc.secure)
			}
		})
	}
}
