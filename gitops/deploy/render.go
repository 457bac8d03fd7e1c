package deploy

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/argocd"
)

// Rule IDs of the findings this package raises.
const (
	// RuleNoSource: a placed workload has no source, so Argo CD is not told
	// to deploy it.
	RuleNoSource = "MER-DEPLOY-001"
	// RuleMoveHeld: a moved workload's old placement is kept because its new
	// one is not yet confirmed Synced and Healthy.
	RuleMoveHeld = "MER-DEPLOY-002"
	// RuleBlockedHeld: a workload with a blocking finding keeps what the
	// deploy repo has for it.
	RuleBlockedHeld = "MER-DEPLOY-003"
	// RulePeerNowhere: a workload's traffic rules name a workload that runs
	// nowhere, so nothing is opened for it.
	RulePeerNowhere = "MER-DEPLOY-004"
)

// RenderOptions are the inputs of Render besides config and plan.
type RenderOptions struct {
	// RepoURL is the URL Argo CD reads the deploy repository from, for the
	// root app-of-apps and the Crossplane Applications. Empty falls back to
	// deploy.repo_url and deploy.repo; a local repository needs StateDir.
	RepoURL string
	// StateDir locates the local deploy repository when deploy.repo is
	// omitted (default DefaultStateDir).
	StateDir string
	// Current is the deploy tree as the repository holds it now. Workloads
	// held by a blocking finding keep their files from it. Nil is empty.
	Current Tree
	// Running are placements that keep running besides the plan's, by
	// workload: the old targets of moves still waiting for their new ones.
	// Traffic rules are rendered for them too.
	Running map[string][]string
}

// Rendered is a rendered deploy tree and what the user should know about it.
type Rendered struct {
	Tree Tree
	// Findings are warnings about placements that could not be rendered as
	// asked (no source, held by a blocking finding).
	Findings []meridian.Finding
}

// Render turns a plan into the deploy tree an apply commits. It is a pure
// function of its arguments: the same inputs give byte-identical files.
func Render(cfg *meridian.Config, plan *meridian.Plan, opts RenderOptions) (*Rendered, error) {
	s := resolve(cfg.Settings)
	repoURL := opts.RepoURL
	if repoURL == "" {
		var err error
		if repoURL, err = repoURLFor(s, opts.StateDir); err != nil {
			return nil, err
		}
	}
	r := &renderer{cfg: cfg, s: s, repoURL: repoURL, tree: Tree{}, placedOn: map[string][]string{}}
	if err := r.root(); err != nil {
		return nil, err
	}
	placements := append([]meridian.Placement(nil), plan.Placements...)
	sort.Slice(placements, func(i, j int) bool {
		if placements[i].Workload != placements[j].Workload {
			return placements[i].Workload < placements[j].Workload
		}
		return placements[i].Target < placements[j].Target
	})
	// Network objects follow where workloads land, not where the plan
	// would like them: held workloads where they run now, moves at both
	// ends until the old one goes.
	landed := r.landed(plan, opts)
	for _, p := range landed {
		r.placedOn[p.Workload] = append(r.placedOn[p.Workload], p.Target)
	}
	r.flows = meridian.ResolveFlows(cfg.Targets, cfg.Workloads, landed)
	r.peersNowhere(landed)
	held := map[string]bool{}
	for _, p := range placements {
		w, ok := workload(cfg, p.Workload)
		if !ok {
			return nil, meridian.Errorf(meridian.EINVALID, "render: plan places unknown workload %q", p.Workload)
		}
		t, ok := cfg.Target(p.Target)
		if !ok {
			return nil, meridian.Errorf(meridian.EINVALID, "render: plan places %s on unknown target %q", p.Workload, p.Target)
		}
		if p.Blocked {
			if !held[w.Name] {
				held[w.Name] = true
				r.hold(w, opts.Current)
			}
			continue
		}
		if err := r.placement(w, t, p.Replicas); err != nil {
			return nil, fmt.Errorf("render %s on %s: %w", w.Name, t.Name, err)
		}
	}
	if err := r.sites(landed); err != nil {
		return nil, err
	}
	return &Rendered{Tree: r.tree, Findings: r.findings}, nil
}

type renderer struct {
	cfg      *meridian.Config
	s        settings
	repoURL  string
	tree     Tree
	findings []meridian.Finding
	// flows are the traffic flows resolved over the landed placements, and
	// placedOn the targets of each workload, for the network objects.
	flows    []meridian.Flow
	placedOn map[string][]string
}

