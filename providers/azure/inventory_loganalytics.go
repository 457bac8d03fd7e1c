package azure

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights"
	"github.com/meridianhq/meridian"
)

// logWorkspaces lists the subscription's Log Analytics workspaces with
// their retention. A workspace's data is encrypted with Microsoft-managed
// keys unless it is linked to a dedicated cluster that has a customer key;
// clusters are listed only when some workspace is linked to one, and when
// that listing fails the linked workspaces are returned with no
// encryption (unknown) beside the error.
func (inv *Inventory) logWorkspaces(ctx context.Context) ([]meridian.LiveResource, error) {
	// clusterOf maps a linked workspace's ID to its cluster's, lower-cased
	// (ARM IDs compare case-insensitively).
	clusterOf := map[string]string{}
	// Workspaces_List is not paged: the pager yields one page.
	value := func(p armoperationalinsights.WorkspacesClientListResponse) []*armoperationalinsights.Workspace {
		return p.Value
	}
	out, err := collect(ctx, inv.workspaces.NewListPager(nil), value, "Log Analytics workspaces", func(w *armoperationalinsights.Workspace) (meridian.LiveResource, bool) {
		r := inv.resource(meridian.LiveLogStore, w.ID, w.Name, w.Location, w.Tags)
		r.Encryption = keyEncryption("", "", "")
		p := deref(w.Properties)
		r.RetentionDays = int(deref(p.RetentionInDays))
		if cluster := deref(deref(p.Features).ClusterResourceID); cluster != "" {
			clusterOf[r.ID] = strings.ToLower(cluster)
		}
		return r, true
	})
	if err != nil || len(clusterOf) == 0 {
		return out, err
	}
	keys, err := inv.clusterKeys(ctx)
	for i := range out {
		cluster, linked := clusterOf[out[i].ID]
		switch {
		case !linked:
		case err != nil:
			out[i].Encryption = nil
		case keys[cluster] != nil:
			out[i].Encryption = keys[cluster]
		}
	}
	return out, err
}

// clusterKeys returns the encryption of each Log Analytics cluster by
// lower-cased resource ID.
func (inv *Inventory) clusterKeys(ctx context.Context) (map[string]*meridian.LiveEncryption, error) {
	keys := map[string]*meridian.LiveEncryption{}
	value := func(p armoperationalinsights.ClustersClientListResponse) []*armoperationalinsights.Cluster {
		return p.Value
	}
	_, err := collect(ctx, inv.clusters.NewListPager(nil), value, "Log Analytics clusters", func(c *armoperationalinsights.Cluster) (meridian.LiveResource, bool) {
		kv := deref(deref(c.Properties).KeyVaultProperties)
		keys[strings.ToLower(deref(c.ID))] = keyEncryption(deref(kv.KeyVaultURI), deref(kv.KeyName), deref(kv.KeyVersion))
		return meridian.LiveResource{}, false
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}
