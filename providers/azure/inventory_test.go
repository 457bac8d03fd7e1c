package azure_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers/azure"
)

const (
	rgPayments = "/subscriptions/" + subscription + "/resourceGroups/rg-payments-prod"
	rgShared   = "/subscriptions/" + subscription + "/resourceGroups/rg-shared"
)

var (
	paymentsTags = map[string]string{"meridian-workload": "payments", "meridian-target": "azure-eu"}
	// ledgerHSM is the key URL of the Managed HSM key protecting
	// stledgerhsm.
	ledgerHSM = &meridian.LiveEncryption{Level: meridian.EncryptionHSM, KeyID: "https://mhsm-ledger.managedhsm.azure.net/keys/st-ledger/7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"}
)

func az(kind, id, name, region string, tags map[string]string) meridian.LiveResource {
	return meridian.LiveResource{Provider: meridian.ProviderAzure, Kind: kind, ID: id, Name: name, Region: region, Account: subscription, Tags: tags}
}

// want returns the fixture's resources as an Inventory must report them,
// by ARM type, so that a case can leave out a denied type. clustersRead
// tells whether the Log Analytics clusters could be listed.
func want(clustersRead bool) map[string][]meridian.LiveResource {
	vault := az(meridian.LiveKey, rgPayments+"/providers/Microsoft.KeyVault/vaults/kv-payments-prod", "kv-payments-prod", "westeurope", paymentsTags)
	vault.Key = &meridian.LiveKeyInfo{Level: meridian.EncryptionHSM, CustomerManaged: true, PurgeProtection: true, State: "Succeeded"}
	devVault := az(meridian.LiveKey, rgShared+"/providers/Microsoft.KeyVault/vaults/kv-shared-dev", "kv-shared-dev", "eastus", nil)
	devVault.Key = &meridian.LiveKeyInfo{Level: meridian.EncryptionCustomerManaged, CustomerManaged: true, State: "Succeeded"}
	hsm := az(meridian.LiveKey, rgPayments+"/providers/Microsoft.KeyVault/managedHSMs/mhsm-ledger", "mhsm-ledger", "westeurope", map[string]string{"meridian-workload": "payments"})
	hsm.Key = &meridian.LiveKeyInfo{Level: meridian.EncryptionHSM, CustomerManaged: true, PurgeProtection: true, State: "Succeeded"}

	logs := az(meridian.LiveLogStore, rgPayments+"/providers/Microsoft.OperationalInsights/workspaces/log-payments-prod", "log-payments-prod", "westeurope", paymentsTags)
	logs.RetentionDays = 730
	if clustersRead {
		// Linked to a cluster whose key is in the Managed HSM.
		logs.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionHSM, KeyID: "https://mhsm-ledger.managedhsm.azure.net/keys/la-cmk"}
	}
	sharedLogs := az(meridian.LiveLogStore, rgShared+"/providers/Microsoft.OperationalInsights/workspaces/log-shared", "log-shared", "eastus", nil)
	sharedLogs.RetentionDays = 30
	sharedLogs.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}

	cmk := az(meridian.LiveBucket, rgPayments+"/providers/Microsoft.Storage/storageAccounts/stpaymentsprod", "stpaymentsprod", "westeurope", paymentsTags)
	cmk.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionCustomerManaged, KeyID: "https://kv-payments-prod.vault.azure.net/keys/st-cmk"}
	hsmAccount := az(meridian.LiveBucket, rgPayments+"/providers/Microsoft.Storage/storageAccounts/stledgerhsm", "stledgerhsm", "westeurope", map[string]string{"meridian-workload": "payments"})
	hsmAccount.Encryption = ledgerHSM
	plain := az(meridian.LiveBucket, rgShared+"/providers/Microsoft.Storage/storageAccounts/stshareddev", "stshareddev", "eastus", nil)
	plain.Encryption = &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}

	return map[string][]meridian.LiveResource{
		"vaults":          {vault, devVault},
		"managedHSMs":     {hsm},
		"workspaces":      {logs, sharedLogs},
		"storageAccounts": {cmk, hsmAccount, plain},
		"resourceGroups": {
			az(meridian.LiveResourceGroup, rgPayments, "rg-payments-prod", "westeurope", paymentsTags),
			az(meridian.LiveResourceGroup, rgShared, "rg-shared", "eastus", nil),
			// A null tag value reads as empty: the key is still there.
			az(meridian.LiveResourceGroup, "/subscriptions/"+subscription+"/resourceGroups/NetworkWatcherRG", "NetworkWatcherRG", "westeurope", map[string]string{"owner": ""}),
		},
		"resources": {
			// The virtual network is not a kind Meridian audits.
			az(meridian.LiveCluster, rgPayments+"/providers/Microsoft.ContainerService/managedClusters/aks-payments", "aks-payments", "westeurope", paymentsTags),
			az(meridian.LiveVM, rgShared+"/providers/Microsoft.Compute/virtualMachines/vm-batch-01", "vm-batch-01", "eastus", nil),
			az(meridian.LiveVM, "/subscriptions/"+subscription+"/resourceGroups/rg-edge/providers/Microsoft.HybridCompute/machines/store-0042", "store-0042", "westeurope", map[string]string{"meridian-target": "edge-stores"}),
		},
	}
}

