package web_test

import (
	"bytes"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/web"
)

// FuzzWebhookGitHub throws arbitrary deliveries at the webhook endpoint of
// a server with a secret: headers, bodies, signatures (well-formed or not,
// and sometimes right), declared lengths. It must never panic, never
// answer garbage with a 5xx, and never let a client's value become a
// metric label.
func FuzzWebhookGitHub(f *testing.F) {
	pr, err := os.ReadFile("../github/testdata/webhooks/pull_request.opened.payload.json")
	if err != nil {
		f.Fatal(err)
	}
	push, err := os.ReadFile("../github/testdata/webhooks/push.with-new-branch.payload.json")
	if err != nil {
		f.Fatal(err)
	}
	// event, delivery, signature, body, sign (compute the right signature),
	// declared length (-1 unknown, -2 the body's own)
	f.Add("pull_request", "d-1", "", pr, true, int64(-2))
	f.Add("push", "d-2", "", push, true, int64(-2))
	f.Add("ping", "d-3", "", []byte(`{"zen":"z","hook_id":1}`), true, int64(-2))
	f.Add("ping", "d-4", "sha256=00", []byte(`{}`), false, int64(-2))
	f.Add("issues", "d-5", "", []byte(`not json`), true, int64(-2))
	f.Add("pull_request", "d-6", "", []byte(`{"action":"opened","pull_request":null}`), true, int64(-2))
	f.Add("push", "", "sha1=abc", []byte(`{}`), false, int64(-1))
	f.Add("\x00\xff", "d-7", "sha256="+string(bytes.Repeat([]byte("g"), 64)), []byte{0xff}, false, int64(30<<20))
	f.Add("push", "d-8", "", []byte(`{"ref":"refs/heads/master","repository":{"full_name":"elsewhere/none"}}`), true, int64(-2))
	metrics := web.NewMetrics()
	srv := newBareServer(f, controlplanetest.NewStore(nil), web.Options{AuthFailureBurst: 1 << 30, Metrics: metrics})
	h := srv.Handler()
	events := []string{"ping", "push", "pull_request", "other"}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "other"}
	f.Fuzz(func(t *testing.T, event, delivery, sig string, body []byte, sign bool, length int64) {
		r := httptest.NewRequest("POST", "/webhooks/github", bytes.NewReader(body))
		switch {
		case length == -2:
			r.ContentLength = int64(len(body))
		case length < 0:
			r.ContentLength = -1
		case length < int64(len(body)):
			// A length shorter than the body is the transport's to
			// enforce; keep the request self-consistent.
			r.ContentLength = int64(len(body))
		default:
			r.ContentLength = length
		}
		if sign {
			sig = github.Sign([]byte(testSecret), body)
		}
		for k, v := range map[string]string{github.HeaderEvent: event, github.HeaderDelivery: delivery, github.HeaderSignature: sig} {
			if validHeaderValue(v) {
				r.Header.Set(k, v)
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%d for event %q delivery %q sig %q: %s", w.Code, event, delivery, sig, w.Body)
		}
		if !sign && w.Code < 300 {
			t.Fatalf("an unsigned delivery got %d", w.Code)
		}
		fams, err := metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, fam := range fams {
			for _, m := range fam.GetMetric() {
				for _, l := range m.GetLabel() {
					switch {
					case fam.GetName() == "meridian_webhook_deliveries_total" && l.GetName() == "event" && !slices.Contains(events, l.GetValue()),
						l.GetName() == "method" && !slices.Contains(methods, l.GetValue()):
						t.Fatalf("%s has label %s=%q", fam.GetName(), l.GetName(), l.GetValue())
					}
				}
			}
		}
	})
}

// validHeaderValue reports whether v can travel in an HTTP header at all
// (net/http refuses to send the others), so the fuzzer spends its time on
// requests a server can receive.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
