package providertest

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// referenceCSV is extracts/reference-prices.csv of the pricing reference
// data, copied unchanged; see README.md beside it for its sources.
//
//go:embed reference-prices.csv
var referenceCSV []byte

// RefPrice is one row of the pricing reference extract: a price as read from
// (or, where Basis says so, derived from) the source SourceID.
type RefPrice struct {
	Category string // compute, unit-rate, storage or egress
	Provider string
	// Region is one region code, or several joined by "|".
	Region    string
	Item      string
	VCPU      string
	MemoryGiB string
	// Price is usually one number; tiered rows hold "a / b / c".
	Price    string
	Unit     string
	Basis    string
	SourceID string
	Note     string
}

// Value returns the row's price as a number, failing tb for a tiered row.
func (r RefPrice) Value(tb testing.TB) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(r.Price, 64)
	if err != nil {
		tb.Fatalf("reference price %s %s %s %s: %v", r.Provider, r.Region, r.Item, r.SourceID, err)
	}
	return v
}

// Query selects reference rows. Empty fields match anything; Region matches
// a row that lists it among its "|"-joined regions.
type Query struct {
	Category, Provider, Region, Item, Source string
	// BasisContains tells apart rows that differ only in basis, such as the
	// Linux and Windows prices of one Azure SKU.
	BasisContains string
}

func (q Query) matches(r RefPrice) bool {
	return (q.Category == "" || q.Category == r.Category) &&
		(q.Provider == "" || q.Provider == r.Provider) &&
		(q.Region == "" || slices.Contains(strings.Split(r.Region, "|"), q.Region)) &&
		(q.Item == "" || q.Item == r.Item) &&
		(q.Source == "" || q.Source == r.SourceID) &&
		strings.Contains(r.Basis, q.BasisContains)
}

// Reference is the parsed pricing reference extract.
type Reference []RefPrice

// LoadReference parses the embedded extract, failing tb if it is malformed.
func LoadReference(tb testing.TB) Reference {
	tb.Helper()
	recs, err := csv.NewReader(bytes.NewReader(referenceCSV)).ReadAll()
	if err != nil {
		tb.Fatalf("parse reference-prices.csv: %v", err)
	}
	want := []string{"category", "provider", "region", "item", "vcpu", "memory_gib", "price_usd", "unit", "basis", "source_id", "note"}
	if len(recs) == 0 || !slices.Equal(recs[0], want) {
		tb.Fatalf("reference-prices.csv header = %v, want %v", recs[:min(1, len(recs))], want)
	}
	ref := make(Reference, 0, len(recs)-1)
	for _, f := range recs[1:] {
		ref = append(ref, RefPrice{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]})
	}
	return ref
}

// One returns the single row q selects, failing tb when there is none or
// more than one, so that a cross-check can never silently compare against
// the wrong row.
func (ref Reference) One(tb testing.TB, q Query) RefPrice {
	tb.Helper()
	var hits []RefPrice
	for _, r := range ref {
		if q.matches(r) {
			hits = append(hits, r)
		}
	}
	if len(hits) != 1 {
		tb.Fatalf("reference query %+v: %d rows match, want 1: %v", q, len(hits), hits)
	}
	return hits[0]
}

// String renders the row for failure messages.
func (r RefPrice) String() string {
	return fmt.Sprintf("%s %s %s %q %s %s (%s)", r.Category, r.Provider, r.Region, r.Item, r.Price, r.Unit, r.SourceID)
}
