package providers

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// URL and FetchedAt are set for a price API read by `meridian prices
	// refresh`: the endpoint asked and when (RFC 3339, UTC).
	URL       string `json:"url,omitempty"`
	FetchedAt string `json:"fetched_at,omitempty"`
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
	// SKUs are the price-list items the hour price was read from (AWS SKU,
	// Azure meter ID, GCP SKU ID), when it came from a price API.
	SKUs []string `json:"skus,omitempty"`
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
	// Unit is the quantity Value is per: "GB" or "GiB" for egress_gb,
	// "GB-month" or "GiB-month" for storage_gb_month. Empty means per GB.
	// Rates converts per-GiB prices to per GB, the unit plans apply them in.
	Unit string `json:"unit,omitempty"`
	// SKUs are the price-list items the value was read from, when it came
	// from a price API.
	SKUs []string `json:"skus,omitempty"`
}

// GBPerGiB is how many GB (10^9 bytes) one GiB (2^30 bytes) holds.
const GBPerGiB = 1.073741824

// PerGB returns the price per GB (per GB-month for storage), converting a
// per-GiB price: a GiB is 7.4% larger than a GB, so its price per GB is
// lower by that factor.
func (p Price) PerGB() float64 {
	if strings.HasPrefix(p.Unit, "GiB") {
		return p.Value / GBPerGiB
	}
	return p.Value
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
// Storage and egress prices published per GiB are converted to per GB.
func (e Entry) Rates() meridian.Rates {
	return meridian.Rates{
		VCPUHour:       e.VCPUHour,
		GiBHour:        e.GiBHour,
		EgressGB:       e.EgressGB.PerGB(),
		StorageGBMonth: e.StorageGBMonth.PerGB(),
		Source:         "catalog:" + string(e.Provider) + "/" + e.Region,
	}
}

// File is the layout of a catalog file: data/catalog.json, or one written
// by `meridian prices refresh`.
type File struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Currency string `json:"currency"`
	Basis    string `json:"basis"`
	// FetchedAt is set on a refreshed catalog: when its newest prices were
	// read (RFC 3339, UTC).
	FetchedAt string   `json:"fetched_at,omitempty"`
	Split     Split    `json:"split"`
	Sources   []Source `json:"sources"`
	Rows      []Entry  `json:"rows"`
}

// Encode returns the file in its canonical layout: indented JSON with a
// trailing newline, so that a refreshed file diffs cleanly in Git.
func (f *File) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encode catalog: %w", err)
	}
	return b.Bytes(), nil
}

// DeriveRates sets every row's vcpu_hour and gib_hour from its instance
// price with the file's split, rounded to 12 decimals as stored.
func (f *File) DeriveRates() {
	round := func(v float64) float64 { return math.Round(v*1e12) / 1e12 }
	for i := range f.Rows {
		in := f.Rows[i].Instance
		v, g := f.Split.Divide(in.Hour, in.VCPU, in.MemoryGiB)
		f.Rows[i].VCPUHour, f.Rows[i].GiBHour = round(v), round(g)
	}
}

// Clone returns a deep copy of f.
func (f *File) Clone() *File {
	c := *f
	c.Sources = slices.Clone(f.Sources)
	c.Rows = make([]Entry, len(f.Rows))
	for i, e := range f.Rows {
		e.Instance.SKUs = slices.Clone(e.Instance.SKUs)
		e.StorageGBMonth.SKUs = slices.Clone(e.StorageGBMonth.SKUs)
		e.EgressGB.SKUs = slices.Clone(e.EgressGB.SKUs)
		c.Rows[i] = e
	}
	return &c
}

type regionKey struct {
	provider meridian.Provider
	region   string
}

// Catalog is a read-only price table per cloud provider and region. The
// zero value is an empty catalog; use DefaultCatalog or ParseCatalog.
type Catalog struct {
	file       *File
	origin     string
	digest     string
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
// numbers come from, for a plan to show next to its costs. For a catalog
// read from a file it ends with the file's path and content digest, so a
// changed price changes every plan ID that depends on it.
func (c *Catalog) Provenance() string { return c.provenance }

// Digest is the hex SHA-256 of the catalog's bytes as parsed.
func (c *Catalog) Digest() string { return c.digest }

// FetchedAt is when a refreshed catalog's prices were read; empty for the
// embedded one.
func (c *Catalog) FetchedAt() string { return c.File().FetchedAt }

// File returns a copy of the catalog's file form, to extend or rewrite.
func (c *Catalog) File() *File {
	if c.file == nil { // the zero Catalog
		return &File{}
	}
	return c.file.Clone()
}

// Entries returns every row, sorted by provider and region.
func (c *Catalog) Entries() []Entry {
	out := make([]Entry, 0, len(c.entries))
	for _, e := range c.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(strings.Compare(string(a.Provider), string(b.Provider)), strings.Compare(a.Region, b.Region))
	})
	return out
}

// ParseCatalogFile parses a catalog read from a file, as ParseCatalog does,
// and records origin (the path shown to users) in its provenance.
func ParseCatalogFile(origin string, b []byte) (*Catalog, error) {
	c, err := ParseCatalog(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	c.origin = origin
	c.provenance += fmt.Sprintf("; file %s sha256:%s", origin, c.digest[:16])
	if c.file.FetchedAt != "" {
		c.provenance += " fetched " + c.file.FetchedAt
	}
	return c, nil
}

var regionRE = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

// ParseCatalog parses and checks a catalog in the layout of the embedded
// data/catalog.json. It rejects unknown fields, rows whose rates do not
// reproduce their reference instance price, prices without a known source,
// and any value citing a cross-check-only source; all problems are reported
// together.
func ParseCatalog(b []byte) (*Catalog, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse catalog: trailing data after the catalog object")
	}
	sum := sha256.Sum256(b)
	c := &Catalog{
		file:    &f,
		digest:  hex.EncodeToString(sum[:]),
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
	if f.FetchedAt != "" && !validTime(f.FetchedAt) {
		bad("fetched_at: want an RFC 3339 time, got %q", f.FetchedAt)
	}
	if f.Currency != "USD" {
		bad("currency: must be USD (the plan's currency), got %q", f.Currency)
	}
	for i, s := range f.Sources {
		switch {
		case s.ID == "":
			bad("sources[%d]: id: missing", i)
		case s.Licence == "" && s.FetchedAt == "":
			bad("sources[%d] (%s): licence: missing", i, s.ID)
		case s.FetchedAt != "" && !validTime(s.FetchedAt):
			bad("sources[%d] (%s): fetched_at: want an RFC 3339 time, got %q", i, s.ID, s.FetchedAt)
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
	switch {
	case in.Basis != BasisPublished && in.Basis != BasisDerived:
		bad("instance: basis: must be published or derived, got %q", in.Basis)
	case in.Basis == BasisDerived && in.Note == "":
		bad("instance: a derived price must explain itself in note")
	}
	cite(where+": instance", in.Source)
	for _, p := range []struct {
		field string
		units []string
		Price
	}{
		{"storage_gb_month", []string{"", "GB-month", "GiB-month"}, e.StorageGBMonth},
		{"egress_gb", []string{"", "GB", "GiB"}, e.EgressGB},
	} {
		if !slices.Contains(p.units, p.Unit) {
			bad("%s: unit: must be one of %q, got %q", p.field, p.units[1:], p.Unit)
		}
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

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// provenance renders the one-line summary Provenance returns, listing the
// sources that supply values with their dates where known.
func provenance(f *File, c *Catalog) string {
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
