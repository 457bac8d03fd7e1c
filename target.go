package meridian

// Provider is where a target runs.
type Provider string

// Providers Meridian knows.
const (
	ProviderAWS    Provider = "aws"
	ProviderAzure  Provider = "azure"
	ProviderGCP    Provider = "gcp"
	ProviderOnPrem Provider = "onprem"
	ProviderEdge   Provider = "edge"
)

// Valid reports whether p is a known provider.
func (p Provider) Valid() bool {
	switch p {
	case ProviderAWS, ProviderAzure, ProviderGCP, ProviderOnPrem, ProviderEdge:
		return true
	}
	return false
}

// Cloud reports whether p is a public cloud, whose capacity is unlimited
// unless a quota is declared and whose prices may come from the catalog.
func (p Provider) Cloud() bool {
	return p == ProviderAWS || p == ProviderAzure || p == ProviderGCP
}

// Engines that apply a target.
const (
	EngineTerraform  = "terraform"
	EngineCrossplane = "crossplane"
)

// Target is one place a workload can run: a cloud region, an on-prem
// cluster or an edge site.
type Target struct {
	Name                string            `json:"name"`
	Provider            Provider          `json:"provider"`
	Region              string            `json:"region"`
	Jurisdiction        string            `json:"jurisdiction"`
	Encryption          TargetEncryption  `json:"encryption"`
	LogRetentionMaxDays int               `json:"log_retention_max_days"`
	Capacity            Capacity          `json:"capacity"`
	Pricing             Pricing           `json:"pricing"`
	Engine              string            `json:"engine"`
	Labels              map[string]string `json:"labels,omitempty"`
	// Network is what the target's network provides (see network.go).
	Network TargetNetwork `json:"network,omitzero"`
	// Destination is the Argo CD cluster and namespace workloads go to.
	Destination Destination `json:"destination,omitzero"`
	// Crossplane tunes the managed resources of an engine: crossplane target.
	Crossplane CrossplaneTarget `json:"crossplane,omitzero"`
	// Terraform names the root module that applies this target. Nil means
	// Terraform has nothing to apply here: the target's placements go out
	// through the GitOps output only.
	Terraform *TerraformModule `json:"terraform,omitempty"`
	// Protect keeps the target from ever being destroyed: when it leaves
	// the config (or Terraform), its workspace, state and deploy-repo files
	// stay. Meridian remembers the flag as it was at the last apply, so
	// removing a protected target from the config does not unprotect it:
	// set protect: false and apply first.
	Protect bool `json:"protect,omitempty"`
	// Account is the cloud account scope `meridian audit` reads; nil when
	// the target is not audited.
	Account *TargetAccount `json:"account,omitempty"`
	Origin  Origin         `json:"-"`
}

// TargetAccount names where a target's live resources are: the scope an
// inventory reader lists. Credentials never come from here: they come
// from the provider's standard chain (AWS shared config and profiles,
// Azure DefaultAzureCredential, GCP Application Default Credentials, a
// kubeconfig).
type TargetAccount struct {
	// ID is the AWS account ID, Azure subscription ID or GCP project ID.
	// Kubernetes targets leave it empty.
	ID string `json:"id,omitempty"`
	// Profile is an AWS shared-config profile to read with.
	Profile string `json:"profile,omitempty"`
	// RoleARN is an AWS role to assume for reading (read-only, e.g.
	// arn:aws:iam::123456789012:role/meridian-audit).
	RoleARN string `json:"role_arn,omitempty"`
	// KubeContext is the kubeconfig context of an on-prem or edge
	// target's Kubernetes API.
	KubeContext string `json:"kube_context,omitempty"`
}

// TargetEncryption is a target's key-management capability.
type TargetEncryption struct {
	CustomerManagedKeys bool   `json:"customer_managed_keys"`
	HSM                 bool   `json:"hsm"`
	KMS                 string `json:"kms,omitempty"`
}

// Level is the strongest encryption the target can provide.
func (e TargetEncryption) Level() EncryptionLevel {
	switch {
	case e.HSM:
		return EncryptionHSM
	case e.CustomerManagedKeys:
		return EncryptionCustomerManaged
	case e.KMS != "":
		return EncryptionProviderManaged
	}
	return EncryptionNone
}

// Capacity bounds what a target can host. A zero value on a cloud target
// means unlimited; Limited says whether the bound applies.
type Capacity struct {
	VCPU      float64 `json:"vcpu,omitempty"`
	MemoryGiB float64 `json:"memory_gib,omitempty"`
}

// Limited reports whether the capacity is finite.
func (c Capacity) Limited() bool { return c.VCPU > 0 || c.MemoryGiB > 0 }

// Pricing is either the shipped catalog's price for provider+region, or
// explicit (amortized) rates.
type Pricing struct {
	Catalog        bool    `json:"catalog,omitempty"`
	VCPUHour       float64 `json:"vcpu_hour,omitempty"`
	GiBHour        float64 `json:"gib_hour,omitempty"`
	EgressGB       float64 `json:"egress_gb,omitempty"`
	StorageGBMonth float64 `json:"storage_gb_month,omitempty"`
}

// Rates are resolved unit prices in the plan's currency.
type Rates struct {
	VCPUHour       float64 `json:"vcpu_hour"`
	GiBHour        float64 `json:"gib_hour"`
	EgressGB       float64 `json:"egress_gb"`
	StorageGBMonth float64 `json:"storage_gb_month"`
	// Source says where the rates came from: "catalog:<provider>/<region>"
	// or "target".
	Source string `json:"source"`
}
