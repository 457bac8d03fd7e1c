package web_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/leader/leadertest"
	"github.com/meridianhq/meridian/web"
)

// mustPeers parses a --peer-urls list or fails the test.
func mustPeers(t *testing.T, list ...string) *web.PeerURLs {
	t.Helper()
	p, err := web.ParsePeerURLs(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestForwardOnlyToAllowedPeers: the leader's URL comes from the lease,
// which anyone who can write the database controls. A follower whose lease
// names a leader outside --peer-urls, or an allowed one dressed up
// (userinfo, a path, another scheme), answers 503 and sends that leader
// nothing, the client's token least of all; it logs each refused URL once,
// without its userinfo, and /readyz says forwarding is refused. An
// allowed leader, named exactly or through a dns+ entry resolved for
// real, gets the request with its credentials.
func TestForwardOnlyToAllowedPeers(t *testing.T) {
	allowed, other := leadertest.NewPeer(t), leadertest.NewPeer(t)
	hostport := strings.TrimPrefix(allowed.URL, "http://")
	ld := &leadership{}
	h := newHarness(t, harnessOptions{server: web.Options{Leader: ld, Peers: mustPeers(t, allowed.URL)}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))

	var ready struct {
		Status, Forwarding string
	}
	for _, leaderURL := range []string{other.URL, other.URL, "http://user:hunter2@" + hostport, allowed.URL + "/api/../admin",
		"https://" + hostport, "http://" + hostport + "?token=hunter2", "javascript:alert(1)//" + hostport} {
		ld.url.Store(leaderURL)
		var out struct {
			Error struct{ Code, Message string }
		}
		code := h.do("POST", "/api/v1/plans", web.RoleOperator, map[string]string{"ref": "main"}, &out)
		if code != http.StatusServiceUnavailable || !strings.Contains(out.Error.Message, "--peer-urls") {
			t.Errorf("lease naming %q: %d %+v; want 503 naming --peer-urls", leaderURL, code, out)
		}
		if code := h.do("GET", "/readyz", "", nil, &ready); code != http.StatusOK || !strings.HasPrefix(ready.Forwarding, "refused") {
			t.Errorf("/readyz with lease naming %q: %d %+v; want ready, forwarding refused", leaderURL, code, ready)
		}
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the disallowed leader received %d requests: %+v", n, other.Requests())
	}
	if n := len(allowed.Requests()); n != 0 {
		t.Errorf("the allowed leader received %d requests through disguised URLs: %+v", n, allowed.Requests())
	}
	logs := h.Logs.String()
	if n := strings.Count(logs, "its advertised URL is refused"); n != 6 {
		t.Errorf("%d refusal warnings, want one per refused URL (6):\n%s", n, logs)
	}
	if strings.Contains(logs, "hunter2") || strings.Contains(logs, h.tokens[web.RoleOperator]) {
		t.Errorf("the log holds a credential:\n%s", logs)
	}

	ld.url.Store(allowed.URL)
	var out map[string]any
	if code := h.do("POST", "/api/v1/plans", web.RoleOperator, map[string]string{"ref": "main"}, &out); code != http.StatusCreated || out["id"] != "from-the-leader" {
		t.Fatalf("plan with an allowed leader: %d %v, want the leader's 201", code, out)
	}
	if got := allowed.Requests(); len(got) != 1 || got[0].Authorization != "Bearer "+h.tokens[web.RoleOperator] {
		t.Errorf("the allowed leader got %+v, want one request with the client's token", got)
	}
	if code := h.do("GET", "/readyz", "", nil, &ready); code != http.StatusOK || ready.Forwarding != "ok" {
		t.Errorf("/readyz with an allowed leader: %d %+v; want forwarding ok", code, ready)
	}

	// A dns+ entry (a headless service's name) allows the addresses the
	// name resolves to: localhost is 127.0.0.1, the other peer's port is
	// not the entry's.
	_, port, _ := net.SplitHostPort(hostport)
	ld2 := &leadership{}
	h2 := newHarness(t, harnessOptions{server: web.Options{Leader: ld2, Peers: mustPeers(t, "dns+http://localhost:"+port)}})
	h2.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	ld2.url.Store(other.URL)
	if code := h2.do("POST", "/api/v1/plans", web.RoleOperator, map[string]string{}, nil); code != http.StatusServiceUnavailable {
		t.Errorf("dns+ entry, leader on another port: %d, want 503", code)
	}
	ld2.url.Store(allowed.URL)
	if code := h2.do("POST", "/api/v1/plans", web.RoleOperator, map[string]string{}, nil); code != http.StatusCreated {
		t.Errorf("dns+ entry, leader at an address of its name: %d, want the leader's 201", code)
	}
	if len(other.Requests()) != 0 || len(allowed.Requests()) != 2 {
		t.Errorf("after the dns+ requests: the other peer got %d, the allowed one %d; want 0 and 2", len(other.Requests()), len(allowed.Requests()))
	}
}
