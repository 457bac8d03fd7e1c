package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/argocd"
	"github.com/meridianhq/meridian/gitops/crossplane"
)

// ArgoCD is the part of the Argo CD API a move needs. *argocd.Client
// implements it.
type ArgoCD interface {
	// Get returns an Application with its status; a missing one is an
	// error for which argocd.IsNotFound is true.
	Get(ctx context.Context, name string) (*argocd.Application, error)
	// Sync asks Argo CD to sync an Application now, without waiting.
	Sync(ctx context.Context, name string, req argocd.SyncRequest) (*argocd.Application, error)
}

// Options are Apply's and Preview's collaborators. The zero value works:
// a local deploy repository under the default state dir, no move resume
// across processes (an in-memory store), and an Argo CD client built from
// the argocd settings when a server is configured.
type Options struct {
	// StateDir holds the local deploy repository when deploy.repo is
	// omitted (default DefaultStateDir).
	StateDir string
	// Store keeps moves between applies. Nil is a fresh MemStore, which
	// forgets them when the process ends.
	Store MoveStore
	// ArgoCD answers whether a new placement is Synced and Healthy. Nil
	// means a client for argocd.server with the token from
	// $argocd.token_env, or none when no server is configured.
	ArgoCD ArgoCD
	// Auth supplies credentials for a remote deploy repository.
	Auth gitops.AuthOptions
	// Logger receives progress; nil discards.
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests move it past move_grace.
	Now func() time.Time
	// PollInterval is how often a move asks Argo CD about its new
	// placement (default 5s).
	PollInterval time.Duration
	// Getenv reads the Argo CD token (default os.Getenv).
	Getenv func(string) string
	// Crossplane opens a reader of the cluster a target's
	// crossplane.cluster names (default ConnectCrossplane).
	Crossplane func(ctx context.Context, k meridian.CrossplaneCluster) (crossplane.Reader, error)
}

// Result says what an apply did to the deploy repo.
type Result struct {
	// Repo is the deploy repository without credentials.
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	Path   string `json:"path,omitempty"`
	// Commits are the commits made, in order: none when the repo already
	// held the plan, two when a move completed within this apply.
	Commits []Commit `json:"commits"`
	// Files are the files changed by all commits together.
	Files []meridian.DeployFile `json:"files"`
	// Moves are the moves still in progress after this apply, and the ones
	// it completed.
	Moves []MoveResult `json:"moves"`
	// Findings are warnings for the report: held moves, workloads without
	// a source, blocked workloads kept as they were.
	Findings []meridian.Finding `json:"findings"`
}

// Commit is one commit Apply made.
type Commit struct {
	SHA     string `json:"sha"`
	Message string `json:"message"`
}

// Move outcomes in a MoveResult.
const (
	MoveStarted   = "started"
	MoveWaiting   = "waiting"
	MoveCompleted = "completed"
)

// MoveResult is where one move stands after an apply.
type MoveResult struct {
	Workload string   `json:"workload"`
	From     []string `json:"from"`
	To       []string `json:"to"`
	// Status is MoveStarted, MoveWaiting or MoveCompleted.
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// maxAttempts bounds how often Apply starts over after losing a race with
// another writer of the deploy branch.
const maxAttempts = 3

// Apply renders the plan and commits it to the deploy repository, moving
// workloads make-before-break: a first commit adds new placements and keeps
// old ones; the old ones are removed by a second commit once the new ones
// are Synced and Healthy in Argo CD (waited for up to argocd.health_timeout)
// or, with no Argo CD server, by a later apply after deploy.move_grace.
// A move whose new placement does not become ready keeps the old one and
// yields a finding; the next apply resumes it.
//
// Re-applying an unchanged plan makes no commit. Errors carry meridian
// codes: ECONFLICT when the branch kept moving under Meridian, EUNAUTHORIZED
// for rejected credentials.
func Apply(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan, opts Options) (*Result, error) {
	a, err := newApplier(cfg, opts, true)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		res, err := a.apply(ctx, plan)
		if errors.Is(err, errConflict) && attempt < maxAttempts {
			a.log.WarnContext(ctx, "deploy branch moved during apply; starting over", "attempt", attempt, "err", err)
			continue
		}
		return res, err
	}
}

type applier struct {
	cfg   *meridian.Config
	s     settings
	opts  Options
	repo  *repo
	argo  ArgoCD
	store MoveStore
	scope string
	log   *slog.Logger
	now   func() time.Time
}

