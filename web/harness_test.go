package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

const (
	testSecret = "It's a Secret to Everybody"
	baseSHA    = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e" // the recorded payloads' base
	headSHA    = "ec26c3e57ca3a959ca5aad62de7213c562f8c821" // the recorded payloads' head
)

// Short names for the fixtures every test here builds.
var (
	workload, config, snapshot = controlplanetest.Workload, controlplanetest.Config, controlplanetest.Snapshot
)

// harness is a whole server on in-memory collaborators.
type harness struct {
	*controlplanetest.Harness
	t       *testing.T
	srv     *web.Server
	metrics *web.Metrics
	http    *httptest.Server
	tokens  map[web.Role]string
}

type harnessOptions struct {
	server web.Options
	recon  controlplane.ReconcilerOptions
	// noRun leaves the reconcile loop stopped.
	noRun bool
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	// One registry for the loop's metrics and the server's, as
	// cmd/meridian wires them.
	h := &harness{t: t, metrics: web.NewMetrics(), tokens: map[web.Role]string{}}
	h.Harness = controlplanetest.NewHarness(t, controlplanetest.HarnessOptions{Recon: o.recon, NoRun: o.noRun, Registry: h.metrics.Registry})
	so := o.server
	if so.WebhookSecret == nil {
		so.WebhookSecret = []byte(testSecret)
	}
	so.Logger, so.Metrics = h.Log, h.metrics
	if so.Now == nil {
		// One clock for the loop and the server, as cmd/meridian has.
		so.Now = o.recon.Now
	}
	h.srv = web.NewServer(h.St, h.Recon, so)
	h.http = httptest.NewServer(h.srv.Handler())
	t.Cleanup(h.http.Close)
	for _, r := range web.Roles {
		_, secret, err := web.IssueToken(context.Background(), h.St, web.TokenRequest{Name: "t-" + string(r), Role: r, CreatedBy: "test"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		h.tokens[r] = secret
	}
	h.Start()
	return h
}

// do sends a request with the token of role ("" for none) and decodes a
// JSON answer into out (when not nil).
func (h *harness) do(method, path string, role web.Role, body any, out any) int {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.http.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+h.tokens[role])
	}
	resp, err := h.http.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// webhook sends a signed delivery (sig "" signs with testSecret; "-" sends
// none).
func (h *harness) webhook(event, delivery string, body []byte, sig string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set(github.HeaderEvent, event)
	req.Header.Set(github.HeaderDelivery, delivery)
	req.Header.Set("Content-Type", "application/json")
	switch sig {
	case "":
		req.Header.Set(github.HeaderSignature, github.Sign([]byte(testSecret), body))
	case "-":
	default:
		req.Header.Set(github.HeaderSignature, sig)
	}
	resp, err := h.http.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func (h *harness) waitDelivery(id string) store.Delivery {
	h.t.Helper()
	var d store.Delivery
	controlplanetest.WaitFor(h.t, "delivery "+id, func() bool {
		var err error
		d, err = h.St.GetDelivery(context.Background(), id)
		return err == nil && d.Status != store.DeliveryReceived
	})
	return d
}
