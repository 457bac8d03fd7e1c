package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBenchPlacement(t *testing.T) {
	lp := filepath.Join(t.TempDir(), "p.lp")
	r := runCLI(t, "bench", "placement", "--workloads", "60", "--targets", "8", "--seed", "3", "--emit-lp", lp)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// stdout is exactly one JSON object with exactly these keys: the
	// benchmark script parses it.
	var rep map[string]float64
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object of numbers: %v\n%s", err, r.stdout)
	}
	var keys []string
	for k := range rep {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"cost", "gap_percent", "lower_bound", "seconds", "targets", "workloads"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if rep["workloads"] != 60 || rep["targets"] != 8 {
		t.Errorf("size %vx%v, want 60x8", rep["workloads"], rep["targets"])
	}
	if rep["lower_bound"] > rep["cost"] || rep["cost"] <= 0 || rep["gap_percent"] < 0 {
		t.Errorf("inconsistent report %v", rep)
	}
	b, err := os.ReadFile(lp)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.HasPrefix(s, `\ Meridian placement: 60 workloads, 8 targets`) || !strings.HasSuffix(s, "End\n") {
		t.Errorf("--emit-lp wrote an unexpected file:\n%.200s", s)
	}
}

// TestBenchPlacementSites: the sites generator gives a different instance
// of the requested size from the same seed, solved as consistently.
func TestBenchPlacementSites(t *testing.T) {
	report := func(gen string) map[string]float64 {
		r := runCLI(t, "bench", "placement", "--workloads", "60", "--targets", "10", "--seed", "3", "--generator", gen)
		if r.code != 0 {
			t.Fatalf("--generator %s: exit %d, stderr:\n%s", gen, r.code, r.stderr)
		}
		var rep map[string]float64
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("--generator %s: %v\n%s", gen, err, r.stdout)
		}
		return rep
	}
	sites, def := report("sites"), report("default")
	if sites["workloads"] != 60 || sites["targets"] != 10 || sites["lower_bound"] > sites["cost"] || sites["cost"] <= 0 {
		t.Errorf("sites report %v: want 60x10 with bound ≤ cost", sites)
	}
	if sites["cost"] == def["cost"] {
		t.Errorf("sites and default instances cost the same (%v): --generator was ignored", sites["cost"])
	}
}

func TestBenchPlacementFlags(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"no workloads":  {[]string{"--workloads", "0"}, "--workloads and --targets must be positive"},
		"bad format":    {[]string{"--format", "yaml"}, `--format must be json or text, got "yaml"`},
		"no repeat":     {[]string{"--repeat", "0"}, "--repeat must be at least 1"},
		"bad generator": {[]string{"--generator", "cities"}, `--generator must be default or sites, got "cities"`},
		"bad lp path":   {[]string{"--workloads", "5", "--targets", "2", "--emit-lp", "/nonexistent/dir/p.lp"}, "--emit-lp"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append([]string{"bench", "placement"}, tc.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q on stderr", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
}
