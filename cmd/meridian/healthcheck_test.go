package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck runs the image's HEALTHCHECK command against the real
// server and against the answers it must take as unhealthy.
func TestHealthcheck(t *testing.T) {
	m, _ := bootServer(t, exampleRepo(t), t.TempDir(), func(c *ServeConfig) { c.NoTerraform = true })
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "draining", http.StatusServiceUnavailable)
	}))
	t.Cleanup(unavailable.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	cases := map[string]struct {
		url      string
		wantCode int
		want     string
	}{
		"the server is alive":       {"http://" + m.Addr() + "/healthz", exitOK, "ok"},
		"an unknown path":           {"http://" + m.Addr() + "/nope", exitError, "404"},
		"a server answering 503":    {unavailable.URL, exitError, "503"},
		"nothing listening":         {"http://" + closed + "/healthz", exitError, "refused"},
		"a URL that does not parse": {"http://[::1", exitError, "--url"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, "healthcheck", "--url", tc.url, "--timeout", "5s")
			if r.code != tc.wantCode || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", r.code, tc.wantCode, tc.want, r.stdout, r.stderr)
			}
		})
	}
}
