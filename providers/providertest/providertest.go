package providertest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// Run checks that backend b honours the providers.Backend contract and that
// catalog c and providers.Resolve price b's provider's targets as documented.
// Each check is a subtest, so a failure names the broken property.
func Run(t *testing.T, b providers.Backend, c *providers.Catalog) {
	t.Helper()
	for _, ch := range checks() {
		t.Run(ch.name, func(t *testing.T) {
			for _, err := range ch.fn(b, c) {
				t.Error(err)
			}
		})
	}
}

type check struct {
	name string
	fn   func(providers.Backend, *providers.Catalog) []error
}

func checks() []check {
	return []check{
		{"Provider", checkProvider},
		{"Regions", checkRegions},
		{"CatalogRegionsKnown", checkCatalogRegionsKnown},
		{"CatalogRows", checkCatalogRows},
		{"ResolveCatalog", checkResolveCatalog},
		{"ResolveUnknownRegion", checkResolveUnknownRegion},
		{"ResolveExplicit", checkResolveExplicit},
		{"ResolveMissingPricing", checkResolveMissingPricing},
	}
}

var regionRE = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

func checkProvider(b providers.Backend, _ *providers.Catalog) []error {
	if p := b.Provider(); !p.Valid() {
		return []error{fmt.Errorf("Provider() = %q, not a known provider", p)}
	}
	return nil
}

func checkRegions(b providers.Backend, _ *providers.Catalog) []error {
	var errs []error
	rs := b.Regions()
	cloud := b.Provider().Cloud()
	switch {
	case cloud && len(rs) == 0:
		errs = append(errs, fmt.Errorf("Regions() is empty for cloud provider %s", b.Provider()))
	case !cloud && len(rs) > 0:
		errs = append(errs, fmt.Errorf("Regions() = %v for %s, whose site names are free-form; want none", rs, b.Provider()))
	}
	if !slices.IsSorted(rs) {
		errs = append(errs, fmt.Errorf("Regions() = %v, not sorted", rs))
	}
	if c := slices.Compact(slices.Clone(rs)); len(c) != len(rs) {
		errs = append(errs, fmt.Errorf("Regions() = %v, has duplicates", rs))
	}
	for _, r := range rs {
		if !regionRE.MatchString(r) {
			errs = append(errs, fmt.Errorf("Regions(): %q is not a lower-case region code", r))
		}
	}
	// A caller may keep or modify the slice; the backend must not care.
	if len(rs) > 0 {
		rs[0] = "mutated-by-caller"
		if again := b.Regions(); len(again) > 0 && again[0] == "mutated-by-caller" {
			errs = append(errs, errors.New("Regions() returns shared state: a caller's change shows in the next call"))
		}
	}
	return errs
}

func checkCatalogRegionsKnown(b providers.Backend, c *providers.Catalog) []error {
	p := b.Provider()
	known := b.Regions()
	var errs []error
	for _, r := range c.Regions(p) {
		if !p.Cloud() {
			errs = append(errs, fmt.Errorf("catalog prices %s region %q; only cloud providers may be in the catalog", p, r))
			continue
		}
		if !slices.Contains(known, r) {
			errs = append(errs, fmt.Errorf("catalog region %s/%s is not among the backend's regions %v", p, r, known))
		}
	}
	return errs
}

func checkCatalogRows(b providers.Backend, c *providers.Catalog) []error {
	p := b.Provider()
	var errs []error
	for _, r := range c.Regions(p) {
		e, ok := c.Entry(p, r)
		if !ok {
			errs = append(errs, fmt.Errorf("Regions(%s) lists %q but Entry has no row", p, r))
			continue
		}
		rates, ok := c.Rates(p, r)
		if !ok || rates != e.Rates() {
			errs = append(errs, fmt.Errorf("Rates(%s, %s) = %+v, %v; want the entry's %+v", p, r, rates, ok, e.Rates()))
		}
		if want := "catalog:" + string(p) + "/" + r; rates.Source != want {
			errs = append(errs, fmt.Errorf("Rates(%s, %s).Source = %q, want %q", p, r, rates.Source, want))
		}
		for name, v := range map[string]float64{
			"vcpu_hour": rates.VCPUHour, "gib_hour": rates.GiBHour,
			"egress_gb": rates.EgressGB, "storage_gb_month": rates.StorageGBMonth,
		} {
			if !(v > 0) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("%s/%s %s = %v, want a positive price", p, r, name, v))
			}
		}
		in := e.Instance
		if got := in.VCPU*e.VCPUHour + in.MemoryGiB*e.GiBHour; math.Abs(got-in.Hour) > providers.Tolerance {
			errs = append(errs, fmt.Errorf("%s/%s: %v×%v + %v×%v = %v, want the %s price %v",
				p, r, in.VCPU, e.VCPUHour, in.MemoryGiB, e.GiBHour, got, in.Type, in.Hour))
		}
		for _, pr := range []providers.Price{e.StorageGBMonth, e.EgressGB} {
			if pr.Basis == providers.BasisFallback && pr.From == "" {
				errs = append(errs, fmt.Errorf("%s/%s %s: fallback without from", p, r, pr.Item))
			}
		}
	}
	return errs
}

