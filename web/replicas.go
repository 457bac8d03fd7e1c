package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
)

// Several replicas of the server may share one store (docs/server.md,
// "Running several replicas"). Every replica serves the API, the
// dashboard and webhooks; one of them, the leader, does what must happen
// once: it works through the webhook deliveries any replica queued, and
// it plans, applies and tests alert sinks for the requests the others
// forward to it.

// Leadership says whether this replica leads the replicas sharing its
// store, and where the leader is (package leader's Elector; nil: a server
// alone on its store, which always leads).
type Leadership interface {
	Leading() bool
	// LeaderURL is the leader's base URL while another replica leads, ""
	// when this replica leads or no leader is known.
	LeaderURL() string
}

// DeliveryQueue keeps verified webhook deliveries until the leader has
// processed them (package leader's Queue): a delivery received by any
// replica outlives that replica and the leader working on it.
type DeliveryQueue interface {
	// Enqueue adds d unless a delivery with its ID is queued already.
	Enqueue(ctx context.Context, d store.QueuedDelivery) error
	// Queued returns up to limit queued deliveries of a repo, oldest
	// first.
	Queued(ctx context.Context, repoID string, limit int) ([]store.QueuedDelivery, error)
	// Attempt counts one more attempt at processing a delivery and
	// returns the count.
	Attempt(ctx context.Context, id string) (int, error)
	// Remove takes a processed delivery off the queue.
	Remove(ctx context.Context, id string) error
}

// Queue processing limits.
const (
	// queuePoll is how often the leader looks for deliveries queued by
	// the other replicas (its own wake it at once).
	queuePoll = 500 * time.Millisecond
	// queueBatch is how many queued deliveries one look takes.
	queueBatch = 100
	// queueWorkers is how many deliveries are processed at once; pull
	// requests wait for the reconciler's review slots besides.
	queueWorkers = 16
	// maxDeliveryAttempts gives up a delivery whose processing every
	// leader that tried it died in.
	maxDeliveryAttempts = 5
)

// HeaderForwarded marks a request forwarded by a replica to its leader,
// so that it is forwarded once at most.
const HeaderForwarded = "X-Meridian-Forwarded-By"

// leading reports whether this replica does the leader's work now.
func (s *Server) leading() bool {
	return s.opts.Leader == nil || s.opts.Leader.Leading()
}

// queueDelivery queues a verified delivery whose processing is
// background work, for the leader, and answers it: 202 once queued and
// claimed, 200 duplicate when another claim won. It reports false, having
// done nothing, when the delivery needs no background work: the caller
// answers it at once.
//
// The delivery is queued before it is claimed, so that a crash between the
// two leaves a queued row, which the leader claims itself; a queued row
// whose delivery was processed before is dropped by the leader.
func (s *Server) queueDelivery(w http.ResponseWriter, r *http.Request, d store.Delivery, body []byte) bool {
	if _, job, err := s.route(d.Event, body); err != nil || job == nil {
		return false
	}
	ctx := r.Context()
	label := eventLabel(d.Event)
	if err := s.opts.Queue.Enqueue(ctx, store.QueuedDelivery{ID: d.ID, RepoID: d.RepoID, Event: d.Event, Payload: body, QueuedAt: d.ReceivedAt}); err != nil {
		// The database is out of reach (its restart, a partition): the
		// sender may deliver again, here or to another replica.
		logger(ctx, s.log).ErrorContext(ctx, "queue a webhook delivery", "delivery", d.ID, "err", err)
		s.metrics.webhooks.WithLabelValues(label, "failed").Inc()
		s.writeError(w, r, meridian.Errorf(meridian.EUNAVAILABLE, "the delivery could not be queued; deliver it again"))
		return true
	}
	claimed, err := s.st.ClaimDelivery(ctx, d)
	switch {
	case err != nil:
		// Queued: the leader claims and processes it anyway.
		logger(ctx, s.log).WarnContext(ctx, "claim a queued delivery; the leader will", "delivery", d.ID, "err", err)
	case !claimed:
		s.metrics.webhooks.WithLabelValues(label, "duplicate").Inc()
		writeJSON(w, http.StatusOK, webhookReply{Delivery: d.ID, Status: "duplicate", Reason: "this delivery was received before"})
		return true
	}
	s.wakeQueue()
	writeJSON(w, http.StatusAccepted, webhookReply{Delivery: d.ID, Status: "accepted", Reason: "queued for the leader"})
	return true
}

