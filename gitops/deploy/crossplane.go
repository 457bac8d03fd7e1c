package deploy

import (
	"fmt"
	"regexp"
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	xpv2 "github.com/crossplane/crossplane-runtime/v2/apis/common/v2"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meridianhq/meridian"
)

// manifest is one rendered resource and its file name in the placement's
// infra folder.
type manifest struct {
	file string
	obj  any
}

// managed is a Crossplane v2 namespaced managed resource. The parts every
// managed resource shares (metadata, provider config reference, management
// policies) are crossplane-runtime's own types, so they follow the contract
// the providers implement; forProvider is each cloud's, below.
type managed struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       managedSpec       `json:"spec"`
}

type managedSpec struct {
	ForProvider any `json:"forProvider"`
	// The runtime's spec is embedded, so its fields sit next to forProvider.
	xpv2.ManagedResourceSpec
}

// orphanPolicies are the management policies of a resource whose cloud
// object must outlive it: every action but Delete. Namespaced (v2) managed
// resources have no spec.deletionPolicy; Crossplane expresses Orphan this
// way instead.
var orphanPolicies = xpv1.ManagementPolicies{
	xpv1.ManagementActionObserve, xpv1.ManagementActionCreate,
	xpv1.ManagementActionUpdate, xpv1.ManagementActionLateInitialize,
}

// managementPolicies maps a deletion policy onto the management policies
// that carry it: nil (the CRD's default, all actions) for Delete.
func managementPolicies(p xpv1.DeletionPolicy) xpv1.ManagementPolicies {
	if p == xpv1.DeletionOrphan {
		return orphanPolicies
	}
	return nil
}

// ref points at another managed resource in the same namespace; Crossplane
// resolves it to that resource's external name or ID.
type ref struct {
	Name string `json:"name"`
}

// placementCtx is what every resource of one placement shares.
type placementCtx struct {
	w   *meridian.Workload
	t   *meridian.Target
	ns  string
	pcr xpv1.ProviderConfigReference
	cmk bool
}

// crossplaneNamespace is the namespace of a placement's Crossplane
// resources: crossplane.destination.namespace, or the workload's name.
func crossplaneNamespace(w *meridian.Workload, t *meridian.Target) string {
	if ns := t.Crossplane.Destination.Namespace; ns != "" {
		return ns
	}
	return w.Name
}

// crossplaneObjects renders the cloud resources of w on a crossplane target:
// the provider's managed resources, or one composite resource when the
// target names the user's own XRD.
func crossplaneObjects(w *meridian.Workload, t *meridian.Target, flows []meridian.Flow) ([]manifest, error) {
	pc := t.Crossplane.ProviderConfig
	c := &placementCtx{
		w: w, t: t, ns: crossplaneNamespace(w, t),
		pcr: xpv1.ProviderConfigReference{Kind: pc.Kind, Name: pc.Name},
		cmk: w.Requires.Encryption >= meridian.EncryptionCustomerManaged,
	}
	if c.pcr.Kind == "" {
		c.pcr.Kind = "ClusterProviderConfig"
	}
	if c.pcr.Name == "" {
		c.pcr.Name = "default"
	}
	if x := t.Crossplane.Composite; x != nil {
		return []manifest{c.composite(x)}, nil
	}
	// The cloud firewalls open the cross-target part of the flows.
	rules, err := cloudRules(w, t, flows)
	if err != nil {
		return nil, err
	}
	switch t.Provider {
	case meridian.ProviderAWS:
		return append(c.aws(), c.awsFirewall(rules)...), nil
	case meridian.ProviderAzure:
		return append(c.azure(), c.azureFirewall(rules)...), nil
	case meridian.ProviderGCP:
		return append(c.gcp(), c.gcpFirewall(rules)...), nil
	}
	return nil, meridian.Errorf(meridian.EINVALID, "target %s: engine crossplane on %s needs crossplane.composite", t.Name, t.Provider)
}

// mr builds a managed resource named workload.target.suffix in the
// placement's namespace; the workload and target keep names apart when
// several placements share a namespace (crossplane.destination.namespace).
// externalName is the cloud-side name; empty leaves the annotation out (see
// awsKey). deletion says what becomes of the cloud object when the managed
// resource is deleted.
func (c *placementCtx) mr(apiVersion, kind, suffix, externalName string, deletion xpv1.DeletionPolicy, forProvider any) manifest {
	pcr := c.pcr
	m := managed{
		APIVersion: apiVersion,
		Kind:       kind,
		Metadata: metav1.ObjectMeta{
			Name:      c.name(suffix),
			Namespace: c.ns,
			Labels:    c.labels(),
		},
		Spec: managedSpec{ForProvider: forProvider, ManagedResourceSpec: xpv2.ManagedResourceSpec{
			ProviderConfigReference: &pcr,
			ManagementPolicies:      managementPolicies(deletion),
		}},
	}
	if externalName != "" {
		meta.SetExternalName(&m.Metadata, externalName)
	}
	return manifest{file: suffix + ".yaml", obj: m}
}

