package providers

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/meridianhq/meridian"
)

// embeddedCatalog is the shipped catalog. data/README.md records where its
// numbers come from and under which licences.
//
//go:embed data/catalog.json
var embeddedCatalog []byte

// defaultCatalog parses embeddedCatalog once. The result is never modified,
// so every caller can share it.
var defaultCatalog = sync.OnceValues(func() (*Catalog, error) {
	return ParseCatalog(embeddedCatalog)
})

// DefaultCatalog returns the price catalog compiled into the binary. It is
// parsed on first use and shared afterwards; a Catalog is read-only and safe
// for concurrent use.
func DefaultCatalog() (*Catalog, error) {
	c, err := defaultCatalog()
	if err != nil {
		return nil, fmt.Errorf("load embedded price catalog: %w", err)
	}
	return c, nil
}

// Tolerance is the absolute error, in USD per hour, allowed between a
// catalog row's reference instance price and the price its per-vCPU and
// per-GiB rates add back up to. It absorbs the rounding of the stored rates
// to 12 decimals.
const Tolerance = 1e-9

// Basis says how a catalog price was obtained.
type Basis string

// Bases of catalog prices.
const (
	// BasisPublished is a number read unchanged from its source.
	BasisPublished Basis = "published"
	// BasisDerived is computed from published numbers by arithmetic that
	// the price's Note spells out (e.g. monthly cost ÷ quantity).
	BasisDerived Basis = "derived"
	// BasisFallback is borrowed because the sources have no price for this
	// provider and region: From names where it was borrowed from (another
	// region of the same provider, or a documented default).
	BasisFallback Basis = "fallback"
)

func (b Basis) valid() bool {
	return b == BasisPublished || b == BasisDerived || b == BasisFallback
}

