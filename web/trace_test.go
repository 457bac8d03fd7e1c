package web_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry/telemetrytest"
	"github.com/meridianhq/meridian/web"
)

// TestWebhookToCommentTrace follows one pull-request delivery from the
// webhook to the comment: one trace, each step the child of the one
// before, although the review runs after the webhook was answered.
func TestWebhookToCommentTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	h := newHarness(t, harnessOptions{server: web.Options{TracerProvider: tp}, recon: controlplane.ReconcilerOptions{TracerProvider: tp}})
	base := config(nil, workload("api", "alice", 2))
	h.Loader.Set("master", snapshot(baseSHA, base))
	h.Loader.Set(baseSHA, snapshot(baseSHA, base))
	h.Loader.Set(headSHA, snapshot(headSHA, config(nil, workload("api", "alice", 3))))
	if code, _ := h.webhook("pull_request", "pr-t1", payload(t, "pull_request.opened.payload.json"), ""); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	if d := h.waitDelivery("pr-t1"); d.Status != store.DeliveryProcessed {
		t.Fatalf("delivery %+v", d)
	}
	controlplanetest.WaitFor(t, "the webhook.process span", func() bool { return telemetrytest.Has(exp.GetSpans(), "webhook.process") })
	spans := exp.GetSpans()
	hook := telemetrytest.Find(t, spans, "webhook.github")
	proc := telemetrytest.Find(t, spans, "webhook.process")
	review := telemetrytest.Find(t, spans, "pr.review")
	comment := telemetrytest.Find(t, spans, "pr.comment")
	chain := []struct{ child, parent tracetest.SpanStub }{{proc, hook}, {review, proc}, {comment, review}}
	for _, c := range chain {
		if c.child.Parent.SpanID() != c.parent.SpanContext.SpanID() || c.child.SpanContext.TraceID() != hook.SpanContext.TraceID() {
			t.Errorf("%s is not a child of %s in the webhook's trace", c.child.Name, c.parent.Name)
		}
	}
	if got := telemetrytest.Attr(hook, "meridian.webhook.delivery"); got != "pr-t1" {
		t.Errorf("webhook span delivery = %q", got)
	}
	if got := telemetrytest.Attr(review, "meridian.pr"); got != "2" {
		t.Errorf("review span pr = %q, want 2", got)
	}
	if got := telemetrytest.Attr(comment, "meridian.comment"); got != "created" {
		t.Errorf("comment span outcome = %q, want created", got)
	}
	for _, s := range []tracetest.SpanStub{hook, proc, review, comment} {
		if s.Status.Code == codes.Error {
			t.Errorf("span %s failed: %s", s.Name, s.Status.Description)
		}
	}
}

// TestPushLinksTheSync checks that the sync a push delivery wakes links to
// the delivery: the sync is a trace of its own, since one sync may answer
// many deliveries.
func TestPushLinksTheSync(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	h := newHarness(t, harnessOptions{server: web.Options{TracerProvider: tp}, recon: controlplane.ReconcilerOptions{Interval: 24 * 3600e9, TracerProvider: tp}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	controlplanetest.WaitFor(t, "the startup plan", func() bool { return h.Recon.State().Commit == "c1" })
	h.Loader.Set("master", snapshot("c2", config(nil, workload("api", "alice", 4))))
	if code, _ := h.webhook("push", "push-t1", payload(t, "push.branch.argo-cd-testdata.json"), ""); code != http.StatusAccepted {
		t.Fatalf("push: %d", code)
	}
	h.waitDelivery("push-t1")
	controlplanetest.WaitFor(t, "the webhook.process span", func() bool { return telemetrytest.Has(exp.GetSpans(), "webhook.process") })
	spans := exp.GetSpans()
	proc := telemetrytest.Find(t, spans, "webhook.process")
	var linked bool
	for _, s := range spans {
		if s.Name != "reconcile" || telemetrytest.Attr(s, "meridian.trigger") != "push" {
			continue
		}
		for _, l := range s.Links {
			linked = linked || l.SpanContext.SpanID() == proc.SpanContext.SpanID()
		}
	}
	if !linked {
		t.Errorf("no reconcile span triggered by the push links to its webhook.process span")
	}
}
