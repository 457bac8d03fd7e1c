package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/meridianhq/meridian"
)

// keyVaults lists the subscription's Key Vaults. A premium vault keeps its
// HSM keys in HSMs (level hsm); a standard vault only has software keys.
// Key rotation is a per-key policy of the data plane, which a Reader
// cannot see: RotationEnabled stays false.
func (inv *Inventory) keyVaults(ctx context.Context) ([]meridian.LiveResource, error) {
	value := func(p armkeyvault.VaultsClientListBySubscriptionResponse) []*armkeyvault.Vault { return p.Value }
	return collect(ctx, inv.vaults.NewListBySubscriptionPager(nil), value, "key vaults", func(v *armkeyvault.Vault) (meridian.LiveResource, bool) {
		r := inv.resource(meridian.LiveKey, v.ID, v.Name, v.Location, v.Tags)
		p := deref(v.Properties)
		level := meridian.EncryptionCustomerManaged
		if deref(p.SKU).Name != nil && *p.SKU.Name == armkeyvault.SKUNamePremium {
			level = meridian.EncryptionHSM
		}
		r.Key = vaultKey(level, p.EnablePurgeProtection, string(deref(p.ProvisioningState)))
		return r, true
	})
}

// managedHSMs lists the subscription's Managed HSM pools, whose keys are
// all HSM keys.
func (inv *Inventory) managedHSMs(ctx context.Context) ([]meridian.LiveResource, error) {
	value := func(p armkeyvault.ManagedHsmsClientListBySubscriptionResponse) []*armkeyvault.ManagedHsm {
		return p.Value
	}
	return collect(ctx, inv.hsms.NewListBySubscriptionPager(nil), value, "managed HSMs", func(h *armkeyvault.ManagedHsm) (meridian.LiveResource, bool) {
		r := inv.resource(meridian.LiveKey, h.ID, h.Name, h.Location, h.Tags)
		p := deref(h.Properties)
		r.Key = vaultKey(meridian.EncryptionHSM, p.EnablePurgeProtection, string(deref(p.ProvisioningState)))
		return r, true
	})
}

// vaultKey describes a vault or HSM pool: customer keys, whatever the
// level.
func vaultKey(level meridian.EncryptionLevel, purgeProtection *bool, state string) *meridian.LiveKeyInfo {
	return &meridian.LiveKeyInfo{Level: level, CustomerManaged: true, PurgeProtection: deref(purgeProtection), State: state}
}
