package azure

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// The ARM resource types an Inventory lists, each one service of
// providers.ReadInventory, named as they appear in permission errors.
const (
	typeVaults          = "Microsoft.KeyVault/vaults"
	typeManagedHSMs     = "Microsoft.KeyVault/managedHSMs"
	typeWorkspaces      = "Microsoft.OperationalInsights/workspaces"
	typeResourceGroups  = "Microsoft.Resources/resourceGroups"
	typeResources       = "Microsoft.Resources/resources"
	typeStorageAccounts = "Microsoft.Storage/storageAccounts"
)

// Inventory reads what runs in one Azure subscription, read-only, through
// the Azure Resource Manager SDK clients: Key Vaults and Managed HSMs, Log
// Analytics workspaces, storage accounts, resource groups, and the tags of
// virtual machines and Kubernetes clusters (AKS and Arc-enabled). The
// built-in Reader role on the subscription is enough.
type Inventory struct {
	subscription string
	vaults       *armkeyvault.VaultsClient
	hsms         *armkeyvault.ManagedHsmsClient
	workspaces   *armoperationalinsights.WorkspacesClient
	clusters     *armoperationalinsights.ClustersClient
	groups       *armresources.ResourceGroupsClient
	resources    *armresources.Client
	accounts     *armstorage.AccountsClient
}

// NewInventory returns an Inventory of subscriptionID. A nil cred means
// azidentity.DefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI...), built with opts' cloud and transport
// so that sovereign clouds and test servers reach the same hosts. opts
// may be nil; its Endpoint overrides the ARM endpoint.
func NewInventory(subscriptionID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Inventory, error) {
	if subscriptionID == "" {
		return nil, errors.New("azure inventory: subscription ID is empty")
	}
	fail := func(what string, err error) (*Inventory, error) {
		return nil, fmt.Errorf("azure inventory of subscription %s: %s: %w", subscriptionID, what, err)
	}
	if cred == nil {
		var copts azidentity.DefaultAzureCredentialOptions
		if opts != nil {
			copts.ClientOptions = opts.ClientOptions
		}
		var err error
		if cred, err = azidentity.NewDefaultAzureCredential(&copts); err != nil {
			return fail("default credential", err)
		}
	}
	kv, err := armkeyvault.NewClientFactory(subscriptionID, cred, opts)
	if err != nil {
		return fail("Microsoft.KeyVault client", err)
	}
	oi, err := armoperationalinsights.NewClientFactory(subscriptionID, cred, opts)
	if err != nil {
		return fail("Microsoft.OperationalInsights client", err)
	}
	rm, err := armresources.NewClientFactory(subscriptionID, cred, opts)
	if err != nil {
		return fail("Microsoft.Resources client", err)
	}
	st, err := armstorage.NewClientFactory(subscriptionID, cred, opts)
	if err != nil {
		return fail("Microsoft.Storage client", err)
	}
	return &Inventory{
		subscription: subscriptionID,
		vaults:       kv.NewVaultsClient(),
		hsms:         kv.NewManagedHsmsClient(),
		workspaces:   oi.NewWorkspacesClient(),
		clusters:     oi.NewClustersClient(),
		groups:       rm.NewResourceGroupsClient(),
		resources:    rm.NewClient(),
		accounts:     st.NewAccountsClient(),
	}, nil
}

// Subscription returns the subscription the Inventory reads.
func (inv *Inventory) Subscription() string { return inv.subscription }

// Resources lists the subscription's resources, sorted by ID. Each resource
// type is listed independently: when one is denied or fails, Resources
// still returns the others with a *meridian.LiveReadError per failed type
// (joined) naming the type, the subscription and the kinds left
// incomplete.
func (inv *Inventory) Resources(ctx context.Context) ([]meridian.LiveResource, error) {
	return providers.ReadInventory(ctx, meridian.ProviderAzure, inv.subscription, []providers.InventoryService{
		{Name: typeVaults, Kinds: []string{meridian.LiveKey}, Read: inv.keyVaults},
		{Name: typeManagedHSMs, Kinds: []string{meridian.LiveKey}, Read: inv.managedHSMs},
		{Name: typeWorkspaces, Kinds: []string{meridian.LiveLogStore}, Read: inv.logWorkspaces},
		{Name: typeStorageAccounts, Kinds: []string{meridian.LiveBucket}, Read: inv.storageAccounts},
		{Name: typeResourceGroups, Kinds: []string{meridian.LiveResourceGroup}, Read: inv.resourceGroups},
		{Name: typeResources, Kinds: []string{meridian.LiveVM, meridian.LiveCluster}, Read: inv.taggedResources},
	})
}

// collect reads every page of an ARM list, turning each item of a page
// (value) into a resource with each, which may drop it. On error it
// returns what the earlier pages gave.
func collect[P, T any](ctx context.Context, pager *runtime.Pager[P], value func(P) []*T, what string, each func(*T) (meridian.LiveResource, bool)) ([]meridian.LiveResource, error) {
	var out []meridian.LiveResource
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("list %s: %w", what, err)
		}
		for _, item := range value(page) {
			if r, ok := each(item); ok {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// resource fills the fields every ARM resource has.
func (inv *Inventory) resource(kind string, id, name, location *string, tags map[string]*string) meridian.LiveResource {
	return meridian.LiveResource{
		Provider: meridian.ProviderAzure,
		Kind:     kind,
		ID:       deref(id),
		Name:     deref(name),
		Region:   region(deref(location)),
		Account:  inv.subscription,
		Tags:     tagMap(tags),
	}
}

// region normalises an ARM location to its armRegionName form: resource
// providers answer "westeurope", a few "West Europe".
func region(location string) string {
	return strings.ToLower(strings.ReplaceAll(location, " ", ""))
}

// tagMap converts ARM tags, whose values the SDK models as pointers; a
// null value reads as "".
func tagMap(tags map[string]*string) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[k] = deref(v)
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// keyURL is the Key Vault or Managed HSM URL of a key
// (https://VAULT.vault.azure.net/keys/NAME[/VERSION]), the form Azure
// uses wherever a key is referenced.
func keyURL(vaultURI, name, version string) string {
	u := strings.TrimSuffix(vaultURI, "/") + "/keys/" + name
	if version != "" {
		u += "/" + version
	}
	return u
}

// keyEncryption is the encryption of data kept with the given key, or
// with Microsoft-managed keys when name is empty. Only keys in a Managed
// HSM are known to be HSM keys: a premium vault holds software keys too.
func keyEncryption(vaultURI, name, version string) *meridian.LiveEncryption {
	if name == "" {
		return &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}
	}
	e := &meridian.LiveEncryption{Level: meridian.EncryptionCustomerManaged, KeyID: keyURL(vaultURI, name, version)}
	if isManagedHSM(vaultURI) {
		e.Level = meridian.EncryptionHSM
	}
	return e
}

// isManagedHSM reports whether a vault URI is a Managed HSM's
// (https://NAME.managedhsm.azure.net/, or a sovereign cloud's
// managedhsm.* host).
func isManagedHSM(vaultURI string) bool {
	host, _, _ := strings.Cut(strings.TrimPrefix(strings.ToLower(vaultURI), "https://"), "/")
	_, rest, _ := strings.Cut(host, ".")
	return strings.HasPrefix(rest, "managedhsm.")
}
