package azure_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	kvfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights"
	oifake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	rmfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	stfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/fake"
)

// The fixtures in testdata/inventory are shaped like the documented
// examples of the ARM list operations (Vaults_ListBySubscription,
// ManagedHsms_ListBySubscription, Workspaces_List, Clusters_List,
// ResourceGroups_List, Resources_List, StorageAccounts_List), with
// made-up names. The SDK's own fakes serve them: the models' JSON
// decoding reads them, and each item becomes one page, so every list is
// read through nextLink pagination (except Workspaces_List, which the
// service and the SDK do not page).

const subscription = "5d2a1c8e-7b3f-4e61-9a0c-2f4b6d8e0a13"

// fixture decodes the "value" array of testdata/inventory/name.
func fixture[T any](t *testing.T, name string) []*T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "inventory", name))
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Value []*T }
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return list.Value
}

// pages answers a list with one page per item, or with ARM's 403
// AuthorizationFailed when denied.
func pages[R, T any](items []*T, denied bool, page func([]*T) R) azfake.PagerResponder[R] {
	return pagesOf(1, items, denied, page)
}

// pagesOf answers a list with pages of size items.
func pagesOf[R, T any](size int, items []*T, denied bool, page func([]*T) R) azfake.PagerResponder[R] {
	var resp azfake.PagerResponder[R]
	if denied {
		resp.AddResponseError(http.StatusForbidden, "AuthorizationFailed")
		return resp
	}
	for i := 0; i < len(items); i += size {
		resp.AddPage(http.StatusOK, page(items[i:min(i+size, len(items))]), nil)
	}
	return resp
}

// armFake serves one subscription through the SDK fakes of the four
// modules an Inventory uses; deny names the lists that answer 403.
type armFake struct {
	deny map[string]bool
	mu   sync.Mutex
	// requests counts the requests per route.
	requests map[string]int
	routes   []route
}

// route sends requests whose lower-cased path contains match to one
// module's fake.
type route struct {
	match     string
	transport policy.Transporter
}

