package deploy

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/crossplane"
)

// CrossplaneReport is the crossplane engine's drift: what the clusters of
// the targets with crossplane.cluster hold, against Meridian's last commit.
type CrossplaneReport struct {
	Items []meridian.DriftRecord `json:"items"`
	// Checked lists the targets whose cluster was read.
	Checked []string `json:"checked"`
	// Failed maps a target whose cluster could not be read to why; its
	// records must stay as they were.
	Failed map[string]string `json:"failed,omitempty"`
	// Error says why nothing was checked (the config or the deploy repo
	// could not be read); every crossplane record must stay as it was.
	Error string `json:"error,omitempty"`
}

// ConnectCrossplane opens a client-go reader of the cluster k names.
func ConnectCrossplane(_ context.Context, k meridian.CrossplaneCluster) (crossplane.Reader, error) {
	cfg, err := crossplane.RESTConfig(k)
	if err != nil {
		return nil, err
	}
	return crossplane.NewClient(cfg)
}

// CrossplaneDrift reads back, for every engine: crossplane target with
// crossplane.cluster, the resources of Meridian's last commit on the deploy
// branch (what Meridian means to run, whatever was pushed on top of it), and
// reports how the cluster differs (gitops/crossplane.Check). A target whose
// cluster cannot be read is listed in Failed, not as an error, so that the
// other targets are still checked.
func CrossplaneDrift(ctx context.Context, cfg *meridian.Config, opts Options) (*CrossplaneReport, error) {
	out := &CrossplaneReport{Items: []meridian.DriftRecord{}, Checked: []string{}}
	var targets []*meridian.Target
	for i := range cfg.Targets {
		if t := &cfg.Targets[i]; t.Engine == meridian.EngineCrossplane && t.Crossplane.Cluster != nil {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return out, nil
	}
	a, snap, err := readOnly(ctx, cfg, opts, false)
	if err != nil {
		return nil, err
	}
	desired := map[string][]crossplane.Desired{}
	if snap.head != nil {
		last, _, err := lastMeridianCommit(snap.head)
		if err != nil {
			return nil, fmt.Errorf("deploy repo %s: %w", a.repo.name, err)
		}
		if last != nil {
			tree, err := a.repo.files(last)
			if err != nil {
				return nil, err
			}
			prev, err := a.previousTree(last)
			if err != nil {
				return nil, err
			}
			if desired, err = crossplaneDesired(tree, prev, last.Committer.When); err != nil {
				return nil, fmt.Errorf("deploy repo %s at %s: %w", a.repo.name, last.Hash.String()[:12], err)
			}
		}
	}
	connect := opts.Crossplane
	if connect == nil {
		connect = ConnectCrossplane
	}
	for _, t := range targets {
		k := *t.Crossplane.Cluster
		ds, err := func() ([]meridian.DriftRecord, error) {
			r, err := connect(ctx, k)
			if err != nil {
				return nil, err
			}
			return crossplane.Check(ctx, r, t.Name, desired[t.Name], crossplane.Options{
				Selector: LabelManagedBy + "=" + managedBy + "," + LabelTarget + "=" + t.Name,
				Grace:    k.ReadyGrace, Now: a.now,
			})
		}()
		if err != nil {
			if out.Failed == nil {
				out.Failed = map[string]string{}
			}
			out.Failed[t.Name] = err.Error()
			a.log.Warn("crossplane drift: cluster not read", "target", t.Name, "err", err)
			continue
		}
		out.Checked = append(out.Checked, t.Name)
		out.Items = append(out.Items, ds...)
	}
	return out, nil
}

// previousTree is the tree of Meridian's commit before c, or an empty tree.
func (a *applier) previousTree(c *object.Commit) (Tree, error) {
	if c.NumParents() == 0 {
		return Tree{}, nil
	}
	p, err := c.Parent(0)
	if err != nil {
		return nil, fmt.Errorf("deploy repo %s: %w", a.repo.name, err)
	}
	prev, _, err := lastMeridianCommit(p)
	if err != nil || prev == nil {
		return Tree{}, err
	}
	return a.repo.files(prev)
}

// crossplaneDesired parses the infra files of a deploy tree into the
// resources each target should hold. A file that Meridian's commit at since
// added or changed (against prev, its commit before) is new since then; any
// other has been there long enough to be judged at once, so that a later
// commit does not hide drift that was already open.
func crossplaneDesired(tree, prev Tree, since time.Time) (map[string][]crossplane.Desired, error) {
	out := map[string][]crossplane.Desired{}
	paths := tree.Paths()
	sort.Strings(paths)
	for _, p := range paths {
		w, t, ok := Owner(p)
		if !ok || !strings.HasPrefix(p, infraDir+"/") || path.Ext(p) != ".yaml" {
			continue
		}
		j, err := yaml.YAMLToJSON(tree[p])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		d := crossplane.Desired{Workload: w, Object: obj}
		if !bytes.Equal(prev[p], tree[p]) {
			d.Since = since
		}
		out[t] = append(out[t], d)
	}
	return out, nil
}
