package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/leader"
	"github.com/meridianhq/meridian/terraform/workflow"
	"github.com/meridianhq/meridian/web"
)

// election is what `meridian serve` runs its leader's work under:
// leader.Elector on a PostgreSQL store, leader.Solo on SQLite.
type election interface {
	Run(ctx context.Context, lead func(ctx context.Context)) error
	leader.StatusSource
	web.Leadership
}

// replicas is how `meridian serve` runs beside the other replicas on its
// store (docs/server.md, "Running several replicas"): the election, the
// queue of webhook deliveries, and where modules that declare no backend
// keep their Terraform state. On SQLite the server is alone and always
// leads.
type replicas struct {
	election election
	// shared is set on a PostgreSQL store, which several replicas may
	// share.
	shared bool
	// queue holds webhook deliveries for the leader (shared only).
	queue *leader.Queue
	// backend and tfEnviron keep the state of modules without a backend in
	// Terraform's pg backend on the store's database (shared only).
	backend   *workflow.Backend
	tfEnviron []string
	// checkConfig refuses configs whose state the replicas would not
	// share (shared, without --shared-state-dir).
	checkConfig func(*meridian.Config) error
	// peers are the leader URLs this replica forwards to (shared only).
	peers *web.PeerURLs
	dbs   []*sql.DB
}

// setupReplicas prepares the election and what replicas share, for the
// store at loc (a PostgreSQL URL when isURL). recon is the reconciler the
// leader publishes its state from, once it is made.
func (m *Main) setupReplicas(ctx context.Context, loc string, isURL bool, repoID string, recon func() *controlplane.Reconciler) (*replicas, error) {
	c := &m.Config
	if !isURL {
		return &replicas{election: leader.Solo{}}, nil
	}
	addr := c.AdvertiseURL
	if addr == "" {
		addr = defaultAdvertiseURL(c.Addr)
		if _, err := web.DerivePeerURLs(addr); err != nil {
			m.Logger.Warn("this host's name makes no URL the other replicas accept; set --advertise-url", "err", err)
			addr = ""
		}
	}
	peers, err := replicaPeers(c.PeerURLs, addr)
	if err != nil {
		return nil, err
	}
	r := &replicas{shared: true, peers: peers}
	ttl := c.LeaderLease
	if ttl <= 0 {
		ttl = leader.DefaultTTL
	}
	// The election has a pool of its own, so that its renewals never
	// queue behind the API's queries; so has the delivery queue.
	for range 2 {
		db, err := leader.Open(ctx, loc)
		if err != nil {
			r.close()
			return nil, err
		}
		r.dbs = append(r.dbs, db)
	}
	r.election = leader.New(r.dbs[0], leader.Options{Name: "serve:" + repoID + ":" + c.Branch, Addr: addr, TTL: ttl, Logger: m.Logger,
		Publish: func() []byte {
			b, _ := json.Marshal(recon().State())
			return b
		},
		Observe: func(b []byte) {
			var s controlplane.BranchState
			if json.Unmarshal(b, &s) == nil {
				recon().FollowState(s)
			}
		}})
	r.queue = leader.NewQueue(r.dbs[1])
	r.backend, r.tfEnviron = pgTerraform(loc)
	if !c.SharedStateDir {
		r.backend.RefuseLocal = "its state would stay in this replica's state dir, apart from the other replicas sharing the store: " +
			"remove the backend block, or run every replica with --shared-state-dir"
		r.checkConfig = controlplane.CheckSharedDeploy
	}
	if addr == "" {
		m.Logger.Warn("no --advertise-url: while this replica leads, the others answer plans and applies with 503 instead of forwarding them here")
	}
	m.Logger.Info("plans and applies are forwarded only to a leader at one of these URLs", "peer_urls", peers.Patterns())
	return r, nil
}

// replicaPeers is the allow-list of the leader URLs a replica forwards
// to: --peer-urls, else derived from the replica's advertise URL (which
// the other replicas would refuse if it were malformed, so it is refused
// here at start-up).
func replicaPeers(list []string, advertise string) (*web.PeerURLs, error) {
	derived, err := web.DerivePeerURLs(advertise)
	if err != nil {
		return nil, fmt.Errorf("the other replicas would refuse to forward here: %w", err)
	}
	if len(list) == 0 {
		return derived, nil
	}
	peers, err := web.ParsePeerURLs(list)
	if err != nil {
		return nil, fmt.Errorf("--peer-urls: %w", err)
	}
	return peers, nil
}