func newARMFake(t *testing.T, deny ...string) *armFake {
	f := &armFake{deny: map[string]bool{}, requests: map[string]int{}}
	for _, d := range deny {
		f.deny[d] = true
	}
	vaults := fixture[armkeyvault.Vault](t, "keyvault-vaults.json")
	hsms := fixture[armkeyvault.ManagedHsm](t, "keyvault-managedhsms.json")
	workspaces := fixture[armoperationalinsights.Workspace](t, "loganalytics-workspaces.json")
	clusters := fixture[armoperationalinsights.Cluster](t, "loganalytics-clusters.json")
	groups := fixture[armresources.ResourceGroup](t, "resources-groups.json")
	resources := fixture[armresources.GenericResourceExpanded](t, "resources-list.json")
	accounts := fixture[armstorage.Account](t, "storage-accounts.json")

	kv := kvfake.NewServerFactoryTransport(&kvfake.ServerFactory{
		VaultsServer: kvfake.VaultsServer{
			NewListBySubscriptionPager: func(*armkeyvault.VaultsClientListBySubscriptionOptions) azfake.PagerResponder[armkeyvault.VaultsClientListBySubscriptionResponse] {
				return pages(vaults, f.deny["vaults"], func(v []*armkeyvault.Vault) armkeyvault.VaultsClientListBySubscriptionResponse {
					return armkeyvault.VaultsClientListBySubscriptionResponse{VaultListResult: armkeyvault.VaultListResult{Value: v}}
				})
			},
		},
		ManagedHsmsServer: kvfake.ManagedHsmsServer{
			NewListBySubscriptionPager: func(*armkeyvault.ManagedHsmsClientListBySubscriptionOptions) azfake.PagerResponder[armkeyvault.ManagedHsmsClientListBySubscriptionResponse] {
				return pages(hsms, f.deny["managedHSMs"], func(h []*armkeyvault.ManagedHsm) armkeyvault.ManagedHsmsClientListBySubscriptionResponse {
					return armkeyvault.ManagedHsmsClientListBySubscriptionResponse{ManagedHsmListResult: armkeyvault.ManagedHsmListResult{Value: h}}
				})
			},
		},
	})
	oi := oifake.NewServerFactoryTransport(&oifake.ServerFactory{
		WorkspacesServer: oifake.WorkspacesServer{
			NewListPager: func(*armoperationalinsights.WorkspacesClientListOptions) azfake.PagerResponder[armoperationalinsights.WorkspacesClientListResponse] {
				// Workspaces_List is not pageable: one response holds them all.
				return pagesOf(len(workspaces), workspaces, f.deny["workspaces"], func(w []*armoperationalinsights.Workspace) armoperationalinsights.WorkspacesClientListResponse {
					return armoperationalinsights.WorkspacesClientListResponse{WorkspaceListResult: armoperationalinsights.WorkspaceListResult{Value: w}}
				})
			},
		},
		ClustersServer: oifake.ClustersServer{
			NewListPager: func(*armoperationalinsights.ClustersClientListOptions) azfake.PagerResponder[armoperationalinsights.ClustersClientListResponse] {
				return pages(clusters, f.deny["clusters"], func(c []*armoperationalinsights.Cluster) armoperationalinsights.ClustersClientListResponse {
					return armoperationalinsights.ClustersClientListResponse{ClusterListResult: armoperationalinsights.ClusterListResult{Value: c}}
				})
			},
		},
	})
	rm := rmfake.NewServerFactoryTransport(&rmfake.ServerFactory{
		ResourceGroupsServer: rmfake.ResourceGroupsServer{
			NewListPager: func(*armresources.ResourceGroupsClientListOptions) azfake.PagerResponder[armresources.ResourceGroupsClientListResponse] {
				return pages(groups, f.deny["resourceGroups"], func(g []*armresources.ResourceGroup) armresources.ResourceGroupsClientListResponse {
					return armresources.ResourceGroupsClientListResponse{ResourceGroupListResult: armresources.ResourceGroupListResult{Value: g}}
				})
			},
		},
		Server: rmfake.Server{
			NewListPager: func(opts *armresources.ClientListOptions) azfake.PagerResponder[armresources.ClientListResponse] {
				if opts == nil || opts.Filter == nil || !strings.Contains(*opts.Filter, "resourceType eq 'Microsoft.Compute/virtualMachines'") {
					t.Errorf("Resources_List without a resource type filter: %+v", opts)
				}
				// Like a server ignoring the filter, the fake lists every type.
				return pages(resources, f.deny["resources"], func(r []*armresources.GenericResourceExpanded) armresources.ClientListResponse {
					return armresources.ClientListResponse{ResourceListResult: armresources.ResourceListResult{Value: r}}
				})
			},
		},
	})
	st := stfake.NewServerFactoryTransport(&stfake.ServerFactory{
		AccountsServer: stfake.AccountsServer{
			NewListPager: func(*armstorage.AccountsClientListOptions) azfake.PagerResponder[armstorage.AccountsClientListResponse] {
				return pages(accounts, f.deny["storageAccounts"], func(a []*armstorage.Account) armstorage.AccountsClientListResponse {
					return armstorage.AccountsClientListResponse{AccountListResult: armstorage.AccountListResult{Value: a}}
				})
			},
		},
	})
	f.routes = []route{
		{"/providers/microsoft.keyvault/vaults", kv},
		{"/providers/microsoft.keyvault/managedhsms", kv},
		{"/providers/microsoft.operationalinsights/workspaces", oi},
		{"/providers/microsoft.operationalinsights/clusters", oi},
		{"/providers/microsoft.storage/storageaccounts", st},
		{"/resourcegroups", rm},
		{"/resources", rm},
	}
	return f
}

// Do sends a request to the fake of the module that owns its path.
func (f *armFake) Do(req *http.Request) (*http.Response, error) {
	path := strings.ToLower(req.URL.Path)
	for _, r := range f.routes {
		if strings.Contains(path, r.match) {
			f.mu.Lock()
			f.requests[r.match]++
			f.mu.Unlock()
			return r.transport.Do(req)
		}
	}
	return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody, Request: req, Header: http.Header{}}, nil
}

func (f *armFake) count(match string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[match]
}
