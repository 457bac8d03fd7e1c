package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/meridianhq/meridian"
)

// storageAccounts lists the subscription's storage accounts with their
// encryption.
func (inv *Inventory) storageAccounts(ctx context.Context) ([]meridian.LiveResource, error) {
	value := func(p armstorage.AccountsClientListResponse) []*armstorage.Account { return p.Value }
	return collect(ctx, inv.accounts.NewListPager(nil), value, "storage accounts", func(a *armstorage.Account) (meridian.LiveResource, bool) {
		r := inv.resource(meridian.LiveBucket, a.ID, a.Name, a.Location, a.Tags)
		if e := deref(a.Properties).Encryption; e != nil {
			r.Encryption = accountEncryption(e)
		}
		return r, true
	})
}

// accountEncryption reads a storage account's key source:
// Microsoft.Keyvault means a customer-managed key, Microsoft.Storage
// Microsoft-managed keys.
func accountEncryption(e *armstorage.Encryption) *meridian.LiveEncryption {
	if deref(e.KeySource) != armstorage.KeySourceMicrosoftKeyvault {
		return keyEncryption("", "", "")
	}
	kv := deref(e.KeyVaultProperties)
	enc := keyEncryption(deref(kv.KeyVaultURI), deref(kv.KeyName), deref(kv.KeyVersion))
	if enc.Level == meridian.EncryptionProviderManaged {
		// Key source Key Vault with no key name reported: still a
		// customer key, unnamed.
		enc.Level = meridian.EncryptionCustomerManaged
	}
	return enc
}