func TestInventoryResources(t *testing.T) {
	cases := map[string]struct {
		reason string
		deny   string
		// failed is the ARM type and kinds of the expected LiveReadError.
		failed string
		kinds  []string
	}{
		"every type read": {reason: "each list is read page by page, one item a page"},
		"key vaults denied": {
			reason: "without Key Vault read access the other types are still listed",
			deny:   "vaults", failed: "Microsoft.KeyVault/vaults", kinds: []string{meridian.LiveKey},
		},
		"resources denied": {
			reason: "without the generic list, VMs and clusters are unknown but the rest is listed",
			deny:   "resources", failed: "Microsoft.Resources/resources", kinds: []string{meridian.LiveVM, meridian.LiveCluster},
		},
		"clusters denied": {
			reason: "a workspace on a dedicated cluster whose key cannot be read is listed with unknown encryption",
			deny:   "clusters", failed: "Microsoft.OperationalInsights/workspaces", kinds: []string{meridian.LiveLogStore},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newARMFake(t, tc.deny)
			inv, err := azure.NewInventory(subscription, &azfake.TokenCredential{}, &arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := inv.Resources(context.Background())

			var wantRes []meridian.LiveResource
			for typ, res := range want(tc.deny != "clusters") {
				if typ != tc.deny {
					wantRes = append(wantRes, res...)
				}
			}
			sortByID := cmpopts.SortSlices(func(a, b meridian.LiveResource) bool { return a.ID < b.ID })
			if diff := cmp.Diff(wantRes, got, cmpopts.EquateEmpty(), sortByID); diff != "" {
				t.Errorf("%s: Resources (-want +got):\n%s", tc.reason, diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].ID > got[i].ID {
					t.Errorf("Resources not sorted by ID: %s before %s", got[i-1].ID, got[i].ID)
				}
			}
			checkFailure(t, err, tc.failed, tc.kinds)
			if tc.deny == "" {
				for _, route := range []string{"/providers/microsoft.keyvault/vaults", "/providers/microsoft.storage/storageaccounts", "/resourcegroups", "/resources"} {
					if n := srv.count(route); n < 2 {
						t.Errorf("%s: %d requests, want one per page (at least 2)", route, n)
					}
				}
			}
		})
	}
}

// checkFailure checks that err reports exactly the failed type, or is nil
// when failed is empty.
func checkFailure(t *testing.T, err error, failed string, kinds []string) {
	t.Helper()
	if failed == "" {
		if err != nil {
			t.Errorf("Resources error = %v, want nil", err)
		}
		return
	}
	errs := meridian.LiveReadErrors(err)
	if len(errs) != 1 {
		t.Fatalf("Resources error = %v, want one LiveReadError for %s", err, failed)
	}
	e := errs[0]
	if e.Provider != meridian.ProviderAzure || e.Account != subscription || e.Service != failed || !cmp.Equal(e.Kinds, kinds) {
		t.Errorf("LiveReadError = {%s %s %s %v}, want {azure %s %s %v}", e.Provider, e.Account, e.Service, e.Kinds, subscription, failed, kinds)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.ErrorCode != "AuthorizationFailed" {
		t.Errorf("Resources error %v does not carry ARM's 403 AuthorizationFailed", err)
	}
	for _, part := range []string{subscription, failed} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("Resources error %q does not name %q", err, part)
		}
	}
}

func TestNewInventoryRejectsEmptySubscription(t *testing.T) {
	_, err := azure.NewInventory("", &azfake.TokenCredential{}, nil)
	if err == nil || !strings.Contains(err.Error(), "subscription ID is empty") {
		t.Errorf("NewInventory error = %v, want one naming the empty subscription ID", err)
	}
}