// labels mark a resource as Meridian's, for the placement: the observer
// (gitops/crossplane) finds what to read back by them.
func (c *placementCtx) labels() map[string]string {
	return map[string]string{LabelManagedBy: managedBy, LabelWorkload: c.w.Name, LabelTarget: c.t.Name}
}

// name is the Kubernetes name of the placement's resource with suffix.
func (c *placementCtx) name(suffix string) string { return AppName(c.w.Name, c.t.Name) + "." + suffix }

// cloudTags are the workload's tags plus Meridian's own, for AWS tags and
// Azure tags.
func (c *placementCtx) cloudTags() map[string]string {
	out := map[string]string{"managed-by": managedBy, "meridian-workload": c.w.Name, "meridian-target": c.t.Name}
	for k, v := range c.w.Tags {
		out[k] = v
	}
	return out
}

var gcpLabelChars = regexp.MustCompile(`[^a-z0-9_-]`)

// gcpLabels are cloudTags made valid GCP labels: lower case, at most 63
// characters of [a-z0-9_-], keys starting with a letter.
func (c *placementCtx) gcpLabels() map[string]string {
	out := map[string]string{}
	for k, v := range c.cloudTags() {
		k = gcpLabelChars.ReplaceAllString(strings.ToLower(k), "_")
		if k == "" || k[0] < 'a' || k[0] > 'z' {
			k = "t_" + k
		}
		v = gcpLabelChars.ReplaceAllString(strings.ToLower(v), "_")
		out[trunc(k, 63)] = trunc(v, 63)
	}
	return out
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// cloudWatchRetention lists the retention periods CloudWatch Logs accepts.
var cloudWatchRetention = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// logRetention is the shortest CloudWatch retention that keeps logs at
// least days long; 0 (never expire) when none does or nothing is required.
func logRetention(days int) int {
	if days <= 0 {
		return 0
	}
	for _, r := range cloudWatchRetention {
		if r >= days {
			return r
		}
	}
	return 0
}

// Composite resources (the user's own XRD).

type composite struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       compositeSpec     `json:"spec"`
}

type compositeSpec struct {
	// Crossplane holds Crossplane v2's machinery fields of an XR.
	Crossplane *xrCrossplane `json:"crossplane,omitempty"`
	Parameters XRParameters  `json:"parameters"`
}

type xrCrossplane struct {
	CompositionRef ref `json:"compositionRef"`
}

// XRParameters is what Meridian writes into spec.parameters of a composite
// resource. A user's XRD must declare these fields (docs/gitops.md shows
// one); its Composition maps them onto managed resources.
type XRParameters struct {
	Workload string `json:"workload"`
	Target   string `json:"target"`
	Provider string `json:"provider"`
	Region   string `json:"region"`
	// Encryption is the workload's required level (none, provider-managed,
	// customer-managed, hsm).
	Encryption       string            `json:"encryption"`
	LogRetentionDays int               `json:"logRetentionDays"`
	StorageGB        float64           `json:"storageGB"`
	Tags             map[string]string `json:"tags"`
}

func (c *placementCtx) composite(x *meridian.CompositeRef) manifest {
	xr := composite{
		APIVersion: x.APIVersion,
		Kind:       x.Kind,
		Metadata: metav1.ObjectMeta{
			Name:      AppName(c.w.Name, c.t.Name),
			Namespace: c.ns,
			Labels:    c.labels(),
		},
		Spec: compositeSpec{Parameters: XRParameters{
			Workload: c.w.Name, Target: c.t.Name, Provider: string(c.t.Provider), Region: c.t.Region,
			Encryption: c.w.Requires.Encryption.String(), LogRetentionDays: c.w.Requires.LogRetentionDays,
			StorageGB: c.w.StorageGB, Tags: c.cloudTags(),
		}},
	}
	// Compositions commonly patch this onto the composed resources' names,
	// so the cloud names stay Meridian's.
	meta.SetExternalName(&xr.Metadata, AppName(c.w.Name, c.t.Name))
	if x.Composition != "" {
		xr.Spec.Crossplane = &xrCrossplane{CompositionRef: ref{Name: x.Composition}}
	}
	return manifest{file: strings.ToLower(x.Kind) + ".yaml", obj: xr}
}

func describe(w *meridian.Workload, t *meridian.Target) string {
	return fmt.Sprintf("Meridian: %s on %s", w.Name, t.Name)
}
