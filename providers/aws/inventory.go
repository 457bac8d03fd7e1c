package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/meridianhq/meridian"
)

// InventoryOptions says which account and region an Inventory reads, and
// how. Credentials always come from the SDK's default chain (environment,
// shared config and credentials files, SSO, web identity, IMDS), narrowed
// by Profile and RoleARN.
type InventoryOptions struct {
	// Region is the target's region. Required.
	Region string
	// AccountID, when set, is checked against the ARNs read: credentials
	// for another account would report every resource as undeclared.
	AccountID string
	// Profile is a shared-config profile (AWS_PROFILE otherwise).
	Profile string
	// RoleARN is a role to assume, through STS, for reading.
	RoleARN string
	// Endpoint overrides every service's endpoint (tests, private
	// mirrors); AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> work too,
	// through the SDK's own configuration.
	Endpoint string
	// LoadOptions are passed to config.LoadDefaultConfig after Meridian's
	// own (tests set static credentials and retry limits here).
	LoadOptions []func(*config.LoadOptions) error
}

// Inventory reads what runs in one AWS account and region, read-only:
// S3 buckets (default encryption and its KMS key), KMS keys (manager,
// rotation, origin or custom key store), CloudWatch Logs log groups
// (retention, key) and EC2 instances and EKS clusters, with their tags.
// Every call goes through the SDK clients, with their signing, retries and
// paginators.
type Inventory struct {
	region  string
	account string
	s3      *s3.Client
	kms     *kms.Client
	logs    *cloudwatchlogs.Client
	ec2     *ec2.Client
	eks     *eks.Client
}

// NewInventory loads the AWS configuration for opts and returns an
// Inventory. It does not call AWS.
func NewInventory(ctx context.Context, opts InventoryOptions) (*Inventory, error) {
	if opts.Region == "" {
		return nil, errors.New("aws inventory: region is required")
	}
	load := []func(*config.LoadOptions) error{config.WithRegion(opts.Region)}
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	load = append(load, opts.LoadOptions...)
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("aws inventory: load config: %w", err)
	}
	if opts.Endpoint != "" {
		cfg.BaseEndpoint = sdkaws.String(opts.Endpoint)
	}
	if opts.RoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), opts.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "meridian-audit"
		})
		cfg.Credentials = sdkaws.NewCredentialsCache(provider)
	}
	return &Inventory{
		region:  opts.Region,
		account: opts.AccountID,
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			// A custom endpoint (a mirror, an emulator) rarely serves
			// virtual-hosted bucket names.
			o.UsePathStyle = cfg.BaseEndpoint != nil
		}),
		kms:  kms.NewFromConfig(cfg),
		logs: cloudwatchlogs.NewFromConfig(cfg),
		ec2:  ec2.NewFromConfig(cfg),
		eks:  eks.NewFromConfig(cfg),
	}, nil
}

// Resources lists the account's resources in the region. KMS keys come
// first, since buckets and log groups are judged by the key they use.
// AWS-managed keys are listed with CustomerManaged false.
func (inv *Inventory) Resources(ctx context.Context) ([]meridian.LiveResource, error) {
	keys, err := inv.keys(ctx)
	if err != nil {
		return nil, err
	}
	byRef := keyIndex(keys)
	out := slices.Clone(keys)
	for _, read := range []func(context.Context, keyLookup) ([]meridian.LiveResource, error){
		inv.buckets, inv.logGroups, inv.instances, inv.clusters,
	} {
		rs, err := read(ctx, byRef)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	for i := range out {
		out[i].Provider, out[i].Region = meridian.ProviderAWS, inv.region
		if out[i].Account == "" {
			out[i].Account = accountOf(out[i].ID)
		}
		if inv.account != "" && out[i].Account != "" && out[i].Account != inv.account {
			return nil, fmt.Errorf("aws inventory: %s belongs to account %s, not the target's account %s: check the profile or role", out[i].ID, out[i].Account, inv.account)
		}
	}
	return out, nil
}

// accountOf is the account field of an ARN, or "" (S3 bucket ARNs have
// none).
func accountOf(id string) string {
	a, err := arn.Parse(id)
	if err != nil {
		return ""
	}
	return a.AccountID
}

// keyLookup finds a key by any of the names a resource may use for it:
// key ID, key ARN, alias name or alias ARN.
type keyLookup map[string]*meridian.LiveResource

func keyIndex(keys []meridian.LiveResource) keyLookup {
	idx := keyLookup{}
	for i := range keys {
		k := &keys[i]
		idx[k.ID] = k
		idx[k.Name] = k
		if a, err := arn.Parse(k.ID); err == nil {
			idx[strings.TrimPrefix(a.Resource, "key/")] = k
		}
	}
	return idx
}

// encryption is the LiveEncryption of data encrypted with keyRef: the
// key's own level when it is a customer-managed key of this account, the
// provider's level for AWS-managed keys (aws/s3, aws/logs), and
// customer-managed for a key Meridian cannot see (another account's).
func (idx keyLookup) encryption(keyRef string) *meridian.LiveEncryption {
	if keyRef == "" {
		return &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}
	}
	k := idx[keyRef]
	if k == nil {
		if a, err := arn.Parse(keyRef); err == nil {
			k = idx[strings.TrimPrefix(a.Resource, "key/")]
			if k == nil && strings.HasPrefix(a.Resource, "alias/aws/") {
				return &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged, KeyID: keyRef}
			}
		}
	}
	switch {
	case k == nil && strings.HasPrefix(keyRef, "alias/aws/"):
		return &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged, KeyID: keyRef}
	case k == nil:
		return &meridian.LiveEncryption{Level: meridian.EncryptionCustomerManaged, KeyID: keyRef}
	case !k.Key.CustomerManaged:
		return &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged, KeyID: k.ID}
	}
	return &meridian.LiveEncryption{Level: k.Key.Level, KeyID: k.ID}
}