// newApplier resolves settings and collaborators. withArgo builds an Argo
// CD client from the settings when none is given; Preview does without.
func newApplier(cfg *meridian.Config, opts Options, withArgo bool) (*applier, error) {
	a := &applier{cfg: cfg, s: resolve(cfg.Settings), opts: opts, store: opts.Store, argo: opts.ArgoCD, log: opts.Logger, now: opts.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.store == nil {
		a.store = &MemStore{}
	}
	if a.opts.PollInterval <= 0 {
		a.opts.PollInterval = 5 * time.Second
	}
	if a.opts.StateDir == "" && a.s.Repo == "" {
		d, err := DefaultStateDir()
		if err != nil {
			return nil, err
		}
		a.opts.StateDir = d
	}
	if a.argo == nil && a.s.Server != "" && withArgo {
		getenv := opts.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		token := getenv(a.s.TokenEnv)
		if token == "" {
			return nil, meridian.Errorf(meridian.EUNAUTHORIZED, "argocd.server is set but $%s is empty: set it to an Argo CD API token", a.s.TokenEnv)
		}
		c, err := argocd.New(a.s.Server, token, argocd.WithLogger(a.log))
		if err != nil {
			return nil, err
		}
		a.argo = c
	}
	r, err := openRepo(a.s, a.opts.StateDir, opts.Auth, a.log)
	if err != nil {
		return nil, err
	}
	a.repo = r
	a.scope = Scope(r.name, a.s.Branch, a.s.Path)
	return a, nil
}

// render reads the deploy branch and computes the first commit's tree.
func (a *applier) render(ctx context.Context, plan *meridian.Plan) (*snapshot, *Rendered, Tree, []Move, error) {
	snap, err := a.repo.read(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	pending, err := a.store.LoadMoves(ctx, a.scope)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("load moves: %w", err)
	}
	rendered, tree, moves, err := a.compose(plan, snap.tree, pending)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return snap, rendered, tree, moves, nil
}

// compose renders the plan and computes the tree a commit on top of
// current holds, with the moves in progress after it (firstStep). The
// network objects follow what that tree runs: when moves keep old
// placements, the plan is rendered again with them running.
func (a *applier) compose(plan *meridian.Plan, current Tree, pending []Move) (*Rendered, Tree, []Move, error) {
	configured, held := map[string]bool{}, map[string]bool{}
	for _, w := range a.cfg.Workloads {
		configured[w.Name] = true
	}
	for _, p := range plan.Placements {
		if p.Blocked {
			held[p.Workload] = true
		}
	}
	var running map[string][]string
	for attempt := 0; ; attempt++ {
		rendered, err := Render(a.cfg, plan, RenderOptions{StateDir: a.opts.StateDir, Current: current, Running: running})
		if err != nil {
			return nil, nil, nil, err
		}
		keepProtected(current, rendered.Tree, plan.ProtectedTargets())
		tree, moves := firstStep(current, rendered.Tree, pending, configured, held, plan.ID, a.now())
		// Moves depend on the placements' own files only, never on the
		// network objects, so the second render keeps the same moves.
		kept := keptByMoves(moves)
		if attempt > 0 || maps.EqualFunc(kept, running, slices.Equal) {
			return rendered, tree, moves, nil
		}
		running = kept
	}
}

// keptByMoves lists the old placements the moves keep, by workload.
func keptByMoves(moves []Move) map[string][]string {
	out := map[string][]string{}
	for _, m := range moves {
		out[m.Workload] = append(out[m.Workload], m.From...)
	}
	return out
}

func (a *applier) apply(ctx context.Context, plan *meridian.Plan) (*Result, error) {
	snap, rendered, tree, moves, err := a.render(ctx, plan)
	if err != nil {
		return nil, err
	}
	res := &Result{Repo: a.repo.name, Branch: a.s.Branch, Path: a.s.Path, Commits: []Commit{}, Moves: []MoveResult{}, Findings: rendered.Findings}
	started := map[string]bool{}
	for _, m := range moves {
		if m.Phase == PhaseAdding {
			started[m.Workload] = true
		}
	}
	// Record the intent before publishing, so that no crash can leave the
	// old placements in the repo with nothing remembering to remove them.
	if err := a.store.SaveMoves(ctx, a.scope, moves); err != nil {
		return nil, fmt.Errorf("save moves: %w", err)
	}
	sha, err := a.repo.commit(ctx, snap, tree, a.message(plan, 1, moves, nil), a.now())
	if err != nil {
		return nil, err
	}
	head := snap.head
	if sha != "" {
		res.Commits = append(res.Commits, Commit{SHA: sha, Message: a.message(plan, 1, moves, nil)})
		if head, err = snap.git.CommitObject(plumbing.NewHash(sha)); err != nil {
			return nil, fmt.Errorf("deploy repo %s: %w", a.repo.name, err)
		}
	}
	for i := range moves {
		if moves[i].Phase == PhaseAdding {
			moves[i].Phase, moves[i].Since, moves[i].AddCommit = PhaseWaiting, a.now(), sha
		}
	}
	if err := a.store.SaveMoves(ctx, a.scope, moves); err != nil {
		return nil, fmt.Errorf("save moves: %w", err)
	}
	if sha != "" && a.argo != nil && len(moves) > 0 {
		a.refresh(ctx)
	}

	done, waiting, findings := a.settle(ctx, tree, moves)
	res.Findings = append(res.Findings, findings...)
	final := tree
	if len(done) > 0 {
		// The old placements go, and the network objects with them.
		if _, final, _, err = a.compose(plan, tree, waiting); err != nil {
			return nil, err
		}
		step2 := &snapshot{git: snap.git, head: head, tree: tree}
		sha2, err := a.repo.commit(ctx, step2, final, a.message(plan, 2, nil, done), a.now())
		if err != nil {
			// The moves stay waiting: the next apply removes the old
			// placements once it sees the new ones ready again.
			return nil, fmt.Errorf("remove old placements: %w", err)
		}
		if sha2 != "" {
			res.Commits = append(res.Commits, Commit{SHA: sha2, Message: a.message(plan, 2, nil, done)})
		}
	}
	if err := a.store.SaveMoves(ctx, a.scope, waiting); err != nil {
		return nil, fmt.Errorf("save moves: %w", err)
	}
	res.Files = Diff(snap.tree, final, a.s.Path)
	for _, m := range done {
		res.Moves = append(res.Moves, MoveResult{Workload: m.Workload, From: m.From, To: m.To, Status: MoveCompleted})
	}
	for _, m := range waiting {
		st := MoveWaiting
		if started[m.Workload] {
			st = MoveStarted
		}
		res.Moves = append(res.Moves, MoveResult{Workload: m.Workload, From: m.From, To: m.To, Status: st, Detail: m.LastError})
	}
	sort.Slice(res.Moves, func(i, j int) bool { return res.Moves[i].Workload < res.Moves[j].Workload })
	a.log.InfoContext(ctx, "deploy repo applied", "repo", a.repo.name, "branch", a.s.Branch, "commits", len(res.Commits),
		"files", len(res.Files), "moves_completed", len(done), "moves_waiting", len(waiting))
	return res, nil
}

// refresh asks Argo CD to sync the root app-of-apps now, so that new
// Applications appear without waiting for Argo CD's Git polling. It is best
// effort: automated sync gets there anyway.
func (a *applier) refresh(ctx context.Context) {
	name := RootAppName(a.s.Path)
	if _, err := a.argo.Sync(ctx, name, argocd.SyncRequest{Prune: true}); err != nil {
		a.log.WarnContext(ctx, "could not trigger a sync of the root application; waiting for Argo CD to poll Git", "app", name, "err", err)
	}
}

// settle decides which waiting moves may remove their old placements now.
func (a *applier) settle(ctx context.Context, tree Tree, moves []Move) (done, waiting []Move, findings []meridian.Finding) {
	var candidates []Move
	for _, m := range moves {
		if m.Phase == PhaseWaiting {
			candidates = append(candidates, m)
		} else {
			waiting = append(waiting, m)
		}
	}
	if len(candidates) == 0 {
		return nil, waiting, nil
	}
	if a.argo == nil {
		now := a.now()
		for _, m := range candidates {
			if left := a.s.MoveGrace - now.Sub(m.Since); left > 0 {
				m.LastError = fmt.Sprintf("no Argo CD server to confirm %s: keeping %s until %s (deploy.move_grace %s)",
					strings.Join(m.To, ", "), strings.Join(m.From, ", "), m.Since.Add(a.s.MoveGrace).UTC().Format(time.RFC3339), a.s.MoveGrace)
				waiting = append(waiting, m)
				findings = append(findings, a.heldFinding(m, meridian.SeverityInfo))
				continue
			}
			done = append(done, m)
		}
		return done, waiting, findings
	}
	ready := a.wait(ctx, tree, candidates)
	for _, m := range candidates {
		if msg, ok := ready[m.Workload]; ok && msg == "" {
			done = append(done, m)
			continue
		}
		m.Attempts++
		m.LastError = ready[m.Workload]
		waiting = append(waiting, m)
		findings = append(findings, a.heldFinding(m, meridian.SeverityWarn))
	}
	return done, waiting, findings
}

func (a *applier) heldFinding(m Move, sev meridian.Severity) meridian.Finding {
	f := meridian.Finding{
		Rule: RuleMoveHeld, Severity: sev, Workload: m.Workload, Target: strings.Join(m.From, ","),
		Message: fmt.Sprintf("move of %s from %s to %s is not finished: %s", m.Workload,
			strings.Join(m.From, ", "), strings.Join(m.To, ", "), m.LastError),
		Remediation: "the old placement keeps running; the next apply checks again and then removes it",
	}
	if w, ok := workload(a.cfg, m.Workload); ok {
		f.File, f.Line = w.Origin.File, w.Origin.Line
	}
	return f
}

// wait polls Argo CD until every new placement of the candidate moves is
// Synced and Healthy, or argocd.health_timeout passes. It returns, per
// workload, "" when ready or why not.
func (a *applier) wait(ctx context.Context, tree Tree, moves []Move) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, a.s.HealthTimeout)
	defer cancel()
	apps := map[string][]string{}
	for _, m := range moves {
		for _, t := range m.To {
			for _, f := range []struct{ file, name string }{
				{appFile(m.Workload, t), AppName(m.Workload, t)},
				{infraAppFile(m.Workload, t), InfraAppName(m.Workload, t)},
			} {
				if _, ok := tree[f.file]; ok {
					apps[m.Workload] = append(apps[m.Workload], f.name)
				}
			}
		}
	}
	status := map[string]string{}
	for {
		pending := 0
		for _, m := range moves {
			if msg, ok := status[m.Workload]; ok && msg == "" {
				continue
			}
			status[m.Workload] = a.check(ctx, apps[m.Workload])
			if status[m.Workload] != "" {
				pending++
			}
		}
		if pending == 0 {
			return status
		}
		t := time.NewTimer(a.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			for w, msg := range status {
				if msg != "" {
					status[w] = fmt.Sprintf("not Synced and Healthy within %s: %s", a.s.HealthTimeout, msg)
				}
			}
			return status
		case <-t.C:
		}
	}
}

