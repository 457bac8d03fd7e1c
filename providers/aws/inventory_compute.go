package aws

import (
	"context"
	"fmt"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/meridianhq/meridian"
)

// instances lists the region's EC2 instances that are not terminated,
// with their tags.
func (inv *Inventory) instances(ctx context.Context, _ keyLookup) ([]meridian.LiveResource, error) {
	var out []meridian.LiveResource
	p := ec2.NewDescribeInstancesPaginator(inv.ec2, &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{{
			Name:   sdkaws.String("instance-state-name"),
			Values: []string{"pending", "running", "stopping", "stopped"},
		}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ec2 describe instances: %w", err)
		}
		for _, res := range page.Reservations {
			owner := sdkaws.ToString(res.OwnerId)
			for _, in := range res.Instances {
				id := sdkaws.ToString(in.InstanceId)
				r := meridian.LiveResource{Kind: meridian.LiveVM, Name: id, Account: owner,
					ID:   fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", inv.region, owner, id),
					Tags: map[string]string{}}
				for _, t := range in.Tags {
					r.Tags[sdkaws.ToString(t.Key)] = sdkaws.ToString(t.Value)
				}
				if n := r.Tags["Name"]; n != "" {
					r.Name = n
				}
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// clusters lists the region's EKS clusters with their tags.
func (inv *Inventory) clusters(ctx context.Context, _ keyLookup) ([]meridian.LiveResource, error) {
	var out []meridian.LiveResource
	p := eks.NewListClustersPaginator(inv.eks, &eks.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("eks list clusters: %w", err)
		}
		for _, name := range page.Clusters {
			d, err := inv.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: sdkaws.String(name)})
			if err != nil {
				return nil, fmt.Errorf("eks describe cluster %s: %w", name, err)
			}
			r := meridian.LiveResource{Kind: meridian.LiveCluster, Name: name, Tags: map[string]string{}}
			if c := d.Cluster; c != nil {
				r.ID = sdkaws.ToString(c.Arn)
				for k, v := range c.Tags {
					r.Tags[k] = v
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}
