package aws

import (
	"context"
	"fmt"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/meridianhq/meridian"
)

// logGroups lists the region's CloudWatch Logs log groups with their
// retention (0 when they never expire), key and tags. Log groups are
// always encrypted: with the service's key unless a KMS key is
// associated.
func (inv *Inventory) logGroups(ctx context.Context, keys keyLookup) ([]meridian.LiveResource, error) {
	var out []meridian.LiveResource
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(inv.logs, &cloudwatchlogs.DescribeLogGroupsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("logs describe log groups: %w", err)
		}
		for _, g := range page.LogGroups {
			name := sdkaws.ToString(g.LogGroupName)
			// LogGroupArn is the ARN without the ":*" suffix that Arn
			// carries; tagging APIs take it.
			id := sdkaws.ToString(g.LogGroupArn)
			if id == "" {
				id = strings.TrimSuffix(sdkaws.ToString(g.Arn), ":*")
			}
			r := meridian.LiveResource{Kind: meridian.LiveLogStore, ID: id, Name: name,
				RetentionDays: int(sdkaws.ToInt32(g.RetentionInDays)),
				Encryption:    keys.encryption(sdkaws.ToString(g.KmsKeyId))}
			tags, err := inv.logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: sdkaws.String(id)})
			if err != nil {
				return nil, fmt.Errorf("logs tags of %s: %w", name, err)
			}
			r.Tags = tags.Tags
			if r.Tags == nil {
				r.Tags = map[string]string{}
			}
			out = append(out, r)
		}
	}
	return out, nil
}
