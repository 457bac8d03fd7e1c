package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/pricing"
	"github.com/meridianhq/meridian/providers"
)

func newPricesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prices",
		Short: "Refresh the price catalog from the clouds' price APIs",
	}
	cmd.AddCommand(newPricesRefreshCmd(a))
	return cmd
}

func newPricesRefreshCmd(a *app) *cobra.Command {
	var (
		provs, regions, endpoints []string
		base, out, format         string
	)
	cmd := &cobra.Command{
		Use:   "refresh [--provider aws|azure|gcp]... [--region [PROVIDER/]REGION]... [--endpoint [PROVIDER=]URL]... --out FILE",
		Short: "Write a price catalog read from the AWS, Azure and GCP price APIs",
		Long: `refresh reads on-demand list prices through the clouds' SDKs and writes a
catalog file in the layout of the embedded one, with provenance: the API,
endpoint and time of each source, and the SKU IDs behind every rate.

  aws    Price List Query API (pricing:GetProducts); AWS shared config,
         profiles and roles (credentials are required); AWS_ENDPOINT_URL
         or --endpoint for a mirror.
  azure  Retail Prices API (public, no credentials).
  gcp    Cloud Billing Catalog API (ListSkus); Application Default
         Credentials.

Without --region, the regions of the base catalog (--base, else the
embedded one) are refreshed; rows of other providers and regions are kept.
--region and --endpoint take a PROVIDER/ or PROVIDER= prefix, which may be
left out when one --provider is given. Nothing is written unless every
region was read. Point pricing.catalog in meridian.yaml at the committed
file to plan with it (docs/pricing.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if out == "" {
				return &exitErr{code: exitError, err: fmt.Errorf("--out is required")}
			}
			if err := tableOrJSON(format); err != nil {
				return err
			}
			opts, err := refreshOptions(provs, regions, endpoints)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			cat, err := loadCatalog(base)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			apis, closeAPIs, err := pricing.Open(ctx, opts)
			defer func() { _ = closeAPIs() }()
			if err != nil {
				return err
			}
			f, err := pricing.Refresh(ctx, cat, apis, time.Now())
			if err != nil {
				return err
			}
			b, err := f.Encode()
			if err != nil {
				return err
			}
			fresh, err := providers.ParseCatalogFile(out, b)
			if err != nil {
				return err
			}
			if err := pricing.WriteFile(out, b); err != nil {
				return err
			}
			a.logger.InfoContext(ctx, "price catalog written", "file", out, "rows", len(fresh.Entries()))
			return printList(a.stdout, format, pricing.Changes(cat, fresh), "PROVIDER\tREGION\tRATE\tOLD\tNEW",
				func(c pricing.Change) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", c.Provider, c.Region, c.Rate,
						strconv.FormatFloat(c.Old, 'g', 8, 64), strconv.FormatFloat(c.New, 'g', 8, 64))
				})
		},
	}
	cmd.Flags().StringArrayVar(&provs, "provider", nil, "provider to refresh: aws, azure or gcp (repeatable; default all three)")
	cmd.Flags().StringArrayVar(&regions, "region", nil, "[PROVIDER/]REGION to refresh (repeatable; default the base catalog's regions)")
	cmd.Flags().StringArrayVar(&endpoints, "endpoint", nil, "[PROVIDER=]URL of a price API mirror or emulator (repeatable)")
	cmd.Flags().StringVar(&base, "base", "", "catalog file to start from (default: the embedded catalog)")
	cmd.Flags().StringVar(&out, "out", "", "catalog file to write")
	cmd.Flags().StringVar(&format, "format", "table", "report of the changed rates: table or json")
	return cmd
}

// refreshOptions turns the flags into pricing.Options.
func refreshOptions(provs, regions, endpoints []string) (pricing.Options, error) {
	opts := pricing.Options{Regions: map[meridian.Provider][]string{}, Endpoints: map[meridian.Provider]string{}}
	for _, p := range provs {
		mp := meridian.Provider(strings.ToLower(p))
		if !mp.Cloud() {
			return opts, fmt.Errorf("--provider: want aws, azure or gcp, got %q", p)
		}
		opts.Providers = append(opts.Providers, mp)
	}
	only := func(flag, v string) (meridian.Provider, error) {
		if len(opts.Providers) != 1 {
			return "", fmt.Errorf("%s %q: say which provider it is for (PROVIDER%s...) or give one --provider", flag, v, map[string]string{"--region": "/", "--endpoint": "="}[flag])
		}
		return opts.Providers[0], nil
	}
	for _, r := range regions {
		p, region, ok := strings.Cut(r, "/")
		mp := meridian.Provider(p)
		if !ok {
			var err error
			if mp, err = only("--region", r); err != nil {
				return opts, err
			}
			region = r
		}
		if !mp.Cloud() || region == "" {
			return opts, fmt.Errorf("--region %q: want [aws|azure|gcp/]REGION", r)
		}
		if len(opts.Providers) > 0 && !slices.Contains(opts.Providers, mp) {
			return opts, fmt.Errorf("--region %q: %s is not among the --provider values", r, mp)
		}
		opts.Regions[mp] = append(opts.Regions[mp], region)
	}
	for _, e := range endpoints {
		p, url, ok := strings.Cut(e, "=")
		mp := meridian.Provider(p)
		if !ok || !mp.Cloud() {
			var err error
			if mp, err = only("--endpoint", e); err != nil {
				return opts, err
			}
			url = e
		}
		if url == "" {
			return opts, fmt.Errorf("--endpoint %q: empty URL", e)
		}
		opts.Endpoints[mp] = url
	}
	return opts, nil
}

// loadCatalog reads a catalog file, or returns the embedded catalog for "".
func loadCatalog(path string) (*providers.Catalog, error) {
	if path == "" {
		return providers.DefaultCatalog()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--base: %w", err)
	}
	return providers.ParseCatalogFile(path, b)
}
