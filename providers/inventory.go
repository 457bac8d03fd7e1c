package providers

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/meridianhq/meridian"
)

// InventoryService is one API an inventory reader lists: a cloud account
// is read service by service, so that one denied permission costs only
// the kinds that service lists.
type InventoryService struct {
	// Name is the service as the provider names it in permission errors
	// (cloudkms.googleapis.com, Microsoft.KeyVault).
	Name string
	// Kinds are the Live* kinds Read lists; they are incomplete when it
	// fails.
	Kinds []string
	// Read lists the service's resources. On error it may still return
	// what it read before failing.
	Read func(context.Context) ([]meridian.LiveResource, error)
}

// ReadInventory runs the services of one account concurrently and returns
// everything they listed, sorted by ID. A service that fails does not stop
// the others: its error comes back as a *meridian.LiveReadError naming the
// provider, account, service and kinds, joined with the other failures,
// beside the resources that were read.
func ReadInventory(ctx context.Context, provider meridian.Provider, account string, services []InventoryService) ([]meridian.LiveResource, error) {
	found := make([][]meridian.LiveResource, len(services))
	errs := make([]error, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		wg.Go(func() {
			var err error
			found[i], err = s.Read(ctx)
			if err != nil {
				errs[i] = &meridian.LiveReadError{Provider: provider, Account: account, Service: s.Name, Kinds: s.Kinds, Err: err}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(found...)
	slices.SortFunc(all, func(a, b meridian.LiveResource) int { return cmp.Compare(a.ID, b.ID) })
	return all, errors.Join(errs...)
}