func (s *Server) wakeQueue() {
	select {
	case s.queueWake <- struct{}{}:
	default:
	}
}

// RunDeliveries processes the queued webhook deliveries of the server's
// repo, oldest first, until ctx ends: the leader's work while it leads
// (Options.Queue; without a queue it returns when ctx ends). A delivery
// whose processing is cut short by ctx stays queued, for the next leader.
func (s *Server) RunDeliveries(ctx context.Context) error {
	if s.opts.Queue == nil {
		<-ctx.Done()
		return nil
	}
	var (
		mu       sync.Mutex
		inflight = map[string]bool{}
		wg       sync.WaitGroup
		slots    = make(chan struct{}, queueWorkers)
	)
	defer wg.Wait()
	tick := time.NewTicker(queuePoll)
	defer tick.Stop()
	for {
		var queued []store.QueuedDelivery
		var err error
		// Deliveries ask the reconcile loop for work: they wait until it
		// runs, as it starts with the same term.
		if s.recon.Running() {
			queued, err = s.opts.Queue.Queued(ctx, s.recon.RepoID(), queueBatch)
		}
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "read the webhook delivery queue", "err", err)
		}
		for _, d := range queued {
			mu.Lock()
			busy := inflight[d.ID]
			inflight[d.ID] = true
			mu.Unlock()
			if busy {
				continue
			}
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(inflight, d.ID)
					mu.Unlock()
				}()
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-slots }()
				s.processQueued(ctx, d)
			})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.queueWake:
		case <-tick.C:
		}
	}
}

// processQueued processes one queued delivery, unless the store says it
// was processed already, records the outcome and takes it off the queue.
func (s *Server) processQueued(ctx context.Context, q store.QueuedDelivery) {
	log := s.log.With("delivery", q.ID, "event", q.Event)
	d, err := s.st.GetDelivery(ctx, q.ID)
	if meridian.ErrorCode(err) == meridian.ENOTFOUND || err == nil && d.Status == store.DeliveryFailed {
		// Queued, but its replica stopped before it claimed it, or a
		// redelivery of a failed delivery: claimed here.
		sum := sha256.Sum256(q.Payload)
		d = store.Delivery{ID: q.ID, RepoID: q.RepoID, Event: q.Event, PayloadSHA256: hex.EncodeToString(sum[:]), ReceivedAt: q.QueuedAt,
			Status: store.DeliveryReceived}
		if _, err = s.st.ClaimDelivery(ctx, d); err == nil {
			d, err = s.st.GetDelivery(ctx, q.ID)
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			log.ErrorContext(ctx, "read a queued delivery's record", "err", err)
		}
		return
	}
	if d.Status != store.DeliveryReceived {
		// Processed before (a redelivery queued again, or a leader that
		// stopped between recording and dequeueing).
		s.dequeue(ctx, q.ID)
		return
	}
	n, err := s.opts.Queue.Attempt(ctx, q.ID)
	if err != nil {
		if ctx.Err() == nil {
			log.ErrorContext(ctx, "count an attempt at a queued delivery", "err", err)
		}
		return
	}
	if n > maxDeliveryAttempts {
		s.finishDelivery(ctx, q.ID, q.Event, store.DeliveryFailed, "",
			fmt.Sprintf("given up: the replicas processing it stopped %d times; GitHub's Redeliver tries again", n-1))
		s.dequeue(ctx, q.ID)
		return
	}
	reply, job, err := s.route(q.Event, q.Payload)
	runID, status, msg := "", store.DeliveryProcessed, reply.Reason
	switch {
	case err != nil:
		status, msg = store.DeliveryFailed, err.Error()
	case job == nil && reply.Status == "ignored":
		status = store.DeliveryIgnored
	case job != nil:
		runID, err = job(ctx)
		if ctx.Err() != nil || errors.Is(err, controlplane.ErrNotLeader) || errors.Is(err, controlplane.ErrShutdown) {
			return // this replica stops leading: the next leader redoes it
		}
		if err != nil {
			log.ErrorContext(ctx, "webhook processing failed", "err", err)
			status, msg = store.DeliveryFailed, err.Error()
		}
	}
	s.finishDelivery(ctx, q.ID, q.Event, status, runID, msg)
	s.dequeue(ctx, q.ID)
}

func (s *Server) dequeue(ctx context.Context, id string) {
	if err := s.opts.Queue.Remove(context.WithoutCancel(ctx), id); err != nil {
		s.log.ErrorContext(ctx, "remove a processed delivery from the queue; it is skipped next time", "delivery", id, "err", err)
	}
}