func workload(cfg *meridian.Config, name string) (*meridian.Workload, bool) {
	for i := range cfg.Workloads {
		if cfg.Workloads[i].Name == name {
			return &cfg.Workloads[i], true
		}
	}
	return nil, false
}

func (r *renderer) add(p string, v any) error {
	b, err := marshalYAML(v)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if _, dup := r.tree[p]; dup {
		return meridian.Errorf(meridian.EINTERNAL, "render: two manifests for %s", p)
	}
	r.tree[p] = b
	return nil
}

func (r *renderer) syncPolicy() *argocd.SyncPolicy {
	return &argocd.SyncPolicy{
		Automated:   &argocd.SyncPolicyAutomated{Prune: true, SelfHeal: true},
		SyncOptions: append([]string(nil), r.s.SyncOptions...),
	}
}

func (r *renderer) meta(name string, labels map[string]string) argocd.ObjectMeta {
	l := map[string]string{LabelManagedBy: managedBy}
	for k, v := range labels {
		l[k] = v
	}
	return argocd.ObjectMeta{Name: name, Namespace: r.s.Namespace, Labels: l, Finalizers: []string{argocd.ResourcesFinalizer}}
}

// root renders the app-of-apps: it syncs every Application file under
// apps/ into Argo CD's namespace, and prunes the ones that are removed,
// which is how a second commit deletes a moved workload's old placement.
func (r *renderer) root() error {
	return r.add(rootFile, &argocd.Application{
		APIVersion: argocd.APIVersion,
		Kind:       argocd.KindApplication,
		Metadata:   r.meta(RootAppName(r.s.Path), nil),
		Spec: argocd.ApplicationSpec{
			Project: r.s.Project,
			Source: &argocd.ApplicationSource{
				RepoURL:        r.repoURL,
				Path:           r.repoPath(appsDir),
				TargetRevision: r.s.Branch,
				Directory:      &argocd.ApplicationSourceDirectory{Recurse: true},
			},
			Destination: argocd.ApplicationDestination{Server: inClusterServer, Namespace: r.s.Namespace},
			SyncPolicy: &argocd.SyncPolicy{
				Automated: &argocd.SyncPolicyAutomated{Prune: true, SelfHeal: true},
			},
		},
	})
}

// repoPath is a deploy-tree path as seen from the repository root.
func (r *renderer) repoPath(p string) string {
	if r.s.Path == "" {
		return p
	}
	return path.Join(r.s.Path, p)
}

func (r *renderer) placement(w *meridian.Workload, t *meridian.Target, replicas int) error {
	if w.Source == nil {
		r.findings = append(r.findings, meridian.Finding{
			Rule: RuleNoSource, Severity: meridian.SeverityWarn, Workload: w.Name, Target: t.Name,
			Field: "source", File: w.Origin.File, Line: w.Origin.LineOf("source"),
			Message:     fmt.Sprintf("%s has no source: Argo CD is not told to deploy it on %s", w.Name, t.Name),
			Remediation: "add source (repo_url, path or chart, revision, kind: helm or kustomize) to the workload",
		})
	} else {
		app, err := r.workloadApp(w, t, replicas)
		if err != nil {
			return err
		}
		if err := r.add(appFile(w.Name, t.Name), app); err != nil {
			return err
		}
	}
	if t.Engine != meridian.EngineCrossplane {
		return nil
	}
	objs, err := crossplaneObjects(w, t, r.flows)
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		return nil
	}
	if err := r.add(infraAppFile(w.Name, t.Name), r.infraApp(w, t)); err != nil {
		return err
	}
	for _, o := range objs {
		if err := r.add(path.Join(infraDirOf(w.Name, t.Name), o.file), o.obj); err != nil {
			return err
		}
	}
	return nil
}

// destination is where a workload's Application deploys on a target: the
// target's destination, defaulting to the Argo CD cluster named after the
// target and a namespace named after the workload.
func destination(d meridian.Destination, defaultName, defaultNS string) argocd.ApplicationDestination {
	out := argocd.ApplicationDestination{Server: d.Server, Name: d.Name, Namespace: d.Namespace}
	if out.Server == "" && out.Name == "" {
		out.Name = defaultName
	}
	if out.Namespace == "" {
		out.Namespace = defaultNS
	}
	return out
}

