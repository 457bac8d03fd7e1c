package gitops

import (
	"bytes"
	"encoding/pem"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// smartHTTP serves the repositories under root over Git's smart HTTP
// protocol (fetch only), using go-git's own server side, and demands basic
// auth as user:pass, as GitHub does for a private repository. Empty user
// and pass serve anyone, as for a public repository.
func smartHTTP(tb testing.TB, root, user, pass string) http.Handler {
	srv := server.NewServer(server.NewFilesystemLoader(osfs.New(root)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); (user != "" || pass != "") && (!ok || u != user || p != pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		repo, ok := strings.CutSuffix(r.URL.Path, "/info/refs")
		if !ok {
			repo, ok = strings.CutSuffix(r.URL.Path, "/git-upload-pack")
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		sess, err := srv.NewUploadPackSession(&transport.Endpoint{Protocol: "file", Path: repo}, nil)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer sess.Close()
		if r.Method == http.MethodGet {
			ar, err := sess.AdvertisedReferencesContext(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			ar.Prefix = [][]byte{[]byte("# service=git-upload-pack"), pktline.Flush}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			if err := ar.Encode(w); err != nil {
				tb.Errorf("encode refs: %v", err)
			}
			return
		}
		req := packp.NewUploadPackRequest()
		if err := req.UploadRequest.Decode(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// UploadHaves has no decoder: read "have <sha>" lines up to "done".
		sc := pktline.NewScanner(r.Body)
		for sc.Scan() {
			line := strings.TrimSpace(string(sc.Bytes()))
			if h, ok := strings.CutPrefix(line, "have "); ok {
				req.Haves = append(req.Haves, plumbing.NewHash(h))
			}
			if line == "done" {
				break
			}
		}
		resp, err := sess.UploadPack(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		if err := resp.Encode(w); err != nil {
			tb.Errorf("encode pack: %v", err)
		}
	})
}

func TestLoadHTTPS(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	f := newRemoteFixture(t)
	srv := httptest.NewTLSServer(smartHTTP(t, filepath.Dir(f.bare), DefaultTokenUsername, token))
	t.Cleanup(srv.Close)
	caBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	repoURL := srv.URL + "/remote.git"
	withCreds := strings.Replace(repoURL, "https://", "https://"+DefaultTokenUsername+":"+token+"@", 1)

	cases := map[string]struct {
		reason   string
		source   string
		auth     AuthOptions
		env      map[string]string
		wantCode string
	}{
		"token from environment": {
			reason: "CI passes the token as MERIDIAN_GIT_TOKEN",
			source: repoURL,
			env:    map[string]string{DefaultTokenEnv: token},
		},
		"token in options": {
			reason: "the planner may pass a token it got elsewhere",
			source: repoURL,
			auth:   AuthOptions{Token: token},
		},
		"credentials in URL": {
			reason: "https://user:token@host works, and the Source shows neither",
			source: withCreds,
		},
		"no token": {
			reason:   "a private repository without credentials is unauthorized, with a hint",
			source:   repoURL,
			wantCode: meridian.EUNAUTHORIZED,
		},
		"wrong token": {
			reason:   "a rejected token is unauthorized and not echoed",
			source:   repoURL,
			auth:     AuthOptions{Token: "wrong-" + token},
			wantCode: meridian.EUNAUTHORIZED,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			opts := testOptions(t, &log)
			opts.CABundle = caBundle
			opts.Auth = tc.auth
			opts.Auth.Getenv = func(k string) string { return tc.env[k] }

			got, err := Load(t.Context(), tc.source, "", opts)

			if code := errorCode(err); code != tc.wantCode {
				t.Fatalf("%s\nerror code = %q, want %q (err: %v)", tc.reason, code, tc.wantCode, err)
			}
			if err != nil {
				t.Logf("error: %v", err)
				assertNoSecret(t, "error", err.Error(), token)
			} else {
				want := &Snapshot{Source: repoURL, Ref: "main", Commit: f.c2}
				if diff := cmp.Diff(want, got, cmp.FilterPath(isFSField, cmp.Ignore())); diff != "" {
					t.Errorf("%s\nsnapshot (-want +got):\n%s", tc.reason, diff)
				}
				if rev := readFS(got.FS, "meridian.yaml"); rev != "rev: 2\n" {
					t.Errorf("meridian.yaml = %q", rev)
				}
			}
			t.Logf("log:\n%s", log.String())
			assertNoSecret(t, "log", log.String(), token)
			assertCacheHasNoSecret(t, opts.CacheDir, token)
		})
	}
}

func assertNoSecret(tb testing.TB, what, text, secret string) {
	tb.Helper()
	if strings.Contains(text, secret) {
		tb.Errorf("%s reveals the token:\n%s", what, text)
	}
}

// assertCacheHasNoSecret checks every path and file in the cache.
func assertCacheHasNoSecret(tb testing.TB, dir, secret string) {
	tb.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		assertNoSecret(tb, "cache path", p, secret)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			assertNoSecret(tb, "cache file "+p, string(b), secret)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
}