func checkResolveCatalog(b providers.Backend, c *providers.Catalog) []error {
	p := b.Provider()
	var errs []error
	if !p.Cloud() {
		t := target(p, "site-1", meridian.Pricing{Catalog: true})
		if err := wantInvalid(providers.Resolve(c, t)); err != nil {
			errs = append(errs, fmt.Errorf("Resolve(%s target with catalog: true): %w", p, err))
		}
		return errs
	}
	for _, r := range c.Regions(p) {
		// Explicit figures beside catalog: true must not leak into the result.
		t := target(p, r, meridian.Pricing{Catalog: true, VCPUHour: 99, GiBHour: 99})
		got, err := providers.Resolve(c, t)
		want, _ := c.Rates(p, r)
		if err != nil || got != want {
			errs = append(errs, fmt.Errorf("Resolve(%s/%s, catalog) = %+v, %v; want %+v", p, r, got, err, want))
		}
	}
	return errs
}

func checkResolveUnknownRegion(b providers.Backend, c *providers.Catalog) []error {
	p := b.Provider()
	if !p.Cloud() {
		return nil
	}
	t := target(p, "meridian-nowhere-1", meridian.Pricing{Catalog: true})
	if err := wantInvalid(providers.Resolve(c, t)); err != nil {
		return []error{fmt.Errorf("Resolve(%s/meridian-nowhere-1, catalog): %w", p, err)}
	}
	return nil
}

func checkResolveExplicit(b providers.Backend, c *providers.Catalog) []error {
	p := b.Provider()
	region := "site-1"
	if rs := b.Regions(); len(rs) > 0 {
		region = rs[0]
	}
	t := target(p, region, meridian.Pricing{VCPUHour: 0.021, GiBHour: 0.003, EgressGB: 0.01, StorageGBMonth: 0.05})
	got, err := providers.Resolve(c, t)
	want := meridian.Rates{VCPUHour: 0.021, GiBHour: 0.003, EgressGB: 0.01, StorageGBMonth: 0.05, Source: "target"}
	if err != nil || got != want {
		return []error{fmt.Errorf("Resolve(%s, explicit) = %+v, %v; want %+v", p, got, err, want)}
	}
	return nil
}

func checkResolveMissingPricing(b providers.Backend, c *providers.Catalog) []error {
	p := b.Provider()
	var errs []error
	for name, pr := range map[string]meridian.Pricing{
		"no pricing":        {},
		"negative vcpu":     {VCPUHour: -0.01, GiBHour: 0.003},
		"negative storage":  {VCPUHour: 0.02, GiBHour: 0.003, StorageGBMonth: -1},
		"not-a-number rate": {VCPUHour: math.NaN(), GiBHour: 0.003},
	} {
		if err := wantInvalid(providers.Resolve(c, target(p, "site-1", pr))); err != nil {
			errs = append(errs, fmt.Errorf("Resolve(%s, %s): %w", p, name, err))
		}
	}
	return errs
}

const targetName = "conformance-target"

func target(p meridian.Provider, region string, pr meridian.Pricing) *meridian.Target {
	return &meridian.Target{Name: targetName, Provider: p, Region: region, Pricing: pr}
}

// wantInvalid reports what is wrong with a Resolve result that should have
// been an EINVALID error naming the target.
func wantInvalid(r meridian.Rates, err error) error {
	switch {
	case err == nil:
		return fmt.Errorf("got rates %+v, want an error", r)
	case meridian.ErrorCode(err) != meridian.EINVALID:
		return fmt.Errorf("error code %q (%v), want %q", meridian.ErrorCode(err), err, meridian.EINVALID)
	case !strings.Contains(err.Error(), targetName):
		return fmt.Errorf("error %q does not name the target %q", err, targetName)
	}
	return nil
}
