package aws

import (
	"context"
	"errors"
	"fmt"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/meridianhq/meridian"
)

// keys lists the region's KMS keys with their aliases, rotation and tags.
// Keys in a CloudHSM or external key store are hsm; AWS-managed keys are
// listed without tags (they have none worth judging).
func (inv *Inventory) keys(ctx context.Context) ([]meridian.LiveResource, error) {
	aliases := map[string]string{}
	ap := kms.NewListAliasesPaginator(inv.kms, &kms.ListAliasesInput{})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("kms list aliases: %w", err)
		}
		for _, a := range page.Aliases {
			if id := sdkaws.ToString(a.TargetKeyId); id != "" && aliases[id] == "" {
				aliases[id] = sdkaws.ToString(a.AliasName)
			}
		}
	}
	var out []meridian.LiveResource
	p := kms.NewListKeysPaginator(inv.kms, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("kms list keys: %w", err)
		}
		for _, e := range page.Keys {
			r, err := inv.key(ctx, sdkaws.ToString(e.KeyId), aliases)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (inv *Inventory) key(ctx context.Context, id string, aliases map[string]string) (meridian.LiveResource, error) {
	d, err := inv.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: sdkaws.String(id)})
	if err != nil {
		return meridian.LiveResource{}, fmt.Errorf("kms describe key %s: %w", id, err)
	}
	m := d.KeyMetadata
	info := &meridian.LiveKeyInfo{
		Level:           meridian.EncryptionCustomerManaged,
		CustomerManaged: m.KeyManager == kmstypes.KeyManagerTypeCustomer,
		State:           string(m.KeyState),
	}
	switch {
	case !info.CustomerManaged:
		info.Level = meridian.EncryptionProviderManaged
	case m.Origin == kmstypes.OriginTypeAwsCloudhsm || m.Origin == kmstypes.OriginTypeExternalKeyStore || sdkaws.ToString(m.CustomKeyStoreId) != "":
		info.Level = meridian.EncryptionHSM
	}
	name := aliases[id]
	if name == "" {
		name = id
	}
	r := meridian.LiveResource{Kind: meridian.LiveKey, ID: sdkaws.ToString(m.Arn), Name: name,
		Account: sdkaws.ToString(m.AWSAccountId), Key: info}
	if !info.CustomerManaged {
		return r, nil
	}
	// Rotation exists only for symmetric keys with AWS key material; for the
	// others (HSM, imported, asymmetric) KMS answers UnsupportedOperation,
	// which means "does not rotate".
	rot, err := inv.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: sdkaws.String(id)})
	var unsupported *kmstypes.UnsupportedOperationException
	switch {
	case errors.As(err, &unsupported):
	case err != nil:
		return r, fmt.Errorf("kms rotation status of %s: %w", id, err)
	default:
		info.RotationEnabled = rot.KeyRotationEnabled
	}
	r.Tags = map[string]string{}
	tp := kms.NewListResourceTagsPaginator(inv.kms, &kms.ListResourceTagsInput{KeyId: sdkaws.String(id)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			return r, fmt.Errorf("kms tags of %s: %w", id, err)
		}
		for _, t := range page.Tags {
			r.Tags[sdkaws.ToString(t.TagKey)] = sdkaws.ToString(t.TagValue)
		}
	}
	return r, nil
}
