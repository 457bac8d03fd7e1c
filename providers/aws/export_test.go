package aws

import (
	"context"

	"github.com/meridianhq/meridian"
)

// Keys exposes the KMS part of the inventory to the external test package,
// for the local-kms test, which has no emulator for the other services.
func (inv *Inventory) Keys(ctx context.Context) ([]meridian.LiveResource, error) {
	return inv.keys(ctx)
}
