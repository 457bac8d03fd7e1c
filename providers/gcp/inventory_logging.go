package gcp

import (
	"context"
	"fmt"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	"github.com/meridianhq/meridian"
)

// loggingResourcePrefix makes a log bucket name a full resource name.
const loggingResourcePrefix = "//logging.googleapis.com/"

// logBuckets lists the project's Cloud Logging buckets in every location
// (the "-" wildcard), including _Default and _Required. Buckets pending
// deletion are left out: they no longer keep logs. Log buckets carry no
// labels.
func (inv *Inventory) logBuckets(ctx context.Context) ([]meridian.LiveResource, error) {
	var out []meridian.LiveResource
	req := &loggingpb.ListBucketsRequest{Parent: "projects/" + inv.project + "/locations/-", PageSize: int32(inv.pageSize)}
	for b, err := range inv.logging.ListBuckets(ctx, req).All() {
		if err != nil {
			return out, fmt.Errorf("list log buckets: %w", err)
		}
		if b.GetLifecycleState() == loggingpb.LifecycleState_DELETE_REQUESTED {
			continue
		}
		out = append(out, meridian.LiveResource{
			Provider:      meridian.ProviderGCP,
			Kind:          meridian.LiveLogStore,
			ID:            loggingResourcePrefix + b.GetName(),
			Name:          lastSegment(b.GetName()),
			Region:        location(b.GetName()),
			Account:       inv.project,
			RetentionDays: int(b.GetRetentionDays()),
			Encryption:    cmekEncryption(b.GetCmekSettings().GetKmsKeyName()),
		})
	}
	return out, nil
}
