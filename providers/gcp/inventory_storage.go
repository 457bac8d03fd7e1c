package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/meridianhq/meridian"
	"google.golang.org/api/iterator"
)

// bucketResourcePrefix makes a bucket name a full resource name; buckets
// are global, hence the project "_".
const bucketResourcePrefix = "//storage.googleapis.com/projects/_/buckets/"

// buckets lists the project's Cloud Storage buckets. A bucket with a default
// KMS key is customer-managed: objects written without another key use it.
func (inv *Inventory) buckets(ctx context.Context) ([]meridian.LiveResource, error) {
	var out []meridian.LiveResource
	it := inv.storage.Buckets(ctx, inv.project)
	if inv.pageSize > 0 {
		it.PageInfo().MaxSize = inv.pageSize
	}
	for {
		b, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("list buckets: %w", err)
		}
		var key string
		if b.Encryption != nil {
			key = b.Encryption.DefaultKMSKeyName
		}
		out = append(out, meridian.LiveResource{
			Provider: meridian.ProviderGCP,
			Kind:     meridian.LiveBucket,
			ID:       bucketResourcePrefix + b.Name,
			Name:     b.Name,
			// GCS reports locations in upper case (EUROPE-WEST1, EU);
			// regions are lower case everywhere else.
			Region:     strings.ToLower(b.Location),
			Account:    inv.project,
			Tags:       b.Labels,
			Encryption: cmekEncryption(key),
		})
	}
}
