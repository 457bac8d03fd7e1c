package gitops

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/meridianhq/meridian"
)

// authSummary is what matters about an AuthMethod, comparable with cmp.
type authSummary struct {
	Kind        string
	User        string
	Password    string
	PublicKey   string
	KnownHosts  bool
	HostKeyFunc bool
}

func summarize(m transport.AuthMethod) *authSummary {
	switch m := m.(type) {
	case nil:
		return nil
	case *githttp.BasicAuth:
		return &authSummary{Kind: "basic", User: m.Username, Password: m.Password}
	case *boundAuth:
		return &authSummary{Kind: "basic", User: m.Username, Password: m.Password}
	case *gitssh.PublicKeys:
		return &authSummary{
			Kind: "ssh-key", User: m.User,
			PublicKey:   string(ssh.MarshalAuthorizedKey(m.Signer.PublicKey())),
			HostKeyFunc: m.HostKeyCallback != nil,
		}
	}
	return &authSummary{Kind: m.Name()}
}

// sshKey writes a new ed25519 key, encrypted when passphrase is set, and
// returns its path and authorized_keys line.
func sshKey(tb testing.TB, passphrase string) (file, pub string) {
	tb.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(sk, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(sk, "test", []byte(passphrase))
	}
	if err != nil {
		tb.Fatal(err)
	}
	file = filepath.Join(tb.TempDir(), "id_ed25519")
	writeFile(tb, file, string(pem.EncodeToMemory(block)))
	sshPub, err := ssh.NewPublicKey(pk)
	if err != nil {
		tb.Fatal(err)
	}
	return file, string(ssh.MarshalAuthorizedKey(sshPub))
}

