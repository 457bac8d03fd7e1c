package inventory

import (
	"strings"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
)

// Cloud tags Meridian puts on what it creates (gitops/deploy's Crossplane
// resources, the reference Terraform modules), and the names those modules
// give log groups and key aliases. Kubernetes objects carry deploy's
// labels instead.
const (
	TagWorkload    = "meridian-workload"
	TagTarget      = "meridian-target"
	TagManagedBy   = "managed-by"
	managedByValue = "meridian"
	logGroupPrefix = "/meridian/"
	keyAliasPrefix = "alias/meridian/"
)

// owner is who a live resource belongs to, as its tags say.
type owner struct {
	// Workload and Target are the names the tags give (or the naming
	// convention of the reference modules implies), whether or not the
	// config declares them.
	Workload, Target string
	// Managed is set when the resource says Meridian made it.
	Managed bool
}

// ownerOf reads r's owner from its tags and labels, then from the names
// the reference Terraform modules give log groups
// (/meridian/TARGET/WORKLOAD) and key aliases (alias/meridian/TARGET/WORKLOAD).
func ownerOf(r *meridian.LiveResource) owner {
	o := owner{
		Workload: first(r.Tags[TagWorkload], r.Tags[deploy.LabelWorkload]),
		Target:   first(r.Tags[TagTarget], r.Tags[deploy.LabelTarget]),
		Managed:  r.Tags[TagManagedBy] == managedByValue || r.Tags[deploy.LabelManagedBy] == managedByValue,
	}
	for _, prefix := range []string{logGroupPrefix, keyAliasPrefix} {
		rest, ok := strings.CutPrefix(r.Name, prefix)
		if !ok {
			continue
		}
		if t, w, ok := strings.Cut(rest, "/"); ok && t != "" && w != "" && !strings.Contains(w, "/") {
			o.Target, o.Workload = first(o.Target, t), first(o.Workload, w)
			o.Managed = true
		}
	}
	if o.Workload != "" || o.Target != "" {
		o.Managed = true
	}
	return o
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
