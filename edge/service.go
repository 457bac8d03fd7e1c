package edge

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Source is the watched branch as the control loop knows it.
type Source interface {
	// Head returns the branch head's commit and its plan's ID (empty
	// until the first plan).
	Head() (commit, planID string)
	// Plan returns a saved plan.
	Plan(ctx context.Context, id string) (*meridian.Plan, error)
	// Config returns the config at a commit.
	Config(ctx context.Context, commit string) (*meridian.Config, error)
}

// Store is what the service keeps (store.EdgeSites).
type Store interface {
	store.EdgeSites
}

// Options tunes a Service. Zero values mean the defaults.
type Options struct {
	// RepoID is the config repo's ID, on the events.
	RepoID string
	// Library is the built-in policy library the org policies compile
	// with (policies.Library); it goes into every bundle.
	Library map[string]string
	// StaleAfter: a site that has not reported for longer is stale
	// (default 3m: agents report at least once per long poll, 30 s).
	// BehindAfter: a site that has not activated the head this long after
	// it was built is behind (default 1m).
	StaleAfter, BehindAfter time.Duration
	// MaxWait caps a long poll's Prefer: wait (default 60s).
	MaxWait time.Duration
	// Notify is called with the newest event ID after events are
	// appended (the event feed's wake-up). Must not block.
	Notify func(lastID int64)
	Logger *slog.Logger
	Now    func() time.Time
}

// Service serves the sites' bundles and keeps their status. It is safe
// for concurrent use.
type Service struct {
	src  Source
	st   Store
	key  *Key
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	head    Head
	cfg     *meridian.Config
	plan    *meridian.Plan
	flows   []meridian.Flow
	bundles map[string]*Bundle
	// changed is closed, and replaced, when the head changes: the long
	// polls wait on it.
	changed chan struct{}

	builds    singleflight.Group
	refreshMu sync.Mutex // one head change at a time
	siteMu    sync.Mutex // site records are read, assessed and written by one writer at a time
	wake      chan struct{}
	closeOnce sync.Once
	closed    chan struct{}
}

// NewService returns a service building bundles from src, signed with key.
func NewService(src Source, st Store, key *Key, opts Options) *Service {
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 3 * time.Minute
	}
	if opts.BehindAfter <= 0 {
		opts.BehindAfter = time.Minute
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 60 * time.Second
	}
	if opts.Notify == nil {
		opts.Notify = func(int64) {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{src: src, st: st, key: key, opts: opts, log: opts.Logger, bundles: map[string]*Bundle{},
		changed: make(chan struct{}), wake: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Key is the signing key; sites get its public half.
func (s *Service) Key() *Key { return s.key }

// MaxWait is the longest long poll the service holds.
func (s *Service) MaxWait() time.Duration { return s.opts.MaxWait }

// Wake tells the service that the branch may have a new plan. It does not
// block: Run picks the new head up at once.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close ends every long poll at once (answered as unchanged), for a server
// shutting down. Bundles are still served to polls without a wait.
func (s *Service) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

// Run picks up new heads when woken (and once at start, and every tick),
// so that every replica serves the head's bundles. It returns when ctx
// ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.tick())
	defer t.Stop()
	s.refreshLogged(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			s.refreshLogged(ctx)
		case <-t.C:
			// A replica that does not lead learns of new plans without a
			// wake-up, and a failed build is retried: the head is checked
			// on every tick too (a comparison, unless it changed).
			s.refreshLogged(ctx)
		}
	}
}

// tick is how often Run checks the head and RunAssessor sweeps: a quarter
// of StaleAfter, at most 15 s.
func (s *Service) tick() time.Duration {
	return min(max(s.opts.StaleAfter/4, 100*time.Millisecond), 15*time.Second)
}

// RunAssessor re-assesses every site every tick and at each new head, so
// that a site that goes quiet becomes stale and one left on an old
// revision becomes behind, by the clock alone. It is the leader's work
// (`meridian serve` runs it while it leads): one replica sweeps, and the
// sites' events are appended once. A report is still assessed by the
// replica that takes it; SaveEdgeSite's check on the record read keeps a
// change that two replicas see at once to one event. It returns when ctx
// ends.
func (s *Service) RunAssessor(ctx context.Context) {
	t := time.NewTicker(s.tick())
	defer t.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "assess edge sites", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}

func (s *Service) refreshLogged(ctx context.Context) {
	if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "build edge bundles", "err", err)
	}
}

