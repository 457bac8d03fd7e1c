package edge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/meridianhq/meridian"
)

// BundleName is the bundle's name in the agent config, and so in the
// agents' status reports.
const BundleName = "meridian"

// BundleRoot is the only root the bundle owns (data.meridian): the org
// and built-in policies live under it, and so does the site's data
// (data.meridian.edge). A site's OPA may load other bundles for other
// roots beside it.
const BundleRoot = "meridian"

// Bundle is one site's signed bundle at one revision, ready to serve.
type Bundle struct {
	Site     string
	Revision string
	// ETag is the strong entity tag of Body, quoted as HTTP sends it.
	ETag string
	// Body is the bundle tarball (gzip).
	Body  []byte
	Built time.Time
}

// Head is the branch head the bundles are built from.
type Head struct {
	// Revision is the bundles' manifest revision: the commit and the plan
	// ID, shortened, so that a new plan of the same commit (after an
	// apply changed the ledger, say) is a new revision too.
	Revision string    `json:"revision"`
	Commit   string    `json:"commit"`
	PlanID   string    `json:"plan_id"`
	Since    time.Time `json:"since"`
}

// Revision is the manifest revision of the bundles of a commit's plan.
func Revision(commit, planID string) string {
	return shorten(commit) + "-" + shorten(planID)
}

func shorten(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// SiteData is what a site's bundle carries besides policies, under
// data.meridian.edge: the site (its target, network included), the
// workloads the head's plan places on it (with their network needs and
// traffic rules) and the revision, so that policies and people at the site
// can tell what they run.
type SiteData struct {
	Site     string           `json:"site"`
	Revision string           `json:"revision"`
	Commit   string           `json:"commit"`
	PlanID   string           `json:"plan_id"`
	Target   *meridian.Target `json:"target,omitempty"`
	// Workloads are the placements on the site, by workload name.
	Workloads []SiteWorkload `json:"workloads"`
	// Flows are the traffic the site must admit (ingress into its
	// workloads) and open towards other sites (egress), resolved from the
	// workloads' traffic rules against the plan: what its Calico
	// GlobalNetworkPolicy and NetworkPolicies enforce (docs/network.md).
	Flows meridian.SiteFlows `json:"flows"`
}

// SiteWorkload is one workload placed on the site.
type SiteWorkload struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"`
	// Blocked: a deny finding holds the workload at its applied replicas.
	Blocked  bool               `json:"blocked"`
	Workload *meridian.Workload `json:"workload,omitempty"`
}

// NewSiteData extracts site's share of plan, made from cfg; flows are the
// plan's resolved flows (meridian.ResolveFlows), of which the site gets
// those it enforces.
func NewSiteData(site string, head Head, cfg *meridian.Config, plan *meridian.Plan, flows []meridian.Flow) SiteData {
	d := SiteData{Site: site, Revision: head.Revision, Commit: head.Commit, PlanID: head.PlanID, Workloads: []SiteWorkload{},
		Flows: meridian.FlowsAt(site, flows)}
	// Empty lists rather than null, so that a site's policies can iterate
	// them without a definedness check.
	if d.Flows.Ingress == nil {
		d.Flows.Ingress = []meridian.Flow{}
	}
	if d.Flows.Egress == nil {
		d.Flows.Egress = []meridian.Flow{}
	}
	if cfg != nil {
		for i := range cfg.Targets {
			if cfg.Targets[i].Name == site {
				d.Target = &cfg.Targets[i]
			}
		}
	}
	if plan == nil {
		return d
	}
	for _, p := range plan.Placements {
		if p.Target != site {
			continue
		}
		sw := SiteWorkload{Name: p.Workload, Replicas: p.Replicas, Blocked: p.Blocked}
		if cfg != nil {
			for i := range cfg.Workloads {
				if cfg.Workloads[i].Name == p.Workload {
					sw.Workload = &cfg.Workloads[i]
				}
			}
		}
		d.Workloads = append(d.Workloads, sw)
	}
	sort.Slice(d.Workloads, func(i, j int) bool { return d.Workloads[i].Name < d.Workloads[j].Name })
	return d
}

// Build writes and signs site's bundle: policies (path -> Rego source,
// test files left out) and data, under revision. The signature covers
// every file, so an agent holding key's public half rejects a bundle
// changed in transit or on disk.
func Build(data SiteData, policies map[string]string, key *Key, now time.Time) (*Bundle, error) {
	doc, err := json.Marshal(map[string]any{BundleRoot: map[string]any{"edge": data}})
	if err != nil {
		return nil, fmt.Errorf("bundle of %s: data: %w", data.Site, err)
	}
	var tree map[string]any
	if err := json.Unmarshal(doc, &tree); err != nil {
		return nil, fmt.Errorf("bundle of %s: data: %w", data.Site, err)
	}
	roots := []string{BundleRoot}
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: data.Revision, Roots: &roots,
			Metadata: map[string]any{"site": data.Site, "commit": data.Commit, "plan_id": data.PlanID}},
		Data: tree,
	}
	names := make([]string, 0, len(policies))
	for p := range policies {
		if strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego") {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		// Built-in files are named "builtin:..." by package policies; a
		// colon has no place in a tar path.
		fp := "/" + path.Clean(strings.ReplaceAll(p, ":", "/"))
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: fp, Path: fp, Raw: []byte(policies[p])})
	}
	sc := bundle.NewSigningConfig(key.PrivatePEM, SigningAlgorithm, "")
	if err := b.GenerateSignature(sc, key.ID, true); err != nil {
		return nil, fmt.Errorf("sign bundle of %s: %w", data.Site, err)
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).UseModulePath(true).DisableFormat(true).Write(b); err != nil {
		return nil, fmt.Errorf("write bundle of %s: %w", data.Site, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return &Bundle{Site: data.Site, Revision: data.Revision, ETag: `"` + hex.EncodeToString(sum[:16]) + `"`, Body: buf.Bytes(), Built: now}, nil
}
