package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/argocd"
)

// maxWalk bounds how far back RepoDrift looks for Meridian's last commit.
const maxWalk = 1000

// Lister lists Argo CD Applications by label selector. *argocd.Client
// implements it.
type Lister interface {
	List(ctx context.Context, selector string) ([]argocd.Application, error)
}

// Drift reports both engines' drift for the deploy repo configured in cfg
// (meridian.DriftEngineDeployRepo and, with Argo CD, DriftEngineArgoCD):
// RepoDrift always, ArgoDrift when an Argo CD client is given or
// argocd.server is configured. It is what `meridian drift` calls.
func Drift(ctx context.Context, cfg *meridian.Config, opts Options) ([]meridian.DriftRecord, error) {
	a, snap, err := readOnly(ctx, cfg, opts, true)
	if err != nil {
		return nil, err
	}
	out, err := a.repoDrift(snap)
	if err != nil {
		return nil, err
	}
	if l, ok := a.argo.(Lister); ok && a.argo != nil {
		ds, err := ArgoDrift(ctx, l, snap.tree)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

// RepoDrift compares the deploy path at the branch head with the tree of
// Meridian's last commit on the branch (found by its Meridian-Plan trailer),
// and reports every file someone else added, changed or removed since.
func RepoDrift(ctx context.Context, cfg *meridian.Config, opts Options) ([]meridian.DriftRecord, error) {
	a, snap, err := readOnly(ctx, cfg, opts, false)
	if err != nil {
		return nil, err
	}
	return a.repoDrift(snap)
}

func (a *applier) repoDrift(snap *snapshot) ([]meridian.DriftRecord, error) {
	if snap.head == nil {
		return []meridian.DriftRecord{}, nil
	}
	last, later, err := lastMeridianCommit(snap.head)
	if err != nil {
		return nil, fmt.Errorf("deploy repo %s: %w", a.repo.name, err)
	}
	out := []meridian.DriftRecord{}
	var base Tree
	// Expected names the tree Meridian committed, Actual the head that
	// differs from it, so that a later edit of a drifted file refreshes
	// the record's Actual while the record stays the same.
	expected := "no commit by Meridian on " + a.s.Branch
	if last != nil {
		if last.Hash == snap.head.Hash {
			return out, nil
		}
		if base, err = a.repo.files(last); err != nil {
			return nil, err
		}
		expected = "as of Meridian's commit " + last.Hash.String()[:12]
	}
	for _, f := range Diff(base, snap.tree, "") {
		actual := fmt.Sprintf("%s at %s outside Meridian, by %s", actionText(f.Action), snap.head.Hash.String()[:12], snap.head.Author.Name)
		if last != nil {
			actual = fmt.Sprintf("%s at %s by %d later commit(s), the last by %s", actionText(f.Action), snap.head.Hash.String()[:12], later, snap.head.Author.Name)
		}
		out = append(out, meridian.DriftRecord{
			Engine: meridian.DriftEngineDeployRepo, Workload: f.Workload, Target: f.Target,
			Resource: repoPathOf(a.s.Path, f.Path), Action: f.Action, Expected: expected, Actual: actual,
		})
	}
	return out, nil
}

func repoPathOf(prefix, p string) string {
	if prefix == "" {
		return p
	}
	return prefix + "/" + p
}

func actionText(action string) string {
	switch action {
	case meridian.DeployAdd:
		return "added"
	case meridian.DeployRemove:
		return "removed"
	}
	return "changed"
}

// lastMeridianCommit walks first parents from head to the newest commit
// Meridian made, and counts the commits after it. It returns nil when there
// is none within maxWalk commits.
func lastMeridianCommit(head *object.Commit) (*object.Commit, int, error) {
	c := head
	for n := 0; n < maxWalk; n++ {
		if c.Author.Email == author.Email && strings.Contains(c.Message, "\n"+TrailerPlan+": ") {
			return c, n, nil
		}
		if c.NumParents() == 0 {
			return nil, n + 1, nil
		}
		p, err := c.Parent(0)
		if err != nil {
			return nil, 0, fmt.Errorf("walk history: %w", err)
		}
		c = p
	}
	return nil, maxWalk, nil
}

// ArgoDrift reports, for every Application the deploy tree declares, what
// Argo CD says is wrong with it: missing, OutOfSync or not Healthy, with
// each resource it lists as out of sync, to be pruned or unhealthy.
func ArgoDrift(ctx context.Context, argo Lister, tree Tree) ([]meridian.DriftRecord, error) {
	apps, err := argo.List(ctx, LabelManagedBy+"="+managedBy)
	if err != nil {
		return nil, fmt.Errorf("list Argo CD applications: %w", err)
	}
	live := map[string]*argocd.Application{}
	for i := range apps {
		live[apps[i].Metadata.Name] = &apps[i]
	}
	out := []meridian.DriftRecord{}
	for _, e := range declaredApps(tree) {
		app, ok := live[e.name]
		if !ok {
			out = append(out, meridian.DriftRecord{Engine: meridian.DriftEngineArgoCD, Workload: e.workload, Target: e.target,
				Resource: "Application " + e.name, Action: meridian.DriftMissing, Expected: "declared in the deploy repo", Actual: "not in Argo CD"})
			continue
		}
		if app.Ready() {
			continue
		}
		out = append(out, meridian.DriftRecord{Engine: meridian.DriftEngineArgoCD, Workload: e.workload, Target: e.target,
			Resource: "Application " + e.name, Action: appAction(app), Expected: argoReady, Actual: app.Summary()})
		for _, r := range app.Unhealthy() {
			var why []string
			action := meridian.DriftUnhealthy
			if (r.Status != "" && r.Status != argocd.SyncStatusSynced) || r.RequiresPruning {
				action = meridian.DriftOutOfSync
			}
			if r.Status != "" && r.Status != argocd.SyncStatusSynced {
				why = append(why, r.Status)
			}
			if r.RequiresPruning {
				why = append(why, "requires pruning")
			}
			if r.Health != nil && r.Health.Status != "" && r.Health.Status != argocd.HealthHealthy {
				h := r.Health.Status
				if r.Health.Message != "" {
					h += ": " + r.Health.Message
				}
				why = append(why, h)
			}
			out = append(out, meridian.DriftRecord{Engine: meridian.DriftEngineArgoCD, Workload: e.workload, Target: e.target,
				Resource: r.Ref(), Action: action, Expected: argoReady, Actual: strings.Join(why, ", ") + " (in Application " + e.name + ")"})
		}
	}
	return out, nil
}

// argoReady is the Expected of Argo CD drift: what Meridian's deploy
// tree asks Argo CD to reach.
const argoReady = "Synced/Healthy"

// appAction classifies a not-ready Application.
func appAction(app *argocd.Application) string {
	if app.Status != nil && app.Status.Sync.Status == argocd.SyncStatusSynced {
		return meridian.DriftUnhealthy
	}
	return meridian.DriftOutOfSync
}

type declared struct{ name, workload, target string }

// declaredApps lists the Applications the tree's apps/ folder declares,
// by the naming convention of appFile and infraAppFile.
func declaredApps(tree Tree) []declared {
	var out []declared
	for _, p := range tree.Paths() {
		if t, site := SiteOwner(p); site && p == siteAppFile(t) {
			// A site's network Application belongs to the target alone.
			out = append(out, declared{name: siteAppName(t), target: t})
			continue
		}
		w, t, ok := Owner(p)
		if !ok || !strings.HasPrefix(p, appsDir+"/") {
			continue
		}
		name := AppName(w, t)
		if p == infraAppFile(w, t) {
			name = InfraAppName(w, t)
		}
		out = append(out, declared{name: name, workload: w, target: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// readOnly returns an applier that never writes the deploy repo (with an
// Argo CD client when withArgo) and the repo as it is now.
func readOnly(ctx context.Context, cfg *meridian.Config, opts Options, withArgo bool) (*applier, *snapshot, error) {
	a, err := newApplier(cfg, opts, withArgo)
	if err != nil {
		return nil, nil, err
	}
	a.repo.readOnly = true
	snap, err := a.repo.read(ctx)
	if err != nil {
		return nil, nil, err
	}
	return a, snap, nil
}
