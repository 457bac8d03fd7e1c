package meridian

// Live resource kinds: provider-neutral names for what an inventory reader
// finds in a cloud account or a cluster.
const (
	// LiveBucket is an S3 bucket, an Azure storage account or a GCS bucket.
	LiveBucket = "bucket"
	// LiveKey is a KMS key (AWS, GCP) or an Azure Key Vault.
	LiveKey = "key"
	// LiveLogStore is a CloudWatch log group, a Log Analytics workspace or a
	// Cloud Logging bucket.
	LiveLogStore = "log-store"
	// LiveVM is an EC2 instance, an Azure VM or a Compute Engine instance.
	LiveVM = "vm"
	// LiveCluster is an EKS, AKS or GKE cluster.
	LiveCluster = "cluster"
	// LiveResourceGroup is an Azure resource group.
	LiveResourceGroup = "resource-group"
	// LiveNamespace and LiveWorkload are what Meridian deployed to a
	// Kubernetes target.
	LiveNamespace = "namespace"
	LiveWorkload  = "workload"
)

// LiveResource is one resource an inventory reader found running, as
// opposed to what the config declares. Readers fill what the provider
// reports; the audit fills Target and Workload from the tags.
type LiveResource struct {
	Provider Provider `json:"provider"`
	// Kind is one of the Live* kinds.
	Kind string `json:"kind"`
	// ID is the provider's unique ID: an ARN, an Azure resource ID, a GCP
	// full resource name, or namespace/kind/name in a cluster.
	ID     string `json:"id"`
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`
	// Account is the AWS account, Azure subscription or GCP project.
	Account string `json:"account,omitempty"`
	// Tags are AWS and Azure tags, GCP and Kubernetes labels.
	Tags map[string]string `json:"tags,omitempty"`
	// Encryption protects a data-holding resource (bucket, log store);
	// nil when the kind holds no data or the reader could not tell.
	Encryption *LiveEncryption `json:"encryption,omitempty"`
	// Key describes a LiveKey resource.
	Key *LiveKeyInfo `json:"key,omitempty"`
	// RetentionDays is a log store's retention; 0 means kept forever.
	RetentionDays int `json:"retention_days,omitempty"`
	// Target and Workload own the resource, resolved from its tags by the
	// audit; empty when unresolved.
	Target   string `json:"target,omitempty"`
	Workload string `json:"workload,omitempty"`
}

// LiveEncryption is the key management protecting a resource's data.
type LiveEncryption struct {
	// Level is provider-managed for the provider's default keys,
	// customer-managed for a customer key and hsm when that key lives in
	// an HSM; none when the data is not encrypted at rest.
	Level EncryptionLevel `json:"level"`
	// KeyID names the key (ARN, Key Vault key URL, GCP key name).
	KeyID string `json:"key_id,omitempty"`
}

// LiveKeyInfo describes a key or key vault.
type LiveKeyInfo struct {
	// Level is customer-managed, or hsm for HSM-backed keys (AWS custom
	// key stores, Azure premium vaults, GCP protection level HSM).
	Level EncryptionLevel `json:"level"`
	// CustomerManaged is false for provider-managed keys (AWS key manager
	// AWS, for example), which audits usually skip.
	CustomerManaged bool `json:"customer_managed"`
	RotationEnabled bool `json:"rotation_enabled"`
	// PurgeProtection is Azure Key Vault's purge protection.
	PurgeProtection bool `json:"purge_protection,omitempty"`
	// State is the provider's key state (Enabled, PendingDeletion, ...).
	State string `json:"state,omitempty"`
}
