package gcp

import (
	"context"
	"fmt"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/meridianhq/meridian"
	"golang.org/x/sync/errgroup"
	locationpb "google.golang.org/genproto/googleapis/cloud/location"
)

// kmsResourcePrefix makes a KMS resource name a full resource name, the ID
// form Cloud Asset Inventory uses.
const kmsResourcePrefix = "//cloudkms.googleapis.com/"

// kmsLocationReaders bounds the key-ring listings in flight: Cloud KMS has
// no location wildcard, so a project costs one listing per location (about
// fifty), which run sequentially would take seconds.
const kmsLocationReaders = 8

// keys lists the project's Cloud KMS crypto keys in every KMS location.
func (inv *Inventory) keys(ctx context.Context) ([]meridian.LiveResource, error) {
	var locations []string
	req := &locationpb.ListLocationsRequest{Name: "projects/" + inv.project, PageSize: int32(inv.pageSize)}
	for loc, err := range inv.kms.ListLocations(ctx, req).All() {
		if err != nil {
			return nil, fmt.Errorf("list locations: %w", err)
		}
		locations = append(locations, loc.GetLocationId())
	}
	found := make([][]meridian.LiveResource, len(locations))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(kmsLocationReaders)
	for i, loc := range locations {
		g.Go(func() error {
			var err error
			found[i], err = inv.keysIn(gctx, loc)
			return err
		})
	}
	err := g.Wait()
	var keys []meridian.LiveResource
	for _, f := range found {
		keys = append(keys, f...)
	}
	return keys, err
}

// keysIn lists the crypto keys of every key ring in one location.
func (inv *Inventory) keysIn(ctx context.Context, loc string) ([]meridian.LiveResource, error) {
	var keys []meridian.LiveResource
	parent := "projects/" + inv.project + "/locations/" + loc
	rings := inv.kms.ListKeyRings(ctx, &kmspb.ListKeyRingsRequest{Parent: parent, PageSize: int32(inv.pageSize)})
	for ring, err := range rings.All() {
		if err != nil {
			return keys, fmt.Errorf("list key rings in %s: %w", parent, err)
		}
		req := &kmspb.ListCryptoKeysRequest{Parent: ring.GetName(), PageSize: int32(inv.pageSize)}
		for key, err := range inv.kms.ListCryptoKeys(ctx, req).All() {
			if err != nil {
				return keys, fmt.Errorf("list crypto keys in %s: %w", ring.GetName(), err)
			}
			keys = append(keys, inv.keyResource(loc, key))
		}
	}
	return keys, nil
}

// keyResource describes one crypto key. Its protection level is its
// primary version's (symmetric keys), else its version template's
// (asymmetric keys have no primary; new versions follow the template).
func (inv *Inventory) keyResource(loc string, key *kmspb.CryptoKey) meridian.LiveResource {
	protection := key.GetVersionTemplate().GetProtectionLevel()
	if p := key.GetPrimary(); p != nil {
		protection = p.GetProtectionLevel()
	}
	info := &meridian.LiveKeyInfo{
		Level:           meridian.EncryptionCustomerManaged,
		CustomerManaged: true,
		RotationEnabled: key.GetRotationPeriod().AsDuration() > 0,
	}
	// EXTERNAL and EXTERNAL_VPC keys live in a partner key manager that
	// may or may not be an HSM: only Cloud HSM is known to be one.
	switch protection {
	case kmspb.ProtectionLevel_HSM, kmspb.ProtectionLevel_HSM_SINGLE_TENANT:
		info.Level = meridian.EncryptionHSM
	}
	if p := key.GetPrimary(); p != nil {
		info.State = p.GetState().String()
	}
	return meridian.LiveResource{
		Provider: meridian.ProviderGCP,
		Kind:     meridian.LiveKey,
		ID:       kmsResourcePrefix + key.GetName(),
		Name:     lastSegment(key.GetName()),
		Region:   loc,
		Account:  inv.project,
		Tags:     key.GetLabels(),
		Key:      info,
	}
}