func TestAuthOptionsMethod(t *testing.T) {
	plainKey, plainPub := sshKey(t, "")
	const passphrase = "correct horse battery"
	lockedKey, lockedPub := sshKey(t, passphrase)
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, knownHosts, "example.com "+plainPub)
	env := map[string]string{DefaultTokenEnv: "env-token", "OTHER_TOKEN": "other-token"}

	cases := map[string]struct {
		reason   string
		url      string
		auth     AuthOptions
		noEnv    bool
		want     *authSummary
		wantCode string
	}{
		"https, nothing set": {
			reason: "public repositories need no credentials", url: "https://github.com/o/r.git",
			noEnv: true,
		},
		"https, env token": {
			reason: "the token from $MERIDIAN_GIT_TOKEN goes as the x-access-token password",
			url:    "https://github.com/o/r.git", auth: AuthOptions{TokenHosts: []string{"github.com"}},
			want: &authSummary{Kind: "basic", User: "x-access-token", Password: "env-token"},
		},
		"https, options token wins over env": {
			reason: "an explicit token beats the ambient one",
			url:    "https://github.com/o/r.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"github.com"}},
			want: &authSummary{Kind: "basic", User: "x-access-token", Password: "opt-token"},
		},
		"https, custom env and username": {
			reason: "GitLab and Bitbucket use other usernames; CI may name the variable",
			url:    "https://gitlab.com/o/r.git", auth: AuthOptions{TokenEnv: "OTHER_TOKEN", Username: "oauth2", TokenHosts: []string{"gitlab.com"}},
			want: &authSummary{Kind: "basic", User: "oauth2", Password: "other-token"},
		},
		"https, no token hosts": {
			reason: "with no host allowed, neither the env nor the options token goes anywhere (a PR's deploy.repo)",
			url:    "https://attacker.example/x.git", auth: AuthOptions{Token: "opt-token"},
		},
		"https, other host": {
			reason: "the token is for the configured host only",
			url:    "https://attacker.example/x.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"github.com"}},
		},
		"https, env token to other host": {
			reason: "the ambient token is for the configured host only",
			url:    "https://attacker.example/x.git", auth: AuthOptions{TokenHosts: []string{"github.com"}},
		},
		"https, host compared case-insensitively": {
			reason: "DNS names are case-insensitive",
			url:    "https://GitHub.COM/o/r.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"github.com"}},
			want: &authSummary{Kind: "basic", User: "x-access-token", Password: "opt-token"},
		},
		"https, default port spelled out": {
			reason: "host and host:443 are the same origin",
			url:    "https://github.com:443/o/r.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"https://github.com/"}},
			want: &authSummary{Kind: "basic", User: "x-access-token", Password: "opt-token"},
		},
		"https, other port": {
			reason: "another port is another server",
			url:    "https://github.com:8443/o/r.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"github.com"}},
		},
		"https, port listed": {
			reason: "host:port entries allow exactly that port",
			url:    "https://git.internal:8443/o/r.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"git.internal:8443"}},
			want: &authSummary{Kind: "basic", User: "x-access-token", Password: "opt-token"},
		},
		"https, URL credentials on other host": {
			reason: "credentials written into a URL are for that URL, whatever TokenHosts says",
			url:    "https://bot:url-pass@other.example/o/r.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"github.com"}},
			want: &authSummary{Kind: "basic", User: "bot", Password: "url-pass"},
		},
		"https, URL credentials beat env": {
			reason: "credentials written into this URL are meant for it",
			url:    "https://bot:url-pass@github.com/o/r.git",
			want:   &authSummary{Kind: "basic", User: "bot", Password: "url-pass"},
		},
		"https, options token beats URL credentials": {
			reason: "an explicit option wins",
			url:    "https://bot:url-pass@github.com/o/r.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"github.com"}},
			want: &authSummary{Kind: "basic", User: "x-access-token", Password: "opt-token"},
		},
		"http, env token not sent": {
			reason: "an ambient token must not travel in clear text",
			url:    "http://git.internal/o/r.git", auth: AuthOptions{Token: "opt-token", TokenHosts: []string{"git.internal", "git.internal:80"}},
		},
		"http, URL credentials": {
			reason: "credentials the user wrote into an http URL are used as given",
			url:    "http://bot:pw@git.internal/o/r.git",
			want:   &authSummary{Kind: "basic", User: "bot", Password: "pw"},
		},
		"file": {
			reason: "local repositories need nothing", url: "file:///srv/git/r.git",
		},
		"scp-like, key file": {
			reason: "the usual deploy-key setup",
			url:    "git@github.com:o/r.git", auth: AuthOptions{SSHKeyFile: plainKey},
			want: &authSummary{Kind: "ssh-key", User: "git", PublicKey: plainPub},
		},
		"ssh URL user, encrypted key": {
			reason: "the URL's user is the SSH login; the passphrase decrypts the key",
			url:    "ssh://deploy@git.internal:2222/o/r.git",
			auth:   AuthOptions{SSHKeyFile: lockedKey, SSHKeyPassphrase: passphrase},
			want:   &authSummary{Kind: "ssh-key", User: "deploy", PublicKey: lockedPub},
		},
		"ssh, known hosts file": {
			reason: "CI pins host keys with its own known_hosts",
			url:    "git@github.com:o/r.git",
			auth:   AuthOptions{SSHKeyFile: plainKey, SSHKnownHostsFile: knownHosts},
			want:   &authSummary{Kind: "ssh-key", User: "git", PublicKey: plainPub, HostKeyFunc: true},
		},
		"ssh, wrong passphrase": {
			reason:   "a bad passphrase is unauthorized, and not echoed",
			url:      "git@github.com:o/r.git",
			auth:     AuthOptions{SSHKeyFile: lockedKey, SSHKeyPassphrase: "wrong " + passphrase},
			wantCode: meridian.EUNAUTHORIZED,
		},
		"ssh, missing key file": {
			reason: "a typo in the key path is unauthorized",
			url:    "git@github.com:o/r.git", auth: AuthOptions{SSHKeyFile: filepath.Join(t.TempDir(), "nope")},
			wantCode: meridian.EUNAUTHORIZED,
		},
		"ssh, no key and no agent": {
			reason: "without a key file, ssh-agent is required",
			url:    "git@github.com:o/r.git", noEnv: true,
			wantCode: meridian.EUNAUTHORIZED,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.auth.Getenv = func(k string) string {
				if tc.noEnv {
					return ""
				}
				return env[k]
			}
			m, err := tc.auth.Method(tc.url)
			if code := errorCode(err); code != tc.wantCode {
				t.Fatalf("%s\nerror code = %q, want %q (err: %v)", tc.reason, code, tc.wantCode, err)
			}
			if err != nil {
				if tc.auth.SSHKeyPassphrase != "" && strings.Contains(err.Error(), tc.auth.SSHKeyPassphrase) {
					t.Errorf("error reveals the passphrase: %v", err)
				}
				return
			}
			if diff := cmp.Diff(tc.want, summarize(m)); diff != "" {
				t.Errorf("%s\nauth (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   string
	}{
		"https token as user": {
			reason: "https://TOKEN@host is a common way to embed a token",
			in:     "https://ghp_abcdef@github.com/o/r.git", want: "https://github.com/o/r.git",
		},
		"https user and password": {
			reason: "both halves go", in: "https://u:p@host/r.git", want: "https://host/r.git",
		},
		"https with port and query": {
			reason: "the rest of the URL survives",
			in:     "https://u:p@host:8443/r.git?x=1", want: "https://host:8443/r.git?x=1",
		},
		"ssh keeps user, drops password": {
			reason: "the SSH login is not secret and selects the account",
			in:     "ssh://git:pw@host/r.git", want: "ssh://git@host/r.git",
		},
		"scp-like untouched": {
			reason: "git@host:path has no password field",
			in:     "git@github.com:o/r.git", want: "git@github.com:o/r.git",
		},
		"scp-like with password": {
			reason: "finding #12: user:pass@host:path was never redacted",
			in:     "git:hunter22@github.com:o/r.git", want: "git@github.com:o/r.git",
		},
		"scp-like password with @": {
			reason: "the host is what follows the last '@' before host:",
			in:     "git:p@ss@github.com:o/r.git", want: "git@github.com:o/r.git",
		},
		"scp-like path with @": {
			reason: "an '@' in the path does not move the host",
			in:     "git:pw@github.com:o/r@v1.git", want: "git@github.com:o/r@v1.git",
		},
		"https user only": {
			reason: "https://TOKEN@host: a lone username is a token",
			in:     "https://ghp_x@host/r.git", want: "https://host/r.git",
		},
		"https password with slash": {
			reason: "url.Parse reads user:12/x@host as host user, port 12; the password must still go",
			in:     "https://user:12/x@host/r.git", want: "https://host/r.git",
		},
		"https password with hash": {
			reason: "a '#' ends the authority for url.Parse; the rest is still a password",
			in:     "https://tok#en@host/r.git", want: "https://host/r.git",
		},
		"https password with question mark": {
			reason: "as for '#'",
			in:     "https://user:p?w@host/r.git", want: "https://host/r.git",
		},
		"https empty user": {
			reason: "https://:token@host",
			in:     "https://:tok@host/r.git", want: "https://host/r.git",
		},
		"ssh empty user": {
			reason: "no dangling @ for a password-only SSH URL",
			in:     "ssh://:pw@host/r.git", want: "ssh://host/r.git",
		},
		"upper-case scheme": {
			reason: "schemes are case-insensitive",
			in:     "HTTPS://u:p@host/r.git", want: "https://host/r.git",
		},
		"no userinfo, @ in path": {
			reason: "an honest URL is left alone",
			in:     "https://host/o/r@v1.git", want: "https://host/o/r@v1.git",
		},
		"path untouched": {
			reason: "paths have no userinfo", in: "/srv/git/r.git", want: "/srv/git/r.git",
		},
		"unparseable with userinfo": {
			reason: "a URL net/url rejects still loses what precedes the @",
			in:     "https://u:p@ho st/%zz", want: "https://ho st/%zz",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := RedactURL(tc.in); got != tc.want {
				t.Errorf("%s\nRedactURL(%q) = %q, want %q", tc.reason, tc.in, got, tc.want)
			}
		})
	}
}

// FuzzRedactURL checks that no password survives redaction, whatever the
// user typed as a source.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"https://u:p@host/r.git", "ssh://git:pw@host/r", "git@host:o/r.git",
		"https://u:p@ho st/%zz", "file:///x", "http://a@b@c/d", "https://[::1]:80/x",
		"git:pw@host:o/r.git", "https://user:12/x@host/r",
	} {
		f.Add(s, "hunter22")
	}
	f.Fuzz(func(t *testing.T, raw, pass string) {
		out := RedactURL(raw)
		if u, err := url.Parse(out); err == nil && u.User != nil && strings.Contains(raw, "://") {
			if _, has := u.User.Password(); has {
				t.Errorf("RedactURL(%q) = %q keeps a password", raw, out)
			}
			if u.Scheme != "ssh" {
				t.Errorf("RedactURL(%q) = %q keeps userinfo", raw, out)
			}
		}
		// Built URLs with a known password: it must never survive.
		if len(pass) < 4 || strings.ContainsAny(pass, "@/\\ \t\n\r") || !isPrintable(pass) {
			return
		}
		for _, in := range []string{
			"https://user:" + pass + "@git.example/o/r.git",
			"ssh://git:" + pass + "@git.example:22/o/r.git",
			"git:" + pass + "@git.example:o/r.git",
			"http://" + pass + "@git.example/o/r.git",
		} {
			if strings.Count(in, pass) != 1 {
				continue // the password is also part of the rest
			}
			if got := RedactURL(in); strings.Contains(got, pass) {
				t.Errorf("RedactURL(%q) = %q shows the password", in, got)
			}
			if strings.ContainsAny(pass, "\"'<>`") {
				continue // RedactText's token separators; a URL must percent-encode them
			}
			if got := RedactText("cloning " + in + ": failed"); strings.Contains(got, pass) {
				t.Errorf("RedactText shows the password: %q", got)
			}
		}
	})
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func TestRedactText(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   string
	}{
		"startup line": {
			reason: "serve logs the repo it watches",
			in:     `msg="watching config repo" repo=https://x-access-token:ghp_abc@github.com/acme/cfg.git branch=main`,
			want:   `msg="watching config repo" repo=https://github.com/acme/cfg.git branch=main`,
		},
		"quoted in an error": {
			reason: "errors quote sources with %q",
			in:     `load config repo "https://u:pw@host/r.git": not found`,
			want:   `load config repo "https://host/r.git": not found`,
		},
		"scp-like": {
			reason: "finding #12",
			in:     "clone git:pw@host:o/r.git failed",
			want:   "clone git@host:o/r.git failed",
		},
		"ssh keeps user": {
			reason: "the login is not secret",
			in:     "ssh://git:pw@host/r ok",
			want:   "ssh://git@host/r ok",
		},
		"two URLs in one token": {
			reason: "a URL in another's query is redacted on its own",
			in:     "https://host/a?next=https://u:pw@other/b",
			want:   "https://host/a?next=https://other/b",
		},
		"JSON": {
			reason: "API output",
			in:     `{"repo":"https://u:pw@host/r.git","n":1}`,
			want:   `{"repo":"https://host/r.git","n":1}`,
		},
		"parenthesised": {
			reason: "trailing punctuation does not hide the URL",
			in:     "(see https://u:pw@host)",
			want:   "(see https://host)",
		},
		"no credentials": {
			reason: "text without userinfo is unchanged",
			in:     "mail ops@example.com about https://host/r@v1 and git@host:o/r",
			want:   "mail ops@example.com about https://host/r@v1 and git@host:o/r",
		},
		"scheme-like password": {
			reason: "a \"://\" inside the userinfo does not start a second URL",
			in:     "0 https://x-access-token:///0@github.com/o/r.git 0",
			want:   "0 https://github.com/o/r.git 0",
		},
		"scp-like with an empty authority": {
			reason: "user:///pw@host:path drops everything before the '@'",
			in:     "deploy:///0@git.example:o/r.git",
			want:   "deploy://git.example:o/r.git",
		},
		"scp-like with a host": {
			reason: "user://pw@host:path also reads as a URL with a host; the password goes",
			in:     "deploy://0/@git.example:o/r.git",
			want:   "deploy://git.example:o/r.git",
		},
		"file URL": {
			reason: "an '@' in a path that cannot be a userinfo stays",
			in:     "file:///srv/repo@v1",
			want:   "file:///srv/repo@v1",
		},
		"whitespace kept": {
			reason: "only URLs change",
			in:     "a\tb\n  https://u:p@h/x\n",
			want:   "a\tb\n  https://h/x\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := RedactText(tc.in); got != tc.want {
				t.Errorf("%s\nRedactText(%q)\n got %q\nwant %q", tc.reason, tc.in, got, tc.want)
			}
		})
	}
}

