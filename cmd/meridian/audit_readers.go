package main

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/inventory"
	"github.com/meridianhq/meridian/inventory/kube"
	"github.com/meridianhq/meridian/providers/aws"
	"github.com/meridianhq/meridian/providers/azure"
	"github.com/meridianhq/meridian/providers/gcp"
)

// openInventory is the inventory.Opener of the CLI and the server: each
// cloud's SDK reader, with its standard credential chain. endpoint
// overrides AWS's and Azure Resource Manager's endpoints. On-prem and edge
// targets are read through their kubeconfig context.
func openInventory(ctx context.Context, t *meridian.Target, endpoint string) (inventory.Reader, error) {
	a := t.Account
	switch t.Provider {
	case meridian.ProviderAWS:
		return aws.NewInventory(ctx, aws.InventoryOptions{Region: t.Region, AccountID: a.ID, Profile: a.Profile, RoleARN: a.RoleARN, Endpoint: endpoint})
	case meridian.ProviderAzure:
		var opts *arm.ClientOptions
		if endpoint != "" {
			opts = &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: endpoint, Audience: cloud.AzurePublic.Services[cloud.ResourceManager].Audience},
				},
			}}}
		}
		return azure.NewInventory(a.ID, nil, opts)
	case meridian.ProviderGCP:
		return gcp.NewInventory(ctx, a.ID)
	case meridian.ProviderOnPrem, meridian.ProviderEdge:
		return kube.NewFromKubeconfig(a.KubeContext)
	}
	return nil, nil
}