// Source is one place catalog numbers were taken from, identified by the
// S-id used in the pricing reference data.
type Source struct {
	ID      string `json:"id"`
	Repo    string `json:"repo"`
	Path    string `json:"path"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Licence string `json:"licence"`
	// CrossCheckOnly marks a source without a usable licence: it may be
	// compared against, but no catalog value may cite it.
	CrossCheckOnly bool   `json:"cross_check_only,omitempty"`
	Note           string `json:"note,omitempty"`
}

// Split is the CPU:RAM price ratio that divides a reference instance's
// hourly price into a per-vCPU-hour and a per-GiB-hour rate.
type Split struct {
	VCPUWeight float64 `json:"vcpu_weight"`
	GiBWeight  float64 `json:"gib_weight"`
	Source     string  `json:"source"`
	Note       string  `json:"note,omitempty"`
}

// Divide splits hour, the price of an instance with vcpu cores and memGiB
// GiB, into rates that keep the split's ratio and add back up to hour:
// vcpu×vcpuHour + memGiB×gibHour = hour.
func (s Split) Divide(hour, vcpu, memGiB float64) (vcpuHour, gibHour float64) {
	d := vcpu*s.VCPUWeight + memGiB*s.GiBWeight
	return hour * s.VCPUWeight / d, hour * s.GiBWeight / d
}

// Instance is the general-purpose instance a row's compute rates were
// derived from.
type Instance struct {
	Type      string  `json:"type"`
	VCPU      float64 `json:"vcpu"`
	MemoryGiB float64 `json:"memory_gib"`
	// Hour is the on-demand price per instance-hour.
	Hour   float64 `json:"hour"`
	Source string  `json:"source"`
	Basis  Basis   `json:"basis"`
	Note   string  `json:"note,omitempty"`
}

// Price is one sourced unit price.
type Price struct {
	Value  float64 `json:"price"`
	Item   string  `json:"item"`
	Source string  `json:"source"`
	Basis  Basis   `json:"basis"`
	// From is set for BasisFallback: where the value was borrowed from.
	From string `json:"from,omitempty"`
	Note string `json:"note,omitempty"`
}

// Entry is one catalog row: a provider and region's rates and where each of
// them came from. VCPUHour and GiBHour are derived from Instance by the
// catalog's Split.
type Entry struct {
	Provider       meridian.Provider `json:"provider"`
	Region         string            `json:"region"`
	VCPUHour       float64           `json:"vcpu_hour"`
	GiBHour        float64           `json:"gib_hour"`
	Instance       Instance          `json:"instance"`
	StorageGBMonth Price             `json:"storage_gb_month"`
	EgressGB       Price             `json:"egress_gb"`
}

// Rates returns the entry's unit rates, with Source "catalog:<provider>/<region>".
func (e Entry) Rates() meridian.Rates {
	return meridian.Rates{
		VCPUHour:       e.VCPUHour,
		GiBHour:        e.GiBHour,
		EgressGB:       e.EgressGB.Value,
		StorageGBMonth: e.StorageGBMonth.Value,
		Source:         "catalog:" + string(e.Provider) + "/" + e.Region,
	}
}

// catalogFile is the layout of data/catalog.json.
type catalogFile struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Currency string   `json:"currency"`
	Basis    string   `json:"basis"`
	Split    Split    `json:"split"`
	Sources  []Source `json:"sources"`
	Rows     []Entry  `json:"rows"`
}

type regionKey struct {
	provider meridian.Provider
	region   string
}

// Catalog is a read-only price table per cloud provider and region. The
// zero value is an empty catalog; use DefaultCatalog or ParseCatalog.
type Catalog struct {
	version    string
	split      Split
	sources    map[string]Source
	entries    map[regionKey]Entry
	regions    map[meridian.Provider][]string
	provenance string
}

// Rates returns the unit rates for provider p in region, and false when the
// catalog has no such row.
func (c *Catalog) Rates(p meridian.Provider, region string) (meridian.Rates, bool) {
	e, ok := c.Entry(p, region)
	if !ok {
		return meridian.Rates{}, false
	}
	return e.Rates(), true
}

// Entry returns the full row for provider p in region, with the source and
// basis of every figure, and false when the catalog has no such row.
func (c *Catalog) Entry(p meridian.Provider, region string) (Entry, bool) {
	e, ok := c.entries[regionKey{p, region}]
	return e, ok
}

// Regions returns the regions the catalog prices for provider p, sorted. It
// is empty for providers the catalog does not cover (onprem, edge).
func (c *Catalog) Regions(p meridian.Provider) []string {
	return slices.Clone(c.regions[p])
}

// Version is the catalog's release date (YYYY-MM-DD).
func (c *Catalog) Version() string { return c.version }

// Split returns the CPU:RAM ratio the compute rates were derived with.
func (c *Catalog) Split() Split { return c.split }

// Source returns the source with the given S-id.
func (c *Catalog) Source(id string) (Source, bool) {
	s, ok := c.sources[id]
	return s, ok
}

// Provenance is a one-line statement of what the catalog is and where its
// numbers come from, for a plan to show next to its costs.
func (c *Catalog) Provenance() string { return c.provenance }

var regionRE = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

// ParseCatalog parses and checks a catalog in the layout of the embedded
// data/catalog.json. It rejects unknown fields, rows whose rates do not
// reproduce their reference instance price, prices without a known source,
// and any value citing a cross-check-only source; all problems are reported
// together.
func ParseCatalog(b []byte) (*Catalog, error) {
	var f catalogFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse catalog: trailing data after the catalog object")
	}
	c := &Catalog{
		version: f.Version,
		split:   f.Split,
		sources: make(map[string]Source, len(f.Sources)),
		entries: make(map[regionKey]Entry, len(f.Rows)),
		regions: make(map[meridian.Provider][]string),
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if f.Name == "" {
		bad("name: missing")
	}
	if f.Version == "" {
		bad("version: missing")
	}
	if f.Currency != "USD" {
		bad("currency: must be USD (the plan's currency), got %q", f.Currency)
	}
	for i, s := range f.Sources {
		switch {
		case s.ID == "":
			bad("sources[%d]: id: missing", i)
		case s.Licence == "":
			bad("sources[%d] (%s): licence: missing", i, s.ID)
		}
		if _, dup := c.sources[s.ID]; dup {
			bad("sources[%d]: id %s: duplicate", i, s.ID)
		}
		c.sources[s.ID] = s
	}
	cite := func(where, id string) {
		s, ok := c.sources[id]
		switch {
		case !ok:
			bad("%s: source %q: not among the catalog's sources", where, id)
		case s.CrossCheckOnly:
			bad("%s: source %s: is cross-check only (%s) and may not supply a value", where, id, s.Licence)
		}
	}
	if !positive(f.Split.VCPUWeight) || !positive(f.Split.GiBWeight) {
		bad("split: weights must be positive, got %v:%v", f.Split.VCPUWeight, f.Split.GiBWeight)
	}
	cite("split", f.Split.Source)

	for i, e := range f.Rows {
		where := fmt.Sprintf("rows[%d] (%s/%s)", i, e.Provider, e.Region)
		if !e.Provider.Cloud() {
			bad("%s: provider: must be aws, azure or gcp; %q targets carry explicit pricing", where, e.Provider)
		}
		if !regionRE.MatchString(e.Region) {
			bad("%s: region: must be a lower-case region code, got %q", where, e.Region)
		}
		k := regionKey{e.Provider, e.Region}
		if _, dup := c.entries[k]; dup {
			bad("%s: duplicate provider and region", where)
		}
		errs = append(errs, checkEntry(where, e, f.Split, cite)...)
		c.entries[k] = e
		c.regions[e.Provider] = append(c.regions[e.Provider], e.Region)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("parse catalog: %w", errors.Join(errs...))
	}
	for _, rs := range c.regions {
		slices.Sort(rs)
	}
	c.provenance = provenance(&f, c)
	return c, nil
}

// checkEntry checks one row's numbers: that the compute rates reproduce the
// reference instance price with the catalog's split, and that every price is
// positive, sourced and, when not published as is, explained.
func checkEntry(where string, e Entry, split Split, cite func(where, id string)) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(where+": "+format, args...))
	}
	in := e.Instance
	if in.Type == "" || !positive(in.VCPU) || !positive(in.MemoryGiB) || !positive(in.Hour) {
		bad("instance: needs type and positive vcpu, memory_gib and hour")
	} else if positive(split.VCPUWeight) && positive(split.GiBWeight) {
		wantV, wantG := split.Divide(in.Hour, in.VCPU, in.MemoryGiB)
		if math.Abs(e.VCPUHour-wantV) > Tolerance || math.Abs(e.GiBHour-wantG) > Tolerance {
			bad("vcpu_hour, gib_hour: %v, %v do not follow from instance hour %v with split %v:%v; want %.12f, %.12f",
				e.VCPUHour, e.GiBHour, in.Hour, split.VCPUWeight, split.GiBWeight, wantV, wantG)
		}
		if got := in.VCPU*e.VCPUHour + in.MemoryGiB*e.GiBHour; math.Abs(got-in.Hour) > Tolerance {
			bad("vcpu_hour, gib_hour: add up to %v per instance-hour, want %v", got, in.Hour)
		}
	}
	if in.Basis != BasisPublished {
		bad("instance: basis: must be published, got %q", in.Basis)
	}
	cite(where+": instance", in.Source)
	for _, p := range []struct {
		field string
		Price
	}{{"storage_gb_month", e.StorageGBMonth}, {"egress_gb", e.EgressGB}} {
		if !positive(p.Value) {
			bad("%s: price must be positive, got %v", p.field, p.Value)
		}
		if p.Item == "" {
			bad("%s: item: missing", p.field)
		}
		switch {
		case !p.Basis.valid():
			bad("%s: basis: must be published, derived or fallback, got %q", p.field, p.Basis)
		case p.Basis == BasisFallback && p.From == "":
			bad("%s: a fallback must say where it is from", p.field)
		case p.Basis != BasisPublished && p.Note == "":
			bad("%s: a %s price must explain itself in note", p.field, p.Basis)
		case p.Basis != BasisFallback && p.From != "":
			bad("%s: from is only for fallbacks", p.field)
		}
		cite(where+": "+p.field, p.Source)
	}
	return errs
}

func positive(f float64) bool { return f > 0 && !math.IsInf(f, 1) }

// provenance renders the one-line summary Provenance returns, listing the
// sources that supply values with their dates where known.
func provenance(f *catalogFile, c *Catalog) string {
	used := map[string]bool{f.Split.Source: true}
	var derived, fallback int
	for _, e := range f.Rows {
		used[e.Instance.Source] = true
		for _, p := range []Price{e.StorageGBMonth, e.EgressGB} {
			used[p.Source] = true
			switch p.Basis {
			case BasisDerived:
				derived++
			case BasisFallback:
				fallback++
			}
		}
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(sourceOrder(a), sourceOrder(b)), strings.Compare(a, b))
	})
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id
		if d := c.sources[id].Date; len(d) >= 10 && d[4] == '-' && d[7] == '-' {
			parts[i] += " " + d[:10]
		}
	}
	return fmt.Sprintf("%s %s: %s on-demand list prices for %d regions from public snapshots %s; "+
		"per-vCPU and per-GiB rates split from one general-purpose instance price per region at %v:%v (%s); "+
		"%d storage/egress prices derived and %d fallbacks, marked per row; see docs/pricing.md",
		f.Name, f.Version, f.Currency, len(f.Rows), strings.Join(parts, ", "),
		f.Split.VCPUWeight, f.Split.GiBWeight, f.Split.Source, derived, fallback)
}

// sourceOrder sorts S-ids numerically, so that S11 follows S8.
func sourceOrder(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "S"))
	if err != nil {
		return math.MaxInt32
	}
	return n
}
