package gitops

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// authCounter counts the requests that carry an Authorization header.
type authCounter struct {
	next          http.Handler
	requests, got atomic.Int64
}

func (c *authCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	if len(r.Header.Values("Authorization")) > 0 {
		c.got.Add(1)
	}
	c.next.ServeHTTP(w, r)
}

// TestTokenGoesOnlyToTokenHosts is finding #1: a fork's deploy.repo pointed
// at an attacker's host, and the clone sent it the server's token.
func TestTokenGoesOnlyToTokenHosts(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	f := newRemoteFixture(t)
	attacker := &authCounter{next: smartHTTP(t, filepath.Dir(f.bare), "", "")}
	srv := httptest.NewTLSServer(attacker)
	t.Cleanup(srv.Close)
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	repoURL := srv.URL + "/remote.git"

	cases := map[string]struct {
		reason string
		auth   AuthOptions
		env    map[string]string
	}{
		"options token, other host allowed": {
			reason: "the token is configured for the operator's Git host, not this one",
			auth:   AuthOptions{Token: token, TokenHosts: []string{"github.com"}},
		},
		"env token, other host allowed": {
			reason: "$MERIDIAN_GIT_TOKEN is the server's; it goes to its host only",
			auth:   AuthOptions{TokenHosts: []string{"github.com"}},
			env:    map[string]string{DefaultTokenEnv: token},
		},
		"same host, other port": {
			reason: "a port is part of the origin: another port may be another tenant",
			auth:   AuthOptions{Token: token, TokenHosts: []string{strings.Split(srv.Listener.Addr().String(), ":")[0] + ":1"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := attacker.got.Load()
			opts := testOptions(t, nil)
			opts.CABundle = caBundle
			opts.Auth = tc.auth
			opts.Auth.Getenv = func(k string) string { return tc.env[k] }

			snap, err := Load(t.Context(), repoURL, "", opts)
			if err != nil {
				t.Fatalf("a public repository loads without credentials: %v", err)
			}
			if snap.Commit != f.c2 {
				t.Errorf("commit = %s, want %s", snap.Commit, f.c2)
			}

			// The deploy package clones through Method; check that path too.
			m, err := opts.Auth.Method(repoURL)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := git.PlainCloneContext(t.Context(), t.TempDir(), true, &git.CloneOptions{URL: repoURL, Auth: m, CABundle: caBundle}); err != nil {
				t.Fatalf("clone: %v", err)
			}
			if n := attacker.got.Load() - before; n != 0 {
				t.Errorf("%s\n%d requests to a host not on TokenHosts carried Authorization", tc.reason, n)
			}
		})
	}
	if attacker.requests.Load() == 0 {
		t.Fatal("the server saw no requests: the test checks nothing")
	}
}

// TestTokenHostAllowed checks the positive side: the host on TokenHosts
// gets the token, so the test above is not passing by sending nothing ever.
func TestTokenHostAllowed(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	f := newRemoteFixture(t)
	host := &authCounter{next: smartHTTP(t, filepath.Dir(f.bare), DefaultTokenUsername, token)}
	srv := httptest.NewTLSServer(host)
	t.Cleanup(srv.Close)
	opts := testOptions(t, nil)
	opts.CABundle = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	u, _ := url.Parse(srv.URL)
	opts.Auth = AuthOptions{Token: token, TokenHosts: []string{strings.ToUpper(u.Host)}}

	if _, err := Load(t.Context(), srv.URL+"/remote.git", "", opts); err != nil {
		t.Fatal(err)
	}
	if host.got.Load() == 0 {
		t.Error("the allowed host got no Authorization header")
	}
}

// TestTokenNotForwardedOnRedirect: the allowed host redirects the clone to
// another host, which must see no credentials, neither on the redirected
// discovery request nor on the fetch that follows it.
func TestTokenNotForwardedOnRedirect(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	f := newRemoteFixture(t)
	other := &authCounter{next: smartHTTP(t, filepath.Dir(f.bare), "", "")}
	otherSrv := httptest.NewTLSServer(other)
	t.Cleanup(otherSrv.Close)
	origin := &authCounter{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherSrv.URL+r.URL.RequestURI(), http.StatusFound)
	})}
	originSrv := httptest.NewTLSServer(origin)
	t.Cleanup(originSrv.Close)
	// httptest servers share one certificate.
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: originSrv.Certificate().Raw})
	repoURL := originSrv.URL + "/remote.git"

	cases := map[string]AuthOptions{
		"token (Load allows the source's host)": {Token: token},
		"credentials in the URL":                {},
	}
	for name, auth := range cases {
		t.Run(name, func(t *testing.T) {
			before, beforeOrigin := other.got.Load(), origin.got.Load()
			opts := testOptions(t, nil)
			opts.CABundle = caBundle
			opts.Auth = auth
			opts.Auth.Getenv = func(string) string { return "" }
			source := repoURL
			if auth.Token == "" {
				source = strings.Replace(repoURL, "https://", "https://bot:"+token+"@", 1)
			}

			_, err := Load(t.Context(), source, "", opts)
			if err != nil {
				t.Logf("load: %v", err)
				assertNoSecret(t, "error", err.Error(), token)
			}
			if origin.got.Load() == beforeOrigin {
				t.Error("the origin got no credentials: the test checks nothing")
			}
			if n := other.got.Load() - before; n != 0 {
				t.Errorf("%d requests to the redirect target carried Authorization", n)
			}
		})
	}
	if other.requests.Load() == 0 {
		t.Fatal("the redirect was not followed: the test checks nothing")
	}
}

func TestWithTokenHostOf(t *testing.T) {
	a := AuthOptions{TokenHosts: []string{"github.com"}}.WithTokenHostOf("https://u:p@Git.Example:8443/x.git")
	if !a.tokenAllowed(mustEndpoint(t, "https://git.example:8443/y.git")) {
		t.Errorf("TokenHosts %v: the added host is not allowed", a.TokenHosts)
	}
	if a.tokenAllowed(mustEndpoint(t, "https://git.example/y.git")) {
		t.Errorf("TokenHosts %v: another port is allowed", a.TokenHosts)
	}
	if b := (AuthOptions{}).WithTokenHostOf("http://git.example/x.git"); len(b.TokenHosts) != 0 {
		t.Errorf("an http URL added %v: tokens never go over http", b.TokenHosts)
	}
}

func mustEndpoint(tb testing.TB, raw string) *transport.Endpoint {
	tb.Helper()
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}
