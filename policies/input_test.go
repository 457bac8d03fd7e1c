package policies

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// TestInputDocuments pins the input shape that policies are written
// against (docs/policies.md shows it). A change to the domain types' JSON
// shows up here; run with -update to accept it, and update the docs.
func TestInputDocuments(t *testing.T) {
	w := apiWorkload()
	w.Tags["data-class"] = "confidential"
	w.Replicas = meridian.ReplicaRange{Min: 2, Max: 6}
	w.PerReplica = meridian.PerReplica{VCPU: 0.5, MemoryGiB: 1, Capacity: 120}
	w.Requires.Spread = 2
	w.StorageGB, w.EgressGBMonth = 20, 150
	w.Load.History = "load/api.csv"
	tg := euTarget()
	tg.Capacity = meridian.Capacity{VCPU: 256, MemoryGiB: 1024}
	tg.Pricing = meridian.Pricing{Catalog: true}
	tg.Engine = meridian.EngineTerraform
	s := meridian.DefaultSettings()
	s.TagFormats = map[string]string{"cost-center": `cc-[0-9]{4}`}

	wd, err := workloadDoc(&w)
	if err != nil {
		t.Fatal(err)
	}
	td, err := targetDoc(&tg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(map[string]any{"workload": wd, "target": td, "settings": settingsDoc(s)}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "input.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("input documents changed (-golden, +got); run with -update and update docs/policies.md:\n%s", diff)
	}
}