// Head returns the head the bundles are built from (zero before the
// first plan).
func (s *Service) Head() Head {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head
}

// Refresh builds the bundles of the branch's planned head, when it is new,
// for every registered site not retired, then publishes them at once: the
// long polls waiting for a change are answered with them.
func (s *Service) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	commit, planID := s.src.Head()
	if planID == "" || planID == s.Head().PlanID {
		return nil
	}
	plan, err := s.src.Plan(ctx, planID)
	if err != nil {
		return fmt.Errorf("edge bundles: plan %s: %w", planID, err)
	}
	cfg, err := s.src.Config(ctx, commit)
	if err != nil {
		return fmt.Errorf("edge bundles: config at %s: %w", shorten(commit), err)
	}
	head := Head{Revision: Revision(commit, planID), Commit: commit, PlanID: planID, Since: s.opts.Now().UTC()}
	sites, err := s.st.ListEdgeSites(ctx)
	if err != nil {
		return fmt.Errorf("edge bundles: %w", err)
	}
	sites = slices.DeleteFunc(sites, store.EdgeSite.Retired)
	flows := meridian.ResolveFlows(cfg.Targets, cfg.Workloads, plan.Placements)
	built := make([]*Bundle, len(sites))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, site := range sites {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			b, err := s.build(site.Site, head, cfg, plan, flows)
			built[i] = b
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	next := make(map[string]*Bundle, len(built))
	for _, b := range built {
		next[b.Site] = b
	}
	s.mu.Lock()
	s.head, s.cfg, s.plan, s.flows, s.bundles = head, cfg, plan, flows, next
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.log.InfoContext(ctx, "edge bundles built", "revision", head.Revision, "sites", len(next))
	return nil
}

func (s *Service) build(site string, head Head, cfg *meridian.Config, plan *meridian.Plan, flows []meridian.Flow) (*Bundle, error) {
	policies := maps.Clone(s.opts.Library)
	if policies == nil {
		policies = map[string]string{}
	}
	maps.Copy(policies, cfg.Policies)
	return Build(NewSiteData(site, head, cfg, plan, flows), policies, s.key, s.opts.Now())
}

// current returns site's bundle at the head (built now when the site
// registered after the head was built) and the channel closed at the next
// head change. Without a head yet, the bundle is nil.
func (s *Service) current(site string) (*Bundle, <-chan struct{}, error) {
	s.mu.Lock()
	head, cfg, plan, flows, b, changed := s.head, s.cfg, s.plan, s.flows, s.bundles[site], s.changed
	s.mu.Unlock()
	if b != nil || head.PlanID == "" {
		return b, changed, nil
	}
	v, err, _ := s.builds.Do(site+"\x00"+head.PlanID, func() (any, error) { return s.build(site, head, cfg, plan, flows) })
	if err != nil {
		return nil, changed, err
	}
	b = v.(*Bundle)
	s.mu.Lock()
	if s.head.PlanID == head.PlanID {
		s.bundles[site] = b
	}
	s.mu.Unlock()
	return b, changed, nil
}

// Bundle returns site's bundle and whether it differs from every ETag the
// agent holds (etags, from If-None-Match). When it does not and wait is
// positive (a long poll, capped at MaxWait), it waits for the next head
// and answers with its bundle as soon as it is built, or unchanged when
// the wait ends. Before the branch was first planned it is EUNAVAILABLE.
func (s *Service) Bundle(ctx context.Context, site string, etags []string, wait time.Duration) (*Bundle, bool, error) {
	wait = min(wait, s.opts.MaxWait)
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		b, changed, err := s.current(site)
		if err != nil {
			return nil, false, err
		}
		if b != nil && !slices.Contains(etags, b.ETag) {
			return b, true, nil
		}
		if timeout == nil {
			if b == nil {
				return nil, false, meridian.Errorf(meridian.EUNAVAILABLE, "no bundle yet: the branch has not been planned")
			}
			return b, false, nil
		}
		select {
		case <-changed:
			continue
		case <-ctx.Done():
			return b, false, ctx.Err()
		case <-s.closed:
		case <-timeout:
		}
		if b == nil {
			return nil, false, meridian.Errorf(meridian.EUNAVAILABLE, "no bundle yet: the branch has not been planned")
		}
		return b, false, nil
	}
}

