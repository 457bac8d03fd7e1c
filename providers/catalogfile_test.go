package providers

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestCatalogFileCanonical keeps data/catalog.json in the form this package
// writes: every row's vcpu_hour and gib_hour re-derived from its instance
// price with the catalog's split (rounded to 12 decimals), and the layout of
// json.MarshalIndent. To add or change a row, edit its instance and prices
// by hand and run go test ./providers -run TestCatalogFileCanonical -update.
func TestCatalogFileCanonical(t *testing.T) {
	const path = "data/catalog.json"
	var f catalogFile
	dec := json.NewDecoder(bytes.NewReader(embeddedCatalog))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	round := func(v float64) float64 { return math.Round(v*1e12) / 1e12 }
	for i := range f.Rows {
		in := f.Rows[i].Instance
		v, g := f.Split.Divide(in.Hour, in.VCPU, in.MemoryGiB)
		f.Rows[i].VCPUHour, f.Rows[i].GiBHour = round(v), round(g)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(want.Bytes(), embeddedCatalog) {
		return
	}
	if !*Update {
		t.Fatalf("%s is not canonical (a derived rate is stale or the layout differs); run go test ./providers -run TestCatalogFileCanonical -update and review the diff", path)
	}
	if _, err := ParseCatalog(want.Bytes()); err != nil {
		t.Fatalf("rewritten catalog does not parse: %v", err)
	}
	if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