// FuzzRedactText checks that RedactText never panics, and that a password
// in a URL or scp-like address set in arbitrary text never survives.
func FuzzRedactText(f *testing.F) {
	f.Add("error: ", "hunter22", " (retrying)")
	f.Add(`{"a":"`, "p@ss:w/rd", `"}`)
	f.Add("", "tok", "")
	f.Fuzz(func(t *testing.T, before, pass, after string) {
		_ = RedactText(before + pass + after)
		if len(pass) < 4 || !isPrintable(pass) || strings.ContainsAny(pass, "\"'<>` ") {
			return
		}
		for _, u := range []string{"https://x-access-token:" + pass + "@github.com/o/r.git", "deploy:" + pass + "@git.example:o/r.git"} {
			// The URL stands between separators, so it is redacted on its
			// own: the text around it can neither hide nor (by being
			// redacted itself, "0:@00" -> "0@00") fake the password.
			in := before + " " + u + " " + after
			want := " " + RedactText(u) + " "
			if strings.Contains(want, pass) {
				t.Errorf("RedactText(%q) = %q shows the password", u, want)
			}
			if got := RedactText(in); !strings.Contains(got, want) {
				t.Errorf("RedactText(%q) = %q, lacks the URL redacted on its own, %q", in, got, want)
			}
		}
	})
}
