package main

import (
	"strings"
	"testing"
)

// TestTokenCreateLoginLink: --login-link prints a one-time sign-in link
// that carries a sign-in code, never the token (which stays the last line
// of stdout), and a bad URL is refused before any token exists.
func TestTokenCreateLoginLink(t *testing.T) {
	state := t.TempDir()
	cases := map[string]struct {
		url      string
		wantCode int
		wantLink string
	}{
		"Good":        {url: "http://127.0.0.1:8080/", wantLink: "http://127.0.0.1:8080/login?token=mlc_"},
		"HTTPS":       {url: "https://meridian.example.com", wantLink: "https://meridian.example.com/login?token=mlc_"},
		"NotHTTP":     {url: "ftp://host", wantCode: 1},
		"NoHost":      {url: "/relative", wantCode: 1},
		"Unparseable": {url: "http://[::1", wantCode: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, "token", "create", "--role", "viewer", "--name", "link-"+name, "--login-link", tc.url, "--state-dir", state)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			if tc.wantCode != 0 {
				if l := runCLI(t, "token", "list", "--state-dir", state); strings.Contains(l.stdout, "link-"+name) {
					t.Errorf("a refused --login-link left a token behind:\n%s", l.stdout)
				}
				return
			}
			token, link := lastLine(r.stdout), lineWith(r.stdout, "/login?token=")
			if !strings.HasPrefix(link, tc.wantLink) || strings.Contains(link, token) || !strings.HasPrefix(token, "mrd_") {
				t.Errorf("link %q, token %q: want a link starting %q that does not carry the token", link, token, tc.wantLink)
			}
		})
	}
}
