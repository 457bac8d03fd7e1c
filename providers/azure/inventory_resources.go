package azure

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/meridianhq/meridian"
)

// taggedKinds maps the lower-cased ARM types listed through the generic
// resource list, for their tags, to Live kinds. Arc-enabled servers and
// clusters count: they are the on-prem and edge machines Azure Arc
// projects into the subscription.
var taggedKinds = map[string]string{
	"microsoft.compute/virtualmachines":           meridian.LiveVM,
	"microsoft.compute/virtualmachinescalesets":   meridian.LiveVM,
	"microsoft.hybridcompute/machines":            meridian.LiveVM,
	"microsoft.containerservice/managedclusters":  meridian.LiveCluster,
	"microsoft.kubernetes/connectedclusters":      meridian.LiveCluster,
	"microsoft.redhatopenshift/openshiftclusters": meridian.LiveCluster,
}

// taggedFilter asks ARM for the taggedKinds types only.
var taggedFilter = func() string {
	types := []string{
		"Microsoft.Compute/virtualMachines", "Microsoft.Compute/virtualMachineScaleSets",
		"Microsoft.HybridCompute/machines", "Microsoft.ContainerService/managedClusters",
		"Microsoft.Kubernetes/connectedClusters", "Microsoft.RedHatOpenShift/openShiftClusters",
	}
	for i, t := range types {
		types[i] = "resourceType eq '" + t + "'"
	}
	return strings.Join(types, " or ")
}()

// resourceGroups lists the subscription's resource groups and their tags.
func (inv *Inventory) resourceGroups(ctx context.Context) ([]meridian.LiveResource, error) {
	value := func(p armresources.ResourceGroupsClientListResponse) []*armresources.ResourceGroup { return p.Value }
	return collect(ctx, inv.groups.NewListPager(nil), value, "resource groups", func(g *armresources.ResourceGroup) (meridian.LiveResource, bool) {
		return inv.resource(meridian.LiveResourceGroup, g.ID, g.Name, g.Location, g.Tags), true
	})
}

// taggedResources lists the subscription's VMs and clusters with their
// tags through the generic resource list, which costs one paged call for
// all of them instead of a client per resource provider.
func (inv *Inventory) taggedResources(ctx context.Context) ([]meridian.LiveResource, error) {
	pager := inv.resources.NewListPager(&armresources.ClientListOptions{Filter: &taggedFilter})
	value := func(p armresources.ClientListResponse) []*armresources.GenericResourceExpanded { return p.Value }
	return collect(ctx, pager, value, "resources", func(r *armresources.GenericResourceExpanded) (meridian.LiveResource, bool) {
		// The filter is a request; the type check keeps the contract when
		// a server (or a mirror) ignores it.
		kind, ok := taggedKinds[strings.ToLower(deref(r.Type))]
		return inv.resource(kind, r.ID, r.Name, r.Location, r.Tags), ok
	})
}