// Report records site's status report (OPA's status API) and announces a
// change of the site's health in the event feed. A retired site's report
// (one sent as its last credential was revoked) is EFORBIDDEN.
func (s *Service) Report(ctx context.Context, site string, body []byte) error {
	r, err := ParseReport(body)
	if err != nil {
		return meridian.Errorf(meridian.EINVALID, "%v", err)
	}
	s.siteMu.Lock()
	defer s.siteMu.Unlock()
	rec, err := s.st.GetEdgeSite(ctx, site)
	if err != nil {
		return err
	}
	now := s.opts.Now().UTC()
	return s.save(ctx, rec, func(rec *store.EdgeSite) {
		rec.LastSeen, rec.AgentID = now, r.AgentID
		switch {
		case !r.NoBundleStatus:
			rec.ActiveRevision, rec.ErrorCode, rec.ErrorMessage = r.Revision, r.Code, r.Message
		case !r.Ready:
			// A starting agent without a bundle: it runs none of the
			// site's policies until its first download, and has not
			// failed one yet.
			rec.ActiveRevision, rec.ErrorCode, rec.ErrorMessage = "", "", ""
		}
		// Ready without a status: the agent restarted with the bundle it
		// persisted, the one it last reported.
		if !r.Activated.IsZero() {
			rec.Activated = r.Activated
		}
	})
}

// maxSaveAttempts bounds how often save re-reads a site that other
// replicas keep changing under it.
const maxSaveAttempts = 5

// save applies report (nil for none) to rec, assesses it against the head
// and writes it with its events when anything changed (always with a
// report). When another replica wrote the site since rec was read, it
// reads it again and starts over, so that a change of health that both
// saw is announced once, by whichever wrote first. A report for a site
// retired meanwhile is EFORBIDDEN. siteMu held.
func (s *Service) save(ctx context.Context, rec store.EdgeSite, report func(*store.EdgeSite)) error {
	for attempt := 1; ; attempt++ {
		if report != nil && rec.Retired() {
			return meridian.Errorf(meridian.EFORBIDDEN, "edge site %s is retired: enrol it again with meridian edge agent-config", rec.Site)
		}
		next := rec
		if report != nil {
			report(&next)
		}
		next, evs := assess(next, s.Head(), s.opts.Now().UTC(), s.opts.StaleAfter, s.opts.BehindAfter)
		if report == nil && len(evs) == 0 && next == rec {
			return nil
		}
		for i := range evs {
			evs[i].RepoID = s.opts.RepoID
		}
		out, err := s.st.SaveEdgeSite(ctx, rec, next, evs)
		if meridian.ErrorCode(err) == meridian.ECONFLICT && attempt < maxSaveAttempts {
			if rec, err = s.st.GetEdgeSite(ctx, rec.Site); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if len(out) > 0 {
			s.opts.Notify(out[len(out)-1].ID)
		}
		return nil
	}
}

// Sweep re-assesses every site: sites go stale, or behind, by the clock
// alone.
func (s *Service) Sweep(ctx context.Context) error {
	s.siteMu.Lock()
	defer s.siteMu.Unlock()
	sites, err := s.st.ListEdgeSites(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, rec := range sites {
		if err := s.save(ctx, rec, nil); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("assess %d of %d edge sites: %w", len(errs), len(sites), errs[0])
	}
	return nil
}

// Authenticate returns the site whose credential secret is, or the reason
// it is refused (for the audit log). A secret that cannot be a credential
// is refused without reading the store; err is only the store's failure.
func (s *Service) Authenticate(ctx context.Context, secret string) (site, reason string, err error) {
	if !credentialPattern.MatchString(secret) {
		return "", "malformed site credential", nil
	}
	c, err := s.st.EdgeCredentialByHash(ctx, HashCredential(secret))
	switch {
	case meridian.ErrorCode(err) == meridian.ENOTFOUND:
		return "", "unknown site credential", nil
	case err != nil:
		return "", "", err
	case c.Revoked():
		return "", "revoked site credential " + c.ID, nil
	}
	return c.Site, "", nil
}