// checkStartup refuses to start a replica whose branch head's config would
// make the replicas' state diverge. A branch that cannot be read yet is
// checked at each apply instead.
func (r *replicas) checkStartup(ctx context.Context, loader controlplane.Loader, ref string) error {
	if r.checkConfig == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	snap, err := loader.Load(ctx, ref)
	if err != nil {
		return nil
	}
	if err := controlplane.CheckShared(snap); err != nil {
		return fmt.Errorf("refusing to serve with a PostgreSQL store: the config at %s would leave state apart in each replica:\n%w", ref, err)
	}
	return nil
}

// webQueue is the delivery queue for web.Options: nil unless shared (a
// nil *leader.Queue in the interface would not read as nil).
func (r *replicas) webQueue() web.DeliveryQueue {
	if r.queue == nil {
		return nil
	}
	return r.queue
}

func (r *replicas) close() {
	for _, db := range r.dbs {
		db.Close()
	}
	r.dbs = nil
}

// pgStateLockWait is the least time Terraform waits for a state lock of
// the pg backend: the lock it takes to write a target's first state is
// one for the whole database (an advisory lock), which targets applied at
// once must take in turn.
const pgStateLockWait = time.Minute

// pgTerraform is where modules that declare no backend keep their
// Terraform state when the store is the PostgreSQL database at loc:
// Terraform's pg backend on that database, a schema per config repo and
// target, so that every replica and every CLI run on the store shares
// it. It returns the backend and Terraform's environment: the connection
// string (with its password) reaches Terraform through PG_CONN_STR only,
// never a file, a plan artefact, a command line or a log line.
func pgTerraform(loc string) (*workflow.Backend, []string) {
	b := &workflow.Backend{Type: "pg", Config: func(repoID, target string) map[string]string {
		return map[string]string{"schema_name": stateSchema(repoID, target)}
	}}
	return b, append(os.Environ(), "PG_CONN_STR="+terraformConnString(loc))
}

// terraformConnString is the store's URL for Terraform's pg backend
// (lib/pq), without the settings only pgx knows, which the server would
// refuse as unknown parameters.
func terraformConnString(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") || k == "statement_cache_capacity" || k == "description_cache_capacity" || k == "default_query_exec_mode" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// stateSchema is the PostgreSQL schema holding one target's Terraform
// state: one per config repo and target, within PostgreSQL's 63-byte
// names (a longer target name is cut and suffixed with its hash).
func stateSchema(repoID, target string) string {
	name := "meridian_tf_" + repoID + "_" + target
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(target))
	return name[:63-9] + "_" + hex.EncodeToString(sum[:4])
}

// defaultAdvertiseURL is where the other replicas reach this one when
// --advertise-url is not given: the listen address when it names a host,
// else this host's name; none for a port picked at random.
func defaultAdvertiseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return ""
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// lead does the leader's work until ctx ends (this replica stops leading,
// or shuts down): the reconcile loop, the alert dispatcher, the webhook
// deliveries any replica queued, the edge sites' health sweep, and the
// event feed's pruning.
func (m *Main) lead(ctx context.Context, feed *web.EventFeed, log *slog.Logger) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.recon.Run(ctx); err != nil {
			log.Error("reconcile loop stopped", "err", err)
		}
	})
	// A send in flight is bounded by its timeout; what it did not finish
	// is redone from the store by the next leader.
	wg.Go(func() { _ = m.alerts.Run(ctx) })
	wg.Go(func() { _ = m.server.RunDeliveries(ctx) })
	if m.prices != nil {
		wg.Go(func() { m.prices.Run(ctx) })
	}
	if m.audit != nil {
		wg.Go(func() { m.audit.Run(ctx) })
	}
	// Every replica serves bundles and takes reports; the leader alone
	// sweeps the sites' health, so that each change is announced once.
	wg.Go(func() { m.edge.RunAssessor(ctx) })
	if feed != nil {
		wg.Go(func() { feed.RunPruner(ctx, time.Hour) })
	}
	wg.Wait()
}
