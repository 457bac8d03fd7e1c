package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry"
)

// maxWebhookBody is GitHub's own cap on payloads (25 MB).
const maxWebhookBody = 25 << 20

// prActions are the pull_request actions that change what a report says.
var prActions = []string{"opened", "synchronize", "reopened"}

// webhookReply is the body of every 2xx webhook answer.
type webhookReply struct {
	Delivery string `json:"delivery"`
	// Status is pong, accepted (processing in the background), duplicate
	// or ignored.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// maxWebhookReads bounds how many webhook bodies are read at once, and so
// the memory that signed-looking deliveries can hold (each up to
// maxWebhookBody) before their signature is checked.
const maxWebhookReads = 4

// handleWebhookGitHub receives GitHub deliveries. Each must carry a valid
// X-Hub-Signature-256 for the configured secret (401 otherwise; without a
// secret the endpoint is off: 404). Everything that needs no payload is
// checked before the payload is read, so refusing a delivery costs next to
// nothing: the signature header's format, the delivery ID, and a
// Content-Length within GitHub's cap (411 without one, 413 above it).
// Each delivery ID is processed at most once: a redelivery of a processed
// one is acknowledged and skipped. Work runs in the background, so GitHub
// gets its answer within its 10 seconds.
//
// The event name is a client's header until the signature is checked: it
// reaches metrics only as eventLabel, and logs and audit rows only clipped.
func (s *Server) handleWebhookGitHub(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get(github.HeaderEvent)
	label := eventLabel(event)
	tracer := telemetry.Tracer(s.opts.TracerProvider, "web")
	ctx, span := tracer.Start(r.Context(), "webhook.github", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("meridian.webhook.event", label)))
	defer span.End()
	r = r.WithContext(ctx)
	if len(s.opts.WebhookSecret) == 0 {
		s.metrics.webhooks.WithLabelValues(label, "disabled").Inc()
		s.writeError(w, r, meridian.Errorf(EDISABLED,
			"the GitHub webhook endpoint is off because no webhook secret is configured: set MERIDIAN_WEBHOOK_SECRET or --webhook-secret-file (unsigned deliveries are never accepted)"))
		return
	}
	ip := middleware.GetClientIP(ctx)
	sig := r.Header.Get(github.HeaderSignature)
	if err := github.CheckSignatureFormat(sig); err != nil {
		s.webhookAuthFailed(w, r, ip, label, err)
		return
	}
	id := r.Header.Get(github.HeaderDelivery)
	if id == "" || len(id) > 100 {
		s.metrics.webhooks.WithLabelValues(label, "invalid").Inc()
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "missing or oversized %s header", github.HeaderDelivery))
		return
	}
	switch {
	case r.ContentLength < 0:
		s.metrics.webhooks.WithLabelValues(label, "invalid").Inc()
		s.writeError(w, r, meridian.Errorf(ELENGTHREQUIRED, "a webhook delivery needs a Content-Length header (GitHub always sends one)"))
		return
	case r.ContentLength > maxWebhookBody:
		s.metrics.webhooks.WithLabelValues(label, "invalid").Inc()
		s.writeError(w, r, meridian.Errorf(ETOOLARGE, "payload of %d bytes is over GitHub's cap of %d", r.ContentLength, maxWebhookBody))
		return
	}
	select {
	case s.webhookReads <- struct{}{}:
	case <-ctx.Done():
		return // the client left while waiting
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	<-s.webhookReads
	if err != nil {
		s.metrics.webhooks.WithLabelValues(label, "invalid").Inc()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.writeError(w, r, meridian.Errorf(ETOOLARGE, "payload over GitHub's cap of %d bytes", maxWebhookBody))
			return
		}
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "read payload: %v", err))
		return
	}
	if err := github.VerifySignature(s.opts.WebhookSecret, body, sig); err != nil {
		s.webhookAuthFailed(w, r, ip, label, err)
		return
	}
	sum := sha256.Sum256(body)
	// The delivery is signed from here on, but GitHub's event names are
	// short: a long one is clipped rather than stored whole.
	event = clip(event)
	d := store.Delivery{ID: id, RepoID: s.recon.RepoID(), Event: event,
		PayloadSHA256: hex.EncodeToString(sum[:]), ReceivedAt: s.now(), Status: store.DeliveryReceived}
	if s.opts.Queue != nil && s.queueDelivery(w, r, d, body) {
		return // queued for the leader (replicas.go)
	}
	claimed, err := s.st.ClaimDelivery(ctx, d)
	if err != nil {
		s.metrics.webhooks.WithLabelValues(label, "failed").Inc()
		s.writeError(w, r, err)
		return
	}
	if !claimed {
		s.metrics.webhooks.WithLabelValues(label, "duplicate").Inc()
		writeJSON(w, http.StatusOK, webhookReply{Delivery: id, Status: "duplicate", Reason: "this delivery was received before"})
		return
	}
	reply, job, err := s.route(event, body)
	if err != nil {
		s.finishDelivery(ctx, id, event, store.DeliveryFailed, "", err.Error())
		s.writeError(w, r, err)
		return
	}
	if job == nil {
		status := store.DeliveryProcessed
		if reply.Status == "ignored" {
			status = store.DeliveryIgnored
		}
		s.finishDelivery(ctx, id, event, status, "", reply.Reason)
		reply.Delivery = id
		writeJSON(w, http.StatusOK, reply)
		return
	}
	span.SetAttributes(attribute.String("meridian.webhook.delivery", id))
	log := logger(ctx, s.log).With("delivery", id, "event", event)
	err = s.recon.Background(func(bctx context.Context) {
		// The work outlives the request: its span is a child of the
		// delivery's, so that one trace runs from webhook to comment.
		bctx, jspan := tracer.Start(trace.ContextWithSpanContext(bctx, span.SpanContext()), "webhook.process",
			trace.WithAttributes(attribute.String("meridian.webhook.event", label), attribute.String("meridian.webhook.delivery", id)))
		runID, err := job(bctx)
		telemetry.End(jspan, err)
		if err != nil {
			log.ErrorContext(bctx, "webhook processing failed", "err", err)
			s.finishDelivery(bctx, id, event, store.DeliveryFailed, runID, err.Error())
			return
		}
		s.finishDelivery(bctx, id, event, store.DeliveryProcessed, runID, "")
	})
	if err != nil {
		s.finishDelivery(ctx, id, event, store.DeliveryFailed, "", err.Error())
		s.writeError(w, r, err)
		return
	}
	reply.Delivery = id
	writeJSON(w, http.StatusAccepted, reply)
}