// toLeader sends a request that only the leader may serve (a plan or an
// apply, an alert sink test) to the leader when this replica does not
// lead: through a reverse proxy to the leader's URL, with the client's
// credentials, which the leader checks again. The URL comes from the
// lease, outside input: it is forwarded to only when Options.Peers
// allows it. A request forwarded once is not forwarded again; with no
// leader known, or one not allowed, the answer is 503.
func (s *Server) toLeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.leading() {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		target := s.opts.Leader.LeaderURL()
		if target == "" || r.Header.Get(HeaderForwarded) != "" {
			s.writeError(w, r, meridian.Errorf(meridian.EUNAVAILABLE,
				"this replica is not the leader and knows no leader to forward to; ask again once a leader is elected (GET /readyz says which replica leads)"))
			return
		}
		u, err := s.checkLeaderURL(ctx, target)
		if err != nil {
			s.writeError(w, r, meridian.Errorf(meridian.EUNAVAILABLE,
				"this replica is not the leader, and the URL the leader advertises is not one it may forward credentials to (--peer-urls): nothing was forwarded; "+
					"send the request to the leader, or fix --peer-urls (GET /readyz says whether forwarding is refused)"))
			return
		}
		// The leader's answer may come later than this server's write
		// timeout (an apply); the request's own context still bounds it.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		s.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, leaderURLKey{}, u)))
	})
}

// checkLeaderURL checks the leader's URL against Options.Peers and logs a
// refused URL once.
func (s *Server) checkLeaderURL(ctx context.Context, target string) (*url.URL, error) {
	u, err := s.opts.Peers.Check(ctx, target)
	if err != nil {
		s.refused.warn(ctx, logger(ctx, s.log), target, err)
	}
	return u, err
}

// forwarding is /readyz's word on forwarding to the leader: empty while
// this replica leads.
func (s *Server) forwarding(ctx context.Context) string {
	if s.leading() {
		return ""
	}
	target := s.opts.Leader.LeaderURL()
	if target == "" {
		return "no leader known: plans and applies answer 503"
	}
	if _, err := s.checkLeaderURL(ctx, target); err != nil {
		return "refused: the leader's advertised URL is not allowed by --peer-urls (see the log); plans and applies answer 503"
	}
	return "ok"
}

// maxRefusedLogged bounds the refused URLs remembered: a lease rewritten
// in a loop must not grow memory, nor the log.
const maxRefusedLogged = 64

// refusedPeers logs each refused leader URL once.
type refusedPeers struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (rp *refusedPeers) warn(ctx context.Context, log *slog.Logger, raw string, err error) {
	rp.mu.Lock()
	first := !rp.seen[raw] && len(rp.seen) < maxRefusedLogged
	if first {
		if rp.seen == nil {
			rp.seen = map[string]bool{}
		}
		rp.seen[raw] = true
	}
	rp.mu.Unlock()
	if first {
		log.WarnContext(ctx, "not forwarding to the leader: its advertised URL is refused", "leader_url", redactPeerURL(raw), "why", err.Error())
	}
}

// redactPeerURL is a refused URL fit for the log: whatever precedes an @
// (userinfo) and follows a ? or # (a query may hold a token) is cut, and
// the rest is bounded.
func redactPeerURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i] + "[redacted]"
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = "[redacted]@" + s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.QuoteToASCII(s)
}

// leaderURLKey carries the leader's URL to the proxy's Rewrite.
type leaderURLKey struct{}

// newLeaderProxy is the reverse proxy of toLeader. Requests keep their
// Host, and X-Forwarded-For names the client (believed by the leader when
// the replicas are among its --trusted-proxy ranges). Rewrite drops the
// hop-by-hop headers and the client's X-Forwarded-*. Its transport never
// goes through $HTTP_PROXY: the credentials go to the leader only.
func (s *Server) newLeaderProxy() *httputil.ReverseProxy {
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2: true, MaxIdleConns: 16, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
		ExpectContinueTimeout: time.Second}
	return &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(leaderURLKey{}).(*url.URL))
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(HeaderForwarded, "replica")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger(r.Context(), s.log).WarnContext(r.Context(), "forward to the leader", "err", err)
			s.writeError(w, r, meridian.Errorf(meridian.EUNAVAILABLE, "the leader did not answer; ask again"))
		},
	}
}
