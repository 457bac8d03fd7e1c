package meridian

import (
	"fmt"
	"strings"
)

// Kinds of a DestroyItem.
const (
	DestroyTarget   = "target"
	DestroyWorkload = "workload"
)

// Why a DestroyItem is decommissioned.
const (
	// DestroyRemoved: the target or workload is no longer in the config.
	DestroyRemoved = "removed from the config"
	// DestroyNoTerraform: the target is still in the config, but Terraform
	// no longer applies it (its engine or terraform.module changed), so its
	// Terraform workspace is orphaned.
	DestroyNoTerraform = "no longer applied by Terraform"
)

// Deletion policies of a Crossplane resource being deleted, as
// crossplane-runtime names them.
const (
	// DeletionDelete: deleting the managed resource deletes the cloud
	// resource.
	DeletionDelete = "Delete"
	// DeletionOrphan: the cloud resource is left behind, unmanaged.
	DeletionOrphan = "Orphan"
)

// DestroyItem is a target or workload that left the config (or Terraform)
// while Meridian still runs something for it, and what an apply of the
// plan would destroy for it. Applying such a plan needs consent
// (meridian apply --allow-destroy, a pull-request approval or an
// operator's approval through the API), unless the item is protected, in
// which case nothing of it is destroyed.
type DestroyItem struct {
	// Kind is DestroyTarget or DestroyWorkload.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Reason is DestroyRemoved or DestroyNoTerraform.
	Reason string `json:"reason"`
	// Protected is set for a target marked protect: true in the config or
	// when it was last applied: it is never destroyed, and nothing below is
	// done (its workspace, state and deploy-repo files stay).
	Protected bool `json:"protected,omitempty"`
	// Terraform lists the Terraform resources destroyed, per target: the
	// whole workspace of a decommissioned target (a destroy plan), or a
	// removed workload's resources on each target it ran on.
	Terraform []DestroyTerraform `json:"terraform,omitempty"`
	// DeployFiles are the deploy-repo files the apply prunes for it, so
	// that Argo CD deletes its Applications (cascading).
	DeployFiles []string `json:"deploy_files,omitempty"`
	// Moving are the deploy-repo files of a removed target that a
	// make-before-break move keeps until its workloads run elsewhere: the
	// move removes them then, in this apply (with Argo CD) or a later one.
	Moving []string `json:"moving,omitempty"`
	// Crossplane are the Crossplane resources among DeployFiles and
	// Moving, each with what deleting it does to the cloud resource.
	Crossplane []DeployResource `json:"crossplane,omitempty"`
}

// Key names the item across plans: "target/NAME" or "workload/NAME".
func (d DestroyItem) Key() string { return d.Kind + "/" + d.Name }

// Empty reports whether nothing would be destroyed for the item.
func (d DestroyItem) Empty() bool {
	n := len(d.DeployFiles) + len(d.Moving)
	for _, t := range d.Terraform {
		n += t.Resources
	}
	return n == 0
}

// Summary says in one line what destroying the item means.
func (d DestroyItem) Summary() string {
	if d.Protected {
		return "protected (protect: true): nothing is destroyed"
	}
	var parts []string
	for _, t := range d.Terraform {
		switch {
		case t.Error != "":
			parts = append(parts, fmt.Sprintf("Terraform on %s not planned: %s", t.Target, t.Error))
		default:
			parts = append(parts, fmt.Sprintf("%d Terraform resource(s) on %s", t.Resources, t.Target))
		}
	}
	if n := len(d.DeployFiles); n > 0 {
		parts = append(parts, fmt.Sprintf("%d deploy-repo file(s)", n))
	}
	if n := len(d.Moving); n > 0 {
		parts = append(parts, fmt.Sprintf("%d deploy-repo file(s) once the moves away from it complete", n))
	}
	del, orphan := 0, 0
	for _, r := range d.Crossplane {
		if r.DeletionPolicy == DeletionOrphan {
			orphan++
		} else {
			del++
		}
	}
	if del+orphan > 0 {
		parts = append(parts, fmt.Sprintf("%d Crossplane resource(s) deleted in the cloud, %d orphaned", del, orphan))
	}
	if len(parts) == 0 {
		return "nothing found to destroy"
	}
	return strings.Join(parts, ", ")
}

// DestroyTerraform is what Terraform destroys on one target for a
// DestroyItem.
type DestroyTerraform struct {
	Target string `json:"target"`
	// Resources counts the resource instances destroyed.
	Resources int `json:"resources"`
	// Addresses are their addresses, sorted.
	Addresses []string `json:"addresses"`
	// Error says why the target's destroy could not be planned.
	Error string `json:"error,omitempty"`
}

// DeployResource is a Crossplane managed or composite resource of the
// deploy repo, as a plan deletes it.
type DeployResource struct {
	APIVersion string `json:"api_version"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// DeletionPolicy is DeletionDelete when deleting the resource deletes
	// the cloud resource (spec.deletionPolicy Delete, or management
	// policies that include Delete, the default), DeletionOrphan when the
	// cloud resource is left behind.
	DeletionPolicy string `json:"deletion_policy"`
}

// NeedsDestroyConsent returns the items of the plan an apply destroys
// something of: neither protected nor empty. An apply of the plan needs
// consent for each of them.
func (p *Plan) NeedsDestroyConsent() []DestroyItem {
	var out []DestroyItem
	for _, d := range p.Destroy {
		if !d.Protected && !d.Empty() {
			out = append(out, d)
		}
	}
	return out
}

// ProtectedTargets returns the names of the protected targets of the
// plan's destroy section: an apply keeps everything they have.
func (p *Plan) ProtectedTargets() map[string]bool {
	out := map[string]bool{}
	for _, d := range p.Destroy {
		if d.Protected && d.Kind == DestroyTarget {
			out[d.Name] = true
		}
	}
	return out
}
