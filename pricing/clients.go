package pricing

import (
	"context"
	"fmt"
	"slices"

	billing "cloud.google.com/go/billing/apiv1"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"google.golang.org/api/option"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers/aws"
	"github.com/meridianhq/meridian/providers/azure"
	"github.com/meridianhq/meridian/providers/gcp"
)

// Options says which price APIs to read and how to reach them. The zero
// value reads all three clouds at their public endpoints, for the base
// catalog's regions, with each SDK's standard credentials.
type Options struct {
	// Providers to refresh; empty means aws, azure and gcp.
	Providers []meridian.Provider
	// Regions per provider; a provider without any refreshes the base
	// catalog's regions.
	Regions map[meridian.Provider][]string
	// Endpoints override a provider's API endpoint (tests, private
	// mirrors). AWS also honours AWS_ENDPOINT_URL(_PRICING), and GCP
	// the client options below.
	Endpoints map[meridian.Provider]string
	// AWS, Azure and GCP are extra SDK options, applied last.
	AWS   []func(*pricing.Options)
	Azure *policy.ClientOptions
	GCP   []option.ClientOption
}

// pricingRegions are the regions that serve the AWS Price List Query API.
var pricingRegions = []string{"us-east-1", "eu-central-1", "ap-south-1"}

// Open builds the API readers opts asks for, through the SDK clients and
// their standard credential chains: the AWS shared config and environment
// (credentials are needed: the Price List API is signed), none for the
// public Azure Retail Prices API, and Application Default Credentials for
// Cloud Billing. close releases the clients.
func Open(ctx context.Context, opts Options) (apis []API, close func() error, err error) {
	ps := opts.Providers
	if len(ps) == 0 {
		ps = []meridian.Provider{meridian.ProviderAWS, meridian.ProviderAzure, meridian.ProviderGCP}
	}
	var closers []func() error
	close = func() error {
		var first error
		for _, c := range closers {
			if err := c(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	for _, p := range slices.Compact(slices.Sorted(slices.Values(ps))) {
		endpoint := opts.Endpoints[p]
		api := API{URL: endpoint, Regions: opts.Regions[p]}
		switch p {
		case meridian.ProviderAWS:
			cfg, err := config.LoadDefaultConfig(ctx)
			if err != nil {
				return nil, close, fmt.Errorf("aws config: %w", err)
			}
			if !slices.Contains(pricingRegions, cfg.Region) {
				cfg.Region = "us-east-1"
			}
			if api.URL == "" && cfg.BaseEndpoint != nil {
				api.URL = *cfg.BaseEndpoint
			}
			client := pricing.NewFromConfig(cfg, append([]func(*pricing.Options){func(o *pricing.Options) {
				if endpoint != "" {
					o.BaseEndpoint = &endpoint
				}
			}}, opts.AWS...)...)
			api.Reader = aws.NewPriceReader(client)
		case meridian.ProviderAzure:
			api.Reader = azure.NewPriceReader(endpoint, opts.Azure)
		case meridian.ProviderGCP:
			var co []option.ClientOption
			if endpoint != "" {
				co = append(co, option.WithEndpoint(endpoint))
			}
			client, err := billing.NewCloudCatalogClient(ctx, append(co, opts.GCP...)...)
			if err != nil {
				return nil, close, fmt.Errorf("gcp billing client: %w", err)
			}
			closers = append(closers, client.Close)
			api.Reader = gcp.NewPriceReader(client)
		default:
			return nil, close, fmt.Errorf("provider %q has no price API; only aws, azure and gcp do", p)
		}
		apis = append(apis, api)
	}
	return apis, close, nil
}
