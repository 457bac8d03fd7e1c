package gcp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	kms "cloud.google.com/go/kms/apiv1"
	logging "cloud.google.com/go/logging/apiv2"
	"cloud.google.com/go/storage"
	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
	"google.golang.org/api/option"
)

// The Google API services an Inventory reads, named as Google names them in
// IAM and in "API not enabled" errors.
const (
	serviceKMS     = "cloudkms.googleapis.com"
	serviceStorage = "storage.googleapis.com"
	serviceLogging = "logging.googleapis.com"
)

// InventoryOptions configure the clients of an Inventory.
type InventoryOptions struct {
	// Common apply to every client: credentials, quota project, user agent.
	// Without credentials options the clients use Application Default
	// Credentials.
	Common []option.ClientOption
	// KMS, Storage and Logging apply to one service's client only, after
	// Common: an endpoint per service, for Private Service Connect
	// endpoints, mirrors and test servers.
	KMS, Storage, Logging []option.ClientOption
	// PageSize is the page size every list asks for; 0 leaves each
	// service's default.
	PageSize int
}

// Inventory reads what runs in one Google Cloud project, read-only, through
// the cloud.google.com/go clients: Cloud KMS keys, Cloud Storage buckets and
// Cloud Logging buckets. It needs roles/cloudkms.viewer,
// roles/storage.bucketViewer (or storage.buckets.list) and
// roles/logging.viewer on the project.
type Inventory struct {
	project  string
	kms      *kms.KeyManagementClient
	storage  *storage.Client
	logging  *logging.ConfigClient
	pageSize int
}

// NewInventory returns an Inventory of projectID whose clients all take
// opts; with no credentials options they use Application Default
// Credentials. Close it when done.
func NewInventory(ctx context.Context, projectID string, opts ...option.ClientOption) (*Inventory, error) {
	return NewInventoryWithOptions(ctx, projectID, InventoryOptions{Common: opts})
}

// NewInventoryWithOptions is NewInventory with per-service client options.
func NewInventoryWithOptions(ctx context.Context, projectID string, o InventoryOptions) (*Inventory, error) {
	if projectID == "" {
		return nil, errors.New("gcp inventory: project ID is empty")
	}
	if o.PageSize < 0 || o.PageSize > math.MaxInt32 {
		return nil, fmt.Errorf("gcp inventory of %s: page size %d is out of range", projectID, o.PageSize)
	}
	inv := &Inventory{project: projectID, pageSize: o.PageSize}
	var err error
	if inv.kms, err = kms.NewKeyManagementClient(ctx, slices.Concat(o.Common, o.KMS)...); err != nil {
		return nil, fmt.Errorf("gcp inventory of %s: %s client: %w", projectID, serviceKMS, err)
	}
	if inv.storage, err = storage.NewClient(ctx, slices.Concat(o.Common, o.Storage)...); err != nil {
		inv.Close()
		return nil, fmt.Errorf("gcp inventory of %s: %s client: %w", projectID, serviceStorage, err)
	}
	if inv.logging, err = logging.NewConfigClient(ctx, slices.Concat(o.Common, o.Logging)...); err != nil {
		inv.Close()
		return nil, fmt.Errorf("gcp inventory of %s: %s client: %w", projectID, serviceLogging, err)
	}
	return inv, nil
}

// Close closes the clients.
func (inv *Inventory) Close() error {
	var errs []error
	// Fields are nil when construction failed halfway.
	if inv.kms != nil {
		errs = append(errs, inv.kms.Close())
	}
	if inv.storage != nil {
		errs = append(errs, inv.storage.Close())
	}
	if inv.logging != nil {
		errs = append(errs, inv.logging.Close())
	}
	return errors.Join(errs...)
}

// Project returns the project the Inventory reads.
func (inv *Inventory) Project() string { return inv.project }

// Resources lists the project's KMS keys, buckets and log buckets, sorted
// by ID. The three services are read concurrently and independently: when
// one fails (permission denied, API not enabled), Resources still returns
// what the others listed, with a *meridian.LiveReadError per failed
// service (joined) naming the service, the project and the kinds left
// incomplete. A bucket or log bucket whose CMEK key is an HSM key of the
// same project gets encryption level hsm.
func (inv *Inventory) Resources(ctx context.Context) ([]meridian.LiveResource, error) {
	all, err := providers.ReadInventory(ctx, meridian.ProviderGCP, inv.project, []providers.InventoryService{
		{Name: serviceKMS, Kinds: []string{meridian.LiveKey}, Read: inv.keys},
		{Name: serviceStorage, Kinds: []string{meridian.LiveBucket}, Read: inv.buckets},
		{Name: serviceLogging, Kinds: []string{meridian.LiveLogStore}, Read: inv.logBuckets},
	})
	markHSMKeys(all)
	return all, err
}

// markHSMKeys raises the encryption level of resources whose customer key
// is one of the HSM keys in res: the bucket and log bucket listings name
// the key but not where it lives.
func markHSMKeys(res []meridian.LiveResource) {
	hsm := map[string]bool{}
	for _, r := range res {
		if r.Key != nil && r.Key.Level == meridian.EncryptionHSM {
			hsm[strings.TrimPrefix(r.ID, kmsResourcePrefix)] = true
		}
	}
	for i := range res {
		if e := res[i].Encryption; e != nil && e.Level == meridian.EncryptionCustomerManaged && hsm[keyName(e.KeyID)] {
			e.Level = meridian.EncryptionHSM
		}
	}
}

// keyName drops a /cryptoKeyVersions/N suffix from a KMS key or key
// version name.
func keyName(name string) string {
	if i := strings.Index(name, "/cryptoKeyVersions/"); i >= 0 {
		return name[:i]
	}
	return name
}

// location returns the location segment of a resource name like
// projects/P/locations/L/..., or "".
func location(name string) string {
	parts := strings.Split(name, "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "locations" {
			return parts[i+1]
		}
	}
	return ""
}

// lastSegment returns what follows the last slash of a resource name.
func lastSegment(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// cmekEncryption is the encryption of data kept with keyName as its
// customer-managed key, or with Google's default keys when it is empty.
func cmekEncryption(keyName string) *meridian.LiveEncryption {
	if keyName == "" {
		return &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}
	}
	return &meridian.LiveEncryption{Level: meridian.EncryptionCustomerManaged, KeyID: keyName}
}
