package argocd_test

// Argo CD cannot run on these machines (see shared/TOOLCHAIN.md), so these
// tests do not talk to a real Argo CD: an httptest server replays the real
// recorded Application JSON from Argo CD's own test data
// (testdata/application.synced-healthy.diff-cache.json) and, for OutOfSync,
// that Application with a status block from Argo CD's documentation.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/argocd"
)

const token = "s3cr3t-token"

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncedApp is the recorded Application, verbatim.
func syncedApp(t testing.TB) []byte { return readFile(t, "application.synced-healthy.diff-cache.json") }

// outOfSyncApp is the recorded Application with its status replaced by a
// documented OutOfSync status block.
func outOfSyncApp(t testing.TB, snippet string) []byte {
	t.Helper()
	var app map[string]any
	if err := json.Unmarshal(syncedApp(t), &app); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Status map[string]any `yaml:"status"`
	}
	if err := yaml.Unmarshal(readFile(t, snippet), &st); err != nil {
		t.Fatal(err)
	}
	app["status"] = st.Status
	b, err := json.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeArgoCD serves the recorded Applications by name and checks the bearer
// token like Argo CD does.
type fakeArgoCD struct {
	t    *testing.T
	apps map[string][]byte
	// requests records "METHOD path?query" of every request.
	requests []string
	syncBody []byte
}

