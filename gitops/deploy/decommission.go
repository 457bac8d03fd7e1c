package deploy

import (
	"path"
	"slices"
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"sigs.k8s.io/yaml"

	"github.com/meridianhq/meridian"
)

// keepProtected adds to desired every file of current that belongs to a
// protected target (meridian.Plan.ProtectedTargets): a protected target
// that left the config is never destroyed, so its Applications and
// Crossplane resources stay in the deploy repo as they are, and no move
// away from it ever removes them.
func keepProtected(current, desired Tree, protected map[string]bool) {
	if len(protected) == 0 {
		return
	}
	for p, b := range current {
		_, t, ok := Owner(p)
		if !ok {
			t, ok = SiteOwner(p) // the site's network objects stay too
		}
		if ok && protected[t] {
			if _, in := desired[p]; !in {
				desired[p] = b
			}
		}
	}
}

// removedResource reads what deleting a Crossplane resource file of the
// deploy tree (infra/<workload>/<target>/<name>.yaml) does: nil for other
// files and for files that do not parse. A namespaced (v2) managed
// resource orphans its cloud resource when its management policies lack
// Delete; a cluster-scoped (v1) one when spec.deletionPolicy is Orphan;
// anything else, composite resources included, is deleted.
func removedResource(p string, b []byte) *meridian.DeployResource {
	if !strings.HasPrefix(p, infraDir+"/") {
		return nil
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			DeletionPolicy     xpv1.DeletionPolicy     `json:"deletionPolicy"`
			ManagementPolicies xpv1.ManagementPolicies `json:"managementPolicies"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil || m.Kind == "" {
		return nil
	}
	r := &meridian.DeployResource{APIVersion: m.APIVersion, Kind: m.Kind, Namespace: m.Metadata.Namespace, Name: m.Metadata.Name,
		DeletionPolicy: meridian.DeletionDelete}
	if r.Name == "" {
		r.Name = strings.TrimSuffix(path.Base(p), ".yaml")
	}
	mp := m.Spec.ManagementPolicies
	if m.Spec.DeletionPolicy == xpv1.DeletionOrphan ||
		(len(mp) > 0 && !slices.Contains(mp, xpv1.ManagementActionAll) && !slices.Contains(mp, xpv1.ManagementActionDelete)) {
		r.DeletionPolicy = meridian.DeletionOrphan
	}
	return r
}

// placementFiles lists the files tree holds for workload on target (with
// prefix, deploy.path, in front), sorted, and the Crossplane resources
// among them: what removing the placement deletes.
func placementFiles(tree Tree, workload, target, prefix string) ([]string, []meridian.DeployResource) {
	var files []string
	var resources []meridian.DeployResource
	for _, p := range tree.Paths() {
		if w, t, ok := Owner(p); !ok || w != workload || t != target {
			continue
		}
		files = append(files, path.Join(prefix, p))
		if r := removedResource(p, tree[p]); r != nil {
			resources = append(resources, *r)
		}
	}
	return files, resources
}
