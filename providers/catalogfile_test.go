package providers

import (
	"bytes"
	"encoding/json"
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
	var f File
	dec := json.NewDecoder(bytes.NewReader(embeddedCatalog))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	f.DeriveRates()
	want, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(want, embeddedCatalog) {
		return
	}
	if !*Update {
		t.Fatalf("%s is not canonical (a derived rate is stale or the layout differs); run go test ./providers -run TestCatalogFileCanonical -update and review the diff", path)
	}
	if _, err := ParseCatalog(want); err != nil {
		t.Fatalf("rewritten catalog does not parse: %v", err)
	}
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
}