// check returns "" when every named Application is Synced and Healthy, or
// what is still wrong.
func (a *applier) check(ctx context.Context, names []string) string {
	if len(names) == 0 {
		return ""
	}
	var bad []string
	for _, n := range names {
		app, err := a.argo.Get(ctx, n)
		switch {
		case argocd.IsNotFound(err):
			bad = append(bad, n+": not created yet")
		case err != nil:
			bad = append(bad, n+": "+err.Error())
		case !app.Ready():
			bad = append(bad, n+": "+app.Summary())
		}
	}
	return strings.Join(bad, "; ")
}

// message is a commit message. The plan ID and config commit are in the
// message, never in the files, so that rendering stays deterministic;
// trailers let drift detection find Meridian's last commit.
func (a *applier) message(plan *meridian.Plan, step int, moves, done []Move) string {
	var b strings.Builder
	config := plan.Commit
	if config == "" {
		config = "(not in Git)"
	}
	if plan.Dirty {
		config += " (with uncommitted changes)"
	}
	if step == 1 {
		fmt.Fprintf(&b, "meridian: apply plan %s\n\nDeploy tree for plan %s of config commit %s.\n", plan.ID, plan.ID, config)
		var held []string
		for _, m := range moves {
			held = append(held, fmt.Sprintf("  %s: %s -> %s", m.Workload, strings.Join(m.From, ","), strings.Join(m.To, ",")))
		}
		if len(held) > 0 {
			fmt.Fprintf(&b, "\nMoves, make-before-break (old placements stay until the new ones are healthy):\n%s\n", strings.Join(held, "\n"))
		}
	} else {
		fmt.Fprintf(&b, "meridian: finish moves of plan %s\n\nRemoves the old placements of moved workloads, now that the new ones are ", plan.ID)
		if a.argo != nil {
			b.WriteString("Synced and Healthy in Argo CD:\n")
		} else {
			fmt.Fprintf(&b, "past deploy.move_grace (%s):\n", a.s.MoveGrace)
		}
		for _, m := range done {
			fmt.Fprintf(&b, "  %s: %s (now on %s, move started by plan %s)\n", m.Workload, strings.Join(m.From, ","), strings.Join(m.To, ","), m.PlanID)
		}
	}
	fmt.Fprintf(&b, "\n%s: %s\n%s: %s\n", TrailerPlan, plan.ID, TrailerConfig, config)
	if step == 2 || len(moves) > 0 {
		// Only commits that take part in a move are steps of one.
		fmt.Fprintf(&b, "%s: %d/2\n", TrailerStep, step)
	}
	return b.String()
}

// Commit message trailers of Meridian's commits.
const (
	TrailerPlan   = "Meridian-Plan"
	TrailerConfig = "Meridian-Config-Commit"
	TrailerStep   = "Meridian-Step"
)
