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
	Protect bool   `json:"protect,omitempty"`
	Origin  Origin `json:"-"`
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