func (r *renderer) workloadApp(w *meridian.Workload, t *meridian.Target, replicas int) (*argocd.Application, error) {
	src := w.Source
	rev := src.Revision
	if rev == "" {
		rev = "HEAD"
	}
	as := &argocd.ApplicationSource{RepoURL: src.RepoURL, Path: src.Path, Chart: src.Chart, TargetRevision: rev}
	switch src.Kind {
	case meridian.SourceHelm:
		key := src.ReplicasKey
		if key == "" {
			key = "replicaCount"
		}
		values, err := json.Marshal(nested(key, replicas))
		if err != nil {
			return nil, fmt.Errorf("helm values: %w", err)
		}
		as.Helm = &argocd.ApplicationSourceHelm{ReleaseName: w.Name, ValuesObject: values}
	case meridian.SourceKustomize:
		name := src.ReplicasKey
		if name == "" {
			name = w.Name
		}
		as.Kustomize = &argocd.ApplicationSourceKustomize{Replicas: []argocd.KustomizeReplica{{Name: name, Count: argocd.IntOrText(replicas)}}}
	default:
		return nil, meridian.Errorf(meridian.EINVALID, "source.kind must be helm or kustomize, got %q", src.Kind)
	}
	return &argocd.Application{
		APIVersion: argocd.APIVersion,
		Kind:       argocd.KindApplication,
		Metadata:   r.meta(AppName(w.Name, t.Name), map[string]string{LabelWorkload: w.Name, LabelTarget: t.Name, LabelLayer: LayerApp}),
		Spec: argocd.ApplicationSpec{
			Project:     r.s.Project,
			Source:      as,
			Destination: destination(t.Destination, t.Name, w.Name),
			SyncPolicy:  r.syncPolicy(),
		},
	}, nil
}

// nested turns a dotted Helm values key into nested maps holding v.
func nested(key string, v int) map[string]any {
	parts := strings.Split(key, ".")
	var out any = v
	for i := len(parts) - 1; i >= 0; i-- {
		out = map[string]any{parts[i]: out}
	}
	return out.(map[string]any)
}

// infraApp syncs a placement's Crossplane resources from the deploy repo
// into the cluster Crossplane runs in.
func (r *renderer) infraApp(w *meridian.Workload, t *meridian.Target) *argocd.Application {
	cd := t.Crossplane.Destination
	d := argocd.ApplicationDestination{Server: cd.Server, Name: cd.Name, Namespace: crossplaneNamespace(w, t)}
	if d.Server == "" && d.Name == "" {
		d.Server = inClusterServer
	}
	return &argocd.Application{
		APIVersion: argocd.APIVersion,
		Kind:       argocd.KindApplication,
		Metadata:   r.meta(InfraAppName(w.Name, t.Name), map[string]string{LabelWorkload: w.Name, LabelTarget: t.Name, LabelLayer: LayerInfra}),
		Spec: argocd.ApplicationSpec{
			Project: r.s.Project,
			Source: &argocd.ApplicationSource{
				RepoURL:        r.repoURL,
				Path:           r.repoPath(infraDirOf(w.Name, t.Name)),
				TargetRevision: r.s.Branch,
			},
			Destination: d,
			SyncPolicy:  r.syncPolicy(),
		},
	}
}

// hold copies a blocked workload's files from the current tree, so that a
// blocking finding freezes what runs instead of scaling or moving it.
func (r *renderer) hold(w *meridian.Workload, current Tree) {
	kept := 0
	for _, p := range current.Paths() {
		if wl, _, ok := Owner(p); ok && wl == w.Name {
			r.tree[p] = current[p]
			kept++
		}
	}
	msg := fmt.Sprintf("%s has a blocking finding: the deploy repo keeps its %d current file(s) unchanged", w.Name, kept)
	if kept == 0 {
		msg = fmt.Sprintf("%s has a blocking finding and is not in the deploy repo yet: it is not deployed", w.Name)
	}
	r.findings = append(r.findings, meridian.Finding{
		Rule: RuleBlockedHeld, Severity: meridian.SeverityInfo, Workload: w.Name,
		File: w.Origin.File, Line: w.Origin.Line, Message: msg,
		Remediation: "fix the blocking finding; the next apply then deploys the plan for " + w.Name,
	})
}
