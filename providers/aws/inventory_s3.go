package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/meridianhq/meridian"
)

// buckets lists the account's S3 buckets in the inventory's region, with
// their default encryption and tags.
func (inv *Inventory) buckets(ctx context.Context, keys keyLookup) ([]meridian.LiveResource, error) {
	var out []meridian.LiveResource
	p := s3.NewListBucketsPaginator(inv.s3, &s3.ListBucketsInput{BucketRegion: sdkaws.String(inv.region)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3 list buckets: %w", err)
		}
		for _, b := range page.Buckets {
			name := sdkaws.ToString(b.Name)
			region, err := inv.bucketRegion(ctx, b)
			if err != nil {
				return nil, err
			}
			if region != inv.region {
				continue // ListBuckets is global; another target reads it
			}
			r := meridian.LiveResource{Kind: meridian.LiveBucket, ID: "arn:aws:s3:::" + name, Name: name}
			if r.Encryption, err = inv.bucketEncryption(ctx, name, keys); err != nil {
				return nil, err
			}
			if r.Tags, err = inv.bucketTags(ctx, name); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	// S3 lists by name; emulators and mirrors may not.
	slices.SortFunc(out, func(a, b meridian.LiveResource) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// bucketRegion is the listed region, or GetBucketLocation's answer where
// the listing has none: an empty constraint is us-east-1, and EU is the
// legacy name of eu-west-1.
func (inv *Inventory) bucketRegion(ctx context.Context, b s3types.Bucket) (string, error) {
	if r := sdkaws.ToString(b.BucketRegion); r != "" {
		return r, nil
	}
	loc, err := inv.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b.Name})
	if err != nil {
		return "", fmt.Errorf("s3 location of %s: %w", sdkaws.ToString(b.Name), err)
	}
	switch loc.LocationConstraint {
	case "":
		return "us-east-1", nil
	case s3types.BucketLocationConstraintEu:
		return "eu-west-1", nil
	}
	return string(loc.LocationConstraint), nil
}

// bucketEncryption reads the default encryption: SSE-S3 (AES256) is
// provider-managed, SSE-KMS and DSSE-KMS are the level of their key (the
// AWS-managed aws/s3 key when none is named). A bucket without a
// configuration still encrypts new objects with SSE-S3, as every bucket
// has since January 2023.
func (inv *Inventory) bucketEncryption(ctx context.Context, name string, keys keyLookup) (*meridian.LiveEncryption, error) {
	enc, err := inv.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: sdkaws.String(name)})
	if apiCode(err) == "ServerSideEncryptionConfigurationNotFoundError" {
		return &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("s3 encryption of %s: %w", name, err)
	}
	level := &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}
	if enc.ServerSideEncryptionConfiguration == nil {
		return level, nil
	}
	for _, rule := range enc.ServerSideEncryptionConfiguration.Rules {
		d := rule.ApplyServerSideEncryptionByDefault
		if d == nil {
			continue
		}
		switch d.SSEAlgorithm {
		case s3types.ServerSideEncryptionAwsKms, s3types.ServerSideEncryptionAwsKmsDsse:
			level = keys.encryption(sdkaws.ToString(d.KMSMasterKeyID))
		}
	}
	return level, nil
}

func (inv *Inventory) bucketTags(ctx context.Context, name string) (map[string]string, error) {
	out, err := inv.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: sdkaws.String(name)})
	if apiCode(err) == "NoSuchTagSet" {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("s3 tags of %s: %w", name, err)
	}
	tags := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		tags[sdkaws.ToString(t.Key)] = sdkaws.ToString(t.Value)
	}
	return tags, nil
}

// apiCode is the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
