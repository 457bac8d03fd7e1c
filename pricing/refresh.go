package pricing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// Reader reads one provider's catalog row for a region from its price API.
// The row's Instance and StorageGBMonth must be set; EgressGB may be left
// zero when the API has no price, and is then filled from the base catalog
// as a fallback. Compute rates are derived by Refresh with the catalog's
// split, so that every provider is ranked the same way.
type Reader interface {
	Provider() meridian.Provider
	Read(ctx context.Context, region string) (providers.Entry, error)
}

// API is a Reader and the endpoint it reads, recorded as provenance.
type API struct {
	Reader Reader
	// URL is the endpoint shown in the catalog's source ("" for the SDK's
	// default endpoint, recorded as "default").
	URL string
	// Regions to refresh; empty means the base catalog's regions of the
	// reader's provider.
	Regions []string
}

// Refresh reads every API's regions and returns base's file with those rows
// replaced (or added), a source per API with the time fetched, and the
// compute rates re-derived. Rows of other providers and regions are kept
// as they are, so the result prices everything base prices. It fails, and
// writes nothing, when any region cannot be read: a half-refreshed catalog
// would mix dates without saying so.
func Refresh(ctx context.Context, base *providers.Catalog, apis []API, now time.Time) (*providers.File, error) {
	f := base.File()
	at := now.UTC().Format(time.RFC3339)
	f.FetchedAt = at
	f.Version = at[:10]
	f.Basis = "on-demand list prices (Linux, shared tenancy) read from the cloud price APIs where a source says so, " +
		"else from the embedded catalog's public snapshots; no discounts, no free tiers"
	baseRows := map[string]providers.Entry{}
	for _, e := range base.Entries() {
		baseRows[string(e.Provider)+"/"+e.Region] = e
	}
	index := map[string]int{}
	for i, e := range f.Rows {
		index[string(e.Provider)+"/"+e.Region] = i
	}
	var errs []error
	for _, api := range apis {
		p := api.Reader.Provider()
		regions := api.Regions
		if len(regions) == 0 {
			regions = base.Regions(p)
		}
		if len(regions) == 0 {
			errs = append(errs, fmt.Errorf("%s: no regions to refresh: give --region", p))
			continue
		}
		sourced := false
		for _, region := range regions {
			e, err := api.Reader.Read(ctx, region)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", p, region, err))
				continue
			}
			key := string(p) + "/" + region
			if e.EgressGB.Value == 0 {
				old, ok := baseRows[key]
				if !ok {
					errs = append(errs, fmt.Errorf("%s: the price API lists no internet egress price and the base catalog has no row to fall back on", key))
					continue
				}
				e.EgressGB = fallback(old.EgressGB, base.Version(), key)
			}
			// The source ID carries the fetch time, so that a refresh of a
			// refreshed catalog keeps the rows it did not read citing the
			// fetch they came from.
			id := e.Instance.Source + "@" + at
			restamp(&e, e.Instance.Source, id)
			if !sourced {
				url := api.URL
				if url == "" {
					url = "default"
				}
				f.Sources = append(f.Sources, providers.Source{ID: id, Repo: string(p) + " price API",
					URL: url, FetchedAt: at, Date: at[:10], Licence: "prices as published by the provider",
					Note: "read by meridian prices refresh"})
				sourced = true
			}
			if i, ok := index[key]; ok {
				f.Rows[i] = e
			} else {
				index[key] = len(f.Rows)
				f.Rows = append(f.Rows, e)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("refresh prices: %w", err)
	}
	pruneSources(f)
	f.DeriveRates()
	b, err := f.Encode()
	if err != nil {
		return nil, err
	}
	if _, err := providers.ParseCatalog(b); err != nil {
		return nil, fmt.Errorf("refresh prices: the refreshed catalog does not check: %w", err)
	}
	return f, nil
}

// fallback labels a base-catalog price borrowed into a refreshed row.
func fallback(p providers.Price, version, key string) providers.Price {
	p.From = "catalog " + version + " " + key
	if p.Basis != providers.BasisPublished || p.Note != "" {
		p.Note = "the price API lists no price for this region; kept from the base catalog (" + string(p.Basis) + "; " + p.Note + ")"
	} else {
		p.Note = "the price API lists no price for this region; kept from the base catalog"
	}
	p.Basis = providers.BasisFallback
	return p
}

// restamp makes the prices of e that cite from cite to instead.
func restamp(e *providers.Entry, from, to string) {
	for _, src := range []*string{&e.Instance.Source, &e.StorageGBMonth.Source, &e.EgressGB.Source} {
		if *src == from {
			*src = to
		}
	}
}

// pruneSources drops the API sources (those with a fetch time) that no row
// cites any more: earlier fetches whose rows were all read again.
func pruneSources(f *providers.File) {
	cited := map[string]bool{f.Split.Source: true}
	for _, e := range f.Rows {
		cited[e.Instance.Source], cited[e.StorageGBMonth.Source], cited[e.EgressGB.Source] = true, true, true
	}
	f.Sources = slices.DeleteFunc(f.Sources, func(s providers.Source) bool { return s.FetchedAt != "" && !cited[s.ID] })
}