// job is a delivery's background work; it returns the run it caused.
type job func(ctx context.Context) (runID string, err error)

// route decides what a verified delivery means: an immediate reply, or a
// background job.
func (s *Server) route(event string, body []byte) (webhookReply, job, error) {
	v, err := github.Decode(event, body)
	if err != nil {
		return webhookReply{}, nil, meridian.Errorf(meridian.EINVALID, "%v", err)
	}
	if reply, j, ok := s.routeDestroy(v); ok {
		return reply, j, nil
	}
	switch ev := v.(type) {
	case *github.PingEvent:
		return webhookReply{Status: "pong"}, nil, nil
	case *github.PushEvent:
		if !s.recon.HandlesRepo(ev.Repository.FullName) {
			return ignored("push to another repository: " + ev.Repository.FullName)
		}
		branch, ok := ev.Branch()
		if !ok || branch != s.recon.Branch() {
			return ignored(fmt.Sprintf("push to %s; watching branch %s", ev.Ref, s.recon.Branch()))
		}
		if ev.Deleted {
			return ignored("the branch was deleted")
		}
		return webhookReply{Status: "accepted"}, func(ctx context.Context) (string, error) {
			err := s.recon.Sync(ctx)
			var apply *controlplane.ApplyError
			if errors.As(err, &apply) {
				// Planned; the loop retries the apply by itself, and a
				// redelivery would change nothing.
				return apply.PlanID, nil
			}
			if err != nil {
				return "", err
			}
			return s.recon.State().PlanID, nil
		}, nil
	case *github.PullRequestEvent:
		if !s.recon.HandlesRepo(ev.Repository.FullName) {
			return ignored("pull request in another repository: " + ev.Repository.FullName)
		}
		if !slices.Contains(prActions, ev.Action) {
			return ignored("pull_request action " + ev.Action)
		}
		return webhookReply{Status: "accepted"}, func(ctx context.Context) (string, error) {
			res, err := s.recon.ReviewPR(ctx, ev)
			if err != nil {
				return "", err
			}
			return res.RunID, nil
		}, nil
	case nil:
		return ignored("event " + event + " is not handled")
	}
	return ignored("event " + event + " is not handled")
}

func ignored(why string) (webhookReply, job, error) {
	return webhookReply{Status: "ignored", Reason: why}, nil, nil
}

// webhookAuthFailed answers a delivery whose signature failed: 401, or 429
// while the client is locked out. Only failures count towards the lockout,
// so GitHub's valid deliveries pass even when its address is limited.
func (s *Server) webhookAuthFailed(w http.ResponseWriter, r *http.Request, ip, label string, err error) {
	s.metrics.webhooks.WithLabelValues(label, "unauthorized").Inc()
	detail := fmt.Sprintf("GitHub webhook %s delivery %q: %v", clip(r.Header.Get(github.HeaderEvent)), clip(r.Header.Get(github.HeaderDelivery)), err)
	if wait, limited := s.noteAuthFailure(r, ip, "webhook_signature", detail); limited {
		s.rateLimited(w, r, ip, wait)
		return
	}
	s.writeError(w, r, meridian.Errorf(meridian.EUNAUTHORIZED, "webhook signature: %v", err))
}

func (s *Server) finishDelivery(ctx context.Context, id, event, status, runID, msg string) {
	s.metrics.webhooks.WithLabelValues(eventLabel(event), status).Inc()
	if err := s.st.FinishDelivery(context.WithoutCancel(ctx), id, status, runID, msg); err != nil {
		s.log.ErrorContext(ctx, "record webhook delivery", "delivery", id, "err", err)
	}
}
