package deploy

import (
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"

	"github.com/meridianhq/meridian"
)

// The forProvider blocks below are checked against the upjet providers'
// namespaced CRDs (*.m.upbound.io, v1beta1) in testdata/schemas by the
// schema tests, and applied to a real API server by the e2e test.

// AWS (provider-upjet-aws).

type awsKey struct {
	Description          string            `json:"description"`
	EnableKeyRotation    bool              `json:"enableKeyRotation"`
	RotationPeriodInDays int               `json:"rotationPeriodInDays"`
	DeletionWindowInDays int               `json:"deletionWindowInDays"`
	Region               string            `json:"region"`
	Tags                 map[string]string `json:"tags"`
}

type awsLogGroup struct {
	Region          string            `json:"region"`
	RetentionInDays int               `json:"retentionInDays,omitempty"`
	Tags            map[string]string `json:"tags"`
}

type awsBucket struct {
	Region string            `json:"region"`
	Tags   map[string]string `json:"tags"`
}

type awsSSE struct {
	Region    string       `json:"region"`
	BucketRef ref          `json:"bucketRef"`
	Rule      []awsSSERule `json:"rule"`
}

type awsSSERule struct {
	ApplyServerSideEncryptionByDefault awsSSEDefault `json:"applyServerSideEncryptionByDefault"`
	BucketKeyEnabled                   bool          `json:"bucketKeyEnabled,omitempty"`
}

type awsSSEDefault struct {
	SSEAlgorithm      string `json:"sseAlgorithm"`
	KMSMasterKeyIDRef *ref   `json:"kmsMasterKeyIdRef,omitempty"`
}

// aws renders a KMS key (for customer-managed encryption), a CloudWatch Logs
// group kept as long as the workload requires, and an S3 bucket with its
// encryption in the separate server-side-encryption resource (the bucket's
// inline SSE block is deprecated).
//
// The KMS key has no external-name annotation: AWS assigns key IDs, and the
// provider writes the ID into the annotation after creating the key. A
// rendered value would differ from it, Argo CD would put the rendered value
// back, and the provider would then look for a key that does not exist and
// create another one.
func (c *placementCtx) aws() []manifest {
	region, tags := c.t.Region, c.cloudTags()
	var out []manifest
	sse := awsSSEDefault{SSEAlgorithm: "AES256"}
	if c.cmk {
		out = append(out, c.mr("kms.aws.m.upbound.io/v1beta1", "Key", "key", "", xpv1.DeletionDelete, awsKey{
			Description: describe(c.w, c.t), EnableKeyRotation: true, RotationPeriodInDays: 365,
			DeletionWindowInDays: 30, Region: region, Tags: tags,
		}))
		sse = awsSSEDefault{SSEAlgorithm: "aws:kms", KMSMasterKeyIDRef: &ref{Name: c.name("key")}}
	}
	out = append(out, c.mr("cloudwatchlogs.aws.m.upbound.io/v1beta1", "Group", "logs", "/meridian/"+c.w.Name, xpv1.DeletionDelete, awsLogGroup{
		Region: region, RetentionInDays: logRetention(c.w.Requires.LogRetentionDays), Tags: tags,
	}))
	bucket := globalName(c.w.Name+"-"+region, c.w.Name, c.t.Name, 63)
	out = append(out,
		c.mr("s3.aws.m.upbound.io/v1beta1", "Bucket", "bucket", bucket, xpv1.DeletionDelete, awsBucket{Region: region, Tags: tags}),
		// The provider identifies the configuration by its bucket's name.
		c.mr("s3.aws.m.upbound.io/v1beta1", "BucketServerSideEncryptionConfiguration", "bucket-sse", bucket, xpv1.DeletionDelete, awsSSE{
			Region: region, BucketRef: ref{Name: c.name("bucket")},
			Rule: []awsSSERule{{ApplyServerSideEncryptionByDefault: sse, BucketKeyEnabled: c.cmk}},
		}),
	)
	return out
}

// Azure (provider-upjet-azure).

type azureResourceGroup struct {
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
}

type azureVault struct {
	Location                string            `json:"location"`
	ResourceGroupNameRef    ref               `json:"resourceGroupNameRef"`
	SkuName                 string            `json:"skuName"`
	TenantID                string            `json:"tenantId"`
	PurgeProtectionEnabled  bool              `json:"purgeProtectionEnabled"`
	SoftDeleteRetentionDays int               `json:"softDeleteRetentionDays"`
	Tags                    map[string]string `json:"tags"`
}

