package pricing_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/pricing"
	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/providers/azure"
	"github.com/meridianhq/meridian/store/sqlite"
)

// TestScheduleRecordsChanges runs one scheduled refresh of azure/eastus
// from the replayed Retail Prices pages into a real SQLite store: the file
// is written where serve keeps it and one prices.refreshed event lists the
// rates that differ from the config's catalog (the embedded one).
func TestScheduleRecordsChanges(t *testing.T) {
	ctx := context.Background()
	srv := azureRetail(t)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var woken int64
	out := filepath.Join(t.TempDir(), "state", "prices", "catalog.json")
	s := &pricing.Schedule{
		Interval: time.Hour,
		Options: pricing.Options{
			Providers: []meridian.Provider{meridian.ProviderAzure},
			Regions:   map[meridian.Provider][]string{meridian.ProviderAzure: {"eastus"}},
			Endpoints: map[meridian.Provider]string{meridian.ProviderAzure: srv.URL},
			Azure:     &policy.ClientOptions{Retry: policy.RetryOptions{RetryDelay: time.Millisecond}},
		},
		Out:      out,
		Current:  func(context.Context) (*providers.Catalog, error) { return providers.DefaultCatalog() },
		Events:   db,
		Notified: func(id int64) { woken = id },
		RepoID:   "r1", Branch: "main",
	}
	// The default reader prices Standard_D2s_v5, which the replay does not
	// serve: this run must fail and record nothing.
	if _, err := s.Once(ctx, fetched); err == nil {
		t.Fatal("a refresh without the VM's price succeeded")
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a failed refresh wrote the catalog")
	}
	if evs, _ := db.EventsAfter(ctx, 0, 10); len(evs) != 0 {
		t.Fatalf("a failed refresh recorded %d events", len(evs))
	}
	// Price the recorded VM instead.
	s.Open = func(ctx context.Context) ([]pricing.API, func() error, error) {
		apis, closeAPIs, err := pricing.Open(ctx, s.Options)
		for _, a := range apis {
			a.Reader.(*azure.PriceReader).VM = "Standard_D2s_v3"
		}
		return apis, closeAPIs, err
	}
	changes, err := s.Once(ctx, fetched)
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := providers.ParseCatalogFile(out, written); err != nil {
		t.Fatalf("written catalog: %v", err)
	}
	// Embedded eastus: D2s_v5 at 0.096, P15 at 38.012142 / 256 per GiB,
	// egress 0.0725. Replayed: D2s_v3 at 0.096 (compute unchanged), the same
	// P15 page (storage unchanged), egress 0.087.
	want := []pricing.Change{{Provider: meridian.ProviderAzure, Region: "eastus", Rate: "egress_gb", Old: 0.0725, New: 0.087}}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	evs, err := db.EventsAfter(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != meridian.EventPricesRefreshed || evs[0].RepoID != "r1" || evs[0].Branch != "main" {
		t.Fatalf("events = %+v, want one prices.refreshed of r1/main", evs)
	}
	var p pricing.RefreshedPayload
	if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, p.Changes); diff != "" || p.File != out || p.FetchedAt != "2026-12-05T01:00:00Z" {
		t.Errorf("payload = %+v (changes diff %s)", p, diff)
	}
	if woken != evs[0].ID {
		t.Errorf("feed woken with %d, want %d", woken, evs[0].ID)
	}
}