func (f *fakeArgoCD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid session: token signature is invalid","code":16,"message":"invalid session: token signature is invalid"}`)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/applications":
		var items []json.RawMessage
		for _, name := range []string{"velero-test", "my-app"} {
			items = append(items, f.apps[name])
		}
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": "722811357"}, "items": items})
		w.Write(b)
	case strings.HasPrefix(r.URL.Path, "/api/v1/applications/"):
		rest := strings.TrimPrefix(r.URL.Path, "/api/v1/applications/")
		name, action, _ := strings.Cut(rest, "/")
		app, ok := f.apps[name]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"applications.argoproj.io \"`+name+`\" not found","code":5,"message":"applications.argoproj.io \"`+name+`\" not found"}`)
			return
		}
		switch {
		case r.Method == http.MethodGet && action == "":
			w.Write(app)
		case r.Method == http.MethodPost && action == "sync":
			f.syncBody, _ = io.ReadAll(r.Body)
			w.Write(app)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func newServer(t *testing.T) (*fakeArgoCD, *argocd.Client) {
	t.Helper()
	f := &fakeArgoCD{t: t, apps: map[string][]byte{
		"velero-test": syncedApp(t),
		"my-app":      outOfSyncApp(t, "status-snippet.outofsync.health-persisted.yaml"),
		"my-app-tree": outOfSyncApp(t, "status-snippet.outofsync.health-apptree.yaml"),
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := argocd.New(srv.URL, token, argocd.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// status is what a caller reads from an Application.
type status struct {
	Name      string
	Ready     bool
	Summary   string
	Unhealthy []string
	Labels    map[string]string
	Dest      argocd.ApplicationDestination
}

func statusOf(a *argocd.Application) status {
	s := status{Name: a.Metadata.Name, Ready: a.Ready(), Summary: a.Summary(), Labels: a.Metadata.Labels, Dest: a.Spec.Destination}
	for _, r := range a.Unhealthy() {
		s.Unhealthy = append(s.Unhealthy, r.Ref()+" "+r.Status)
	}
	return s
}

func TestGet(t *testing.T) {
	cases := map[string]struct {
		reason string
		name   string
		want   status
	}{
		"synced and healthy": {
			reason: "the recorded live Application is Synced/Healthy: a move may go on",
			name:   "velero-test",
			want: status{
				Name: "velero-test", Ready: true, Summary: "Synced/Healthy",
				Labels: map[string]string{"cloud_provider": "gcp", "cluster_name": "gke-alpha-01-europe-west1", "foo": "bar",
					"preview": "true", "project": "sre", "service_class": "alpha", "stack": "gke-v2"},
				Dest: argocd.ApplicationDestination{Name: "gke-alpha-01-europe-west1", Namespace: "test-lla"},
			},
		},
		"out of sync, persisted health": {
			reason: "OutOfSync is not ready even when healthy, and the drifted Deployment is named",
			name:   "my-app",
			want: status{
				Name: "velero-test", Summary: "OutOfSync/Healthy", Unhealthy: []string{"apps/Deployment foo/my-app OutOfSync"},
				Labels: map[string]string{"cloud_provider": "gcp", "cluster_name": "gke-alpha-01-europe-west1", "foo": "bar",
					"preview": "true", "project": "sre", "service_class": "alpha", "stack": "gke-v2"},
				Dest: argocd.ApplicationDestination{Name: "gke-alpha-01-europe-west1", Namespace: "test-lla"},
			},
		},
		"out of sync, app-tree health": {
			reason: "Argo CD 3.0 drops per-resource health; the sync status alone still marks the resource",
			name:   "my-app-tree",
			want: status{
				Name: "velero-test", Summary: "OutOfSync/Healthy", Unhealthy: []string{"apps/Deployment foo/my-app OutOfSync"},
				Labels: map[string]string{"cloud_provider": "gcp", "cluster_name": "gke-alpha-01-europe-west1", "foo": "bar",
					"preview": "true", "project": "sre", "service_class": "alpha", "stack": "gke-v2"},
				Dest: argocd.ApplicationDestination{Name: "gke-alpha-01-europe-west1", Namespace: "test-lla"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, c := newServer(t)
			app, err := c.Get(context.Background(), tc.name)
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want, statusOf(app)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestListBySelector(t *testing.T) {
	f, c := newServer(t)
	apps, err := c.List(context.Background(), "meridian.io/workload")
	if err != nil {
		t.Fatal(err)
	}
	var got []status
	for i := range apps {
		got = append(got, statusOf(&apps[i]))
	}
	if len(got) != 2 || !got[0].Ready || got[1].Ready {
		t.Errorf("want the synced then the out-of-sync Application, got %+v", got)
	}
	if want := []string{"GET /api/v1/applications?selector=meridian.io%2Fworkload"}; !cmp.Equal(want, f.requests) {
		t.Errorf("requests (-want +got):\n%s", cmp.Diff(want, f.requests))
	}
}

func TestSync(t *testing.T) {
	f, c := newServer(t)
	if _, err := c.Sync(context.Background(), "velero-test", argocd.SyncRequest{Prune: true}); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(f.syncBody, &body); err != nil {
		t.Fatalf("sync body is not JSON: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"name": "velero-test", "prune": true}, body); diff != "" {
		t.Errorf("sync request body (-want +got):\n%s", diff)
	}
	if want := []string{"POST /api/v1/applications/velero-test/sync"}; !cmp.Equal(want, f.requests) {
		t.Errorf("requests (-want +got):\n%s", cmp.Diff(want, f.requests))
	}
}

func TestErrors(t *testing.T) {
	cases := map[string]struct {
		reason   string
		token    string
		app      string
		wantCode string
		notFound bool
	}{
		"missing app": {
			reason: "a 404 is ENOTFOUND, so a waiter can tell 'not created yet' from a failure",
			token:  token, app: "nope", wantCode: meridian.ENOTFOUND, notFound: true,
		},
		"bad token": {
			reason: "a rejected token is EUNAUTHORIZED and the token never appears in the message",
			token:  "wrong", app: "velero-test", wantCode: meridian.EUNAUTHORIZED,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f, _ := newServer(t)
			srv := httptest.NewServer(f)
			defer srv.Close()
			c, err := argocd.New(srv.URL+"/", tc.token)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Get(context.Background(), tc.app)
			if err == nil {
				t.Fatalf("%s: no error", tc.reason)
			}
			if got := meridian.ErrorCode(err); got != tc.wantCode {
				t.Errorf("%s: code %q, want %q (%v)", tc.reason, got, tc.wantCode, err)
			}
			if argocd.IsNotFound(err) != tc.notFound {
				t.Errorf("%s: IsNotFound = %v", tc.reason, !tc.notFound)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("%s: error leaks the token: %v", tc.reason, err)
			}
		})
	}
}

func TestContextCanceled(t *testing.T) {
	_, c := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Get(ctx, "velero-test")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled through the wrapper, got %v", err)
	}
}

func TestNewRejectsBadServer(t *testing.T) {
	for _, s := range []string{"", "argocd.example.com", "ftp://argocd", "https://"} {
		if _, err := argocd.New(s, ""); meridian.ErrorCode(err) != meridian.EINVALID {
			t.Errorf("New(%q): want EINVALID, got %v", s, err)
		}
	}
}