// azure renders a resource group and a Key Vault in it: premium (HSM-backed
// keys) when the workload requires hsm, with purge protection when it
// requires customer-managed keys, as Azure demands for CMK use.
func (c *placementCtx) azure() []manifest {
	loc, tags := c.t.Region, c.cloudTags()
	sku := "standard"
	if c.w.Requires.Encryption >= meridian.EncryptionHSM {
		sku = "premium"
	}
	// Vault names are global, 3-24 characters, and may not hold "--".
	vault := globalName("kv-"+c.w.Name, c.w.Name, c.t.Name, 24)
	return []manifest{
		c.mr("azure.m.upbound.io/v1beta1", "ResourceGroup", "rg", dnsLabel("meridian-"+c.w.Name+"-"+loc, 90), xpv1.DeletionDelete, azureResourceGroup{Location: loc, Tags: tags}),
		c.mr("keyvault.azure.m.upbound.io/v1beta1", "Vault", "vault", vault, xpv1.DeletionDelete, azureVault{
			Location: loc, ResourceGroupNameRef: ref{Name: c.name("rg")}, SkuName: sku,
			TenantID: c.t.Crossplane.TenantID, PurgeProtectionEnabled: c.cmk, SoftDeleteRetentionDays: 90, Tags: tags,
		}),
	}
}

// GCP (provider-upjet-gcp).

type gcpKeyRing struct {
	Location string `json:"location"`
	Project  string `json:"project"`
}

type gcpCryptoKey struct {
	KeyRingRef      ref                 `json:"keyRingRef"`
	RotationPeriod  string              `json:"rotationPeriod"`
	VersionTemplate *gcpVersionTemplate `json:"versionTemplate,omitempty"`
	Labels          map[string]string   `json:"labels"`
}

type gcpVersionTemplate struct {
	Algorithm       string `json:"algorithm"`
	ProtectionLevel string `json:"protectionLevel"`
}

type gcpBucket struct {
	Location                 string            `json:"location"`
	Project                  string            `json:"project"`
	UniformBucketLevelAccess bool              `json:"uniformBucketLevelAccess"`
	PublicAccessPrevention   string            `json:"publicAccessPrevention"`
	Encryption               *gcpEncryption    `json:"encryption,omitempty"`
	Labels                   map[string]string `json:"labels"`
}

type gcpEncryption struct {
	DefaultKMSKeyName string `json:"defaultKmsKeyName"`
}

// gcp renders, for customer-managed encryption, a key ring and a crypto key
// rotated every 90 days (HSM-protected when the workload requires hsm), and
// a Storage bucket encrypted with that key. Key rings and keys cannot be
// deleted in GCP, so their names only depend on the workload, and they are
// orphaned: deleting a CryptoKey's managed resource destroys every version
// of the key, which would leave the bucket's data unreadable and the key
// unusable when the workload comes back and the resource adopts it again.
func (c *placementCtx) gcp() []manifest {
	loc, project, labels := c.t.Region, c.t.Crossplane.Project, c.gcpLabels()
	var out []manifest
	bucket := gcpBucket{
		Location: strings.ToUpper(loc), Project: project, UniformBucketLevelAccess: true,
		PublicAccessPrevention: "enforced", Labels: labels,
	}
	if c.cmk {
		ring, key := "meridian-"+c.w.Name, c.w.Name
		ck := gcpCryptoKey{KeyRingRef: ref{Name: c.name("keyring")}, RotationPeriod: "7776000s", Labels: labels}
		if c.w.Requires.Encryption >= meridian.EncryptionHSM {
			ck.VersionTemplate = &gcpVersionTemplate{Algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION", ProtectionLevel: "HSM"}
		}
		out = append(out,
			c.mr("kms.gcp.m.upbound.io/v1beta1", "KeyRing", "keyring", ring, xpv1.DeletionOrphan, gcpKeyRing{Location: loc, Project: project}),
			c.mr("kms.gcp.m.upbound.io/v1beta1", "CryptoKey", "key", key, xpv1.DeletionOrphan, ck),
		)
		bucket.Encryption = &gcpEncryption{DefaultKMSKeyName: "projects/" + project + "/locations/" + loc + "/keyRings/" + ring + "/cryptoKeys/" + key}
	}
	out = append(out, c.mr("storage.gcp.m.upbound.io/v1beta1", "Bucket", "bucket", globalName(c.w.Name+"-"+loc, c.w.Name, c.t.Name, 63), xpv1.DeletionDelete, bucket))
	return out
}
