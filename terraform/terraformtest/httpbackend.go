package terraformtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// HTTPBackend is a remote state backend speaking Terraform's http backend
// protocol (GET and POST the state, LOCK and UNLOCK its lock), served in
// process: a backend whose lock, unlike the local backend's, outlives the
// Terraform process that took it, as S3 and DynamoDB's does.
type HTTPBackend struct {
	// URL is the server's base URL.
	URL string

	mu      sync.Mutex
	state   []byte
	lock    []byte
	unlocks int
}

// NewHTTPBackend starts a backend, stopped when tb ends. lock, when not
// empty, is the lock info (JSON) of a holder that is gone.
func NewHTTPBackend(tb testing.TB, lock string) *HTTPBackend {
	b := &HTTPBackend{}
	if lock != "" {
		b.lock = []byte(lock)
	}
	srv := httptest.NewServer(b)
	tb.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// BackendConfig is the -backend-config of a module with backend "http" {}.
func (b *HTTPBackend) BackendConfig() map[string]string {
	return map[string]string{"address": b.URL + "/state", "lock_address": b.URL + "/lock", "unlock_address": b.URL + "/lock"}
}

// Locked reports whether the lock is held and how many UNLOCK requests
// came.
func (b *HTTPBackend) Locked() (held bool, unlocks int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lock != nil, b.unlocks
}

// State is the stored state document (nil before the first write).
func (b *HTTPBackend) State() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.state...)
}

// ServeHTTP implements the protocol: a LOCK of a held lock is answered 423
// with the holder's lock info, as Terraform expects.
func (b *HTTPBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	switch r.Method {
	case http.MethodGet:
		if b.state == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Write(b.state)
	case http.MethodPost:
		b.state = body
	case "LOCK":
		if b.lock != nil {
			w.WriteHeader(http.StatusLocked)
			w.Write(b.lock)
			return
		}
		b.lock = body
	case "UNLOCK":
		b.lock, b.unlocks = nil, b.unlocks+1
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}
