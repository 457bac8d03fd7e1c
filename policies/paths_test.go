package policies

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meridianhq/meridian"
)

func TestInputPaths(t *testing.T) {
	cases := map[string]struct {
		reason       string
		org          string
		wantWorkload []string
		wantTarget   []string
	}{
		"StaticPaths": {
			reason:       "Constant keys are followed to the leaf.",
			org:          `deny contains {"id": "X", "msg": "m"} if input.workload.requires.spread > input.target.capacity.vcpu`,
			wantWorkload: []string{"requires.spread"},
			wantTarget:   []string{"capacity.vcpu"},
		},
		"VariableKey": {
			reason:       "A variable key observes the whole object it indexes.",
			org:          `deny contains {"id": "X", "msg": k} if { some k, v in input.workload.tags; input.target.labels[k] != v }`,
			wantWorkload: []string{"tags"},
			wantTarget:   []string{"labels"},
		},
		"KeyFromInput": {
			reason:       "References inside keys are followed too.",
			org:          `deny contains {"id": "X", "msg": "m"} if input.target.labels[input.workload.tags.team] == "no"`,
			wantWorkload: []string{"tags.team"},
			wantTarget:   []string{"labels"},
		},
		"ImportAlias": {
			reason:       "Imports are resolved before analysis, and an import alone observes nothing.",
			org:          "import input.workload as w\nimport input.target as unused\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if w.tags.team == \"a\"",
			wantWorkload: []string{"tags.team"},
		},
		"WholeDocument": {
			reason:       "Passing a document to a function observes it whole.",
			org:          `deny contains {"id": "X", "msg": "m"} if count(input.workload) > 0`,
			wantWorkload: []string{""},
		},
		"DynamicRoot": {
			reason:       "input[k] may be either document.",
			org:          `deny contains {"id": "X", "msg": k} if { some k; input[k].name == "x" }`,
			wantWorkload: []string{""},
			wantTarget:   []string{""},
		},
		"BareInput": {
			reason:       "A bare input observes both documents whole.",
			org:          `deny contains {"id": "X", "msg": "m"} if walk(input, [["workload", "name"], "x"])`,
			wantWorkload: []string{""},
			wantTarget:   []string{""},
		},
		"WithModifier": {
			reason:       "with targets count as observed, which is conservative.",
			org:          "deny contains {\"id\": \"X\", \"msg\": \"m\"} if {\n\t_x with input.workload.name as \"y\"\n}\n\n_x if input.target.region == \"r\"",
			wantWorkload: []string{"name"},
			wantTarget:   []string{"region"},
		},
		"ThroughLibrary": {
			reason:       "Rules in other packages that the package calls are followed, transitively.",
			org:          "import data.meridian.org.lib.a\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if a.f",
			wantWorkload: []string{"pin"},
			wantTarget:   []string{"provider", "region"},
		},
		"DynamicDataReference": {
			reason:       "A data reference with a variable key reaches every package below its constant prefix, used or not.",
			org:          `deny contains {"id": "X", "msg": "m"} if { some k; data.meridian.org.lib[k].f }`,
			wantWorkload: []string{"name", "pin"},
			wantTarget:   []string{"provider", "region"},
		},
	}
	lib := map[string]string{
		"lib/a.rego": "package meridian.org.lib.a\n\nimport data.meridian.org.lib.b\n\nf if { b.g; input.target.region == \"r\" }\n",
		"lib/b.rego": "package meridian.org.lib.b\n\ng if input.target.provider == input.workload.pin\n",
		"lib/c.rego": "package meridian.org.lib.c\n\nunused if input.workload.name\n",
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			org := map[string]string{"p.rego": "package meridian.org.placement.p\n\n" + tc.org + "\n"}
			for k, v := range lib {
				org[k] = v
			}
			e := newEngine(t, meridian.DefaultSettings(), org)
			u := findUnit(t, e, "meridian.org.placement.p")
			if diff := cmp.Diff(tc.wantWorkload, u.workload.paths()); diff != "" {
				t.Errorf("%s\nworkload paths: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantTarget, u.target.paths()); diff != "" {
				t.Errorf("%s\ntarget paths: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestBuiltinInputPaths(t *testing.T) {
	// These paths are what makes a 1,000 × 50 plan cheap: every built-in
	// placement rule must observe only requirement and capability fields,
	// never names.
	want := map[string][2][]string{
		`meridian.builtin.workload["required-tags"]`:    {{"tags"}, nil},
		`meridian.builtin.workload["tag-format"]`:       {{"tags"}, nil},
		`meridian.builtin.placement.encryption`:         {{"requires.encryption"}, {"encryption_level"}},
		`meridian.builtin.placement.jurisdiction`:       {{"requires.jurisdictions"}, {"jurisdiction"}},
		`meridian.builtin.placement["log-retention"]`:   {{"requires.log_retention_days"}, {"log_retention_max_days"}},
		`meridian.builtin.placement["restricted-data"]`: {{"tags.data-class"}, {"provider"}},
		// The network rules observe the network blocks' capability fields.
		`meridian.builtin.placement["network-isolation"]`:     {{"network.isolation"}, {"network.isolation_classes"}},
		`meridian.builtin.placement["network-peers"]`:         {{"network.peers", "network.private_only", "requires.jurisdictions"}, {"network.internet_egress", "network.private"}},
		`meridian.builtin.placement["network-private-only"]`:  {{"network.private_only"}, {"network.model", "network.private"}},
		`meridian.builtin.workload["network-public-ingress"]`: {{"network.ingress", "network.private_only"}, nil},
	}
	e := newEngine(t, meridian.DefaultSettings(), nil)
	got := map[string][2][]string{}
	for _, u := range append(e.workload, e.placement...) {
		got[u.pkg] = [2][]string{u.workload.paths(), u.target.paths()}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("built-in input paths: -want, +got:\n%s", diff)
	}
}

func findUnit(tb testing.TB, e *Engine, pkg string) *unit {
	tb.Helper()
	for _, u := range append(e.workload, e.placement...) {
		if u.pkg == pkg {
			return u
		}
	}
	tb.Fatalf("no rule package %s", pkg)
	return nil
}

// naivePlacements evaluates every unit on every full (workload, target)
// pair: the reference that the deduplicating CheckPlacements must match.
func naivePlacements(ctx context.Context, e *Engine, ws []meridian.Workload, ts []meridian.Target) ([][][]meridian.Violation, error) {
	out := make([][][]meridian.Violation, len(ws))
	for i := range ws {
		wd, err := workloadDoc(&ws[i])
		if err != nil {
			return nil, err
		}
		wv, err := ast.InterfaceToValue(wd)
		if err != nil {
			return nil, err
		}
		out[i] = make([][]meridian.Violation, len(ts))
		for j := range ts {
			td, err := targetDoc(&ts[j])
			if err != nil {
				return nil, err
			}
			tv, err := ast.InterfaceToValue(td)
			if err != nil {
				return nil, err
			}
			var cell []meridian.Violation
			for _, u := range e.placement {
				vs, err := u.eval(ctx, inputObject(wv, tv, e.settings))
				if err != nil {
					return nil, err
				}
				cell = append(cell, vs...)
			}
			sortViolations(cell)
			out[i][j] = cell
		}
	}
	return out, nil
}

// randomOrgPolicies mixes rules that deduplicate well with rules that read
// names, whole objects and keys taken from the other document.
var randomOrgPolicies = map[string]string{
	"policies/team.rego": `package meridian.org.placement.team

warn contains {"id": "ORG-TEAM", "msg": sprintf("team %s has no presence here", [team]), "field": "tags.team"} if {
	team := input.workload.tags.team
	input.target.labels.team != team
}
`,
	"policies/labels.rego": `package meridian.org.placement.labels

import data.meridian.org.lib.util

info contains {"id": "ORG-LABEL", "msg": sprintf("label %s differs", [k]), "field": concat(".", ["target.labels", k])} if {
	some k, v in input.workload.tags
	util.differs(input.target.labels, k, v)
}
`,
	"policies/lib.rego": `package meridian.org.lib.util

differs(labels, k, v) if {
	labels[k]
	labels[k] != v
}
`,
	"policies/names.rego": `package meridian.org.placement.names

deny contains {"id": "ORG-NAME", "msg": sprintf("%s may not run on %s", [input.workload.name, input.target.name])} if {
	endswith(input.workload.name, "7")
	startswith(input.target.name, "t-1")
}
`,
	"policies/spread.rego": `package meridian.org.placement.spread

warn contains {"id": "ORG-SPREAD", "msg": "spread over a small target", "field": "requires.spread"} if {
	input.workload.requires.spread > 1
	object.get(input.target.capacity, "vcpu", 0) < 64
	input.target.labels[input.workload.tags.tier] == "small"
}
`,
}

func randomWorkloads(r *rand.Rand, n int) []meridian.Workload {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	ws := make([]meridian.Workload, n)
	for i := range ws {
		w := meridian.Workload{
			Name: fmt.Sprintf("w-%d", i),
			Tags: map[string]string{"owner": fmt.Sprintf("o-%d", i), "team": pick("a", "b", "c")},
			Requires: meridian.Requirements{
				Encryption:       meridian.EncryptionLevel(r.IntN(4)),
				LogRetentionDays: []int{0, 30, 90, 365, 400}[r.IntN(5)],
				Spread:           r.IntN(3),
			},
		}
		switch r.IntN(3) {
		case 0:
			w.Requires.Jurisdictions = []string{pick("eu", "us")}
		case 1:
			w.Requires.Jurisdictions = []string{"eu", pick("ch", "uk", "us")}
		}
		if c := pick("restricted", "internal", ""); c != "" {
			w.Tags["data-class"] = c
		}
		if r.IntN(2) == 0 {
			w.Tags["tier"] = pick("gold", "silver")
		}
		if r.IntN(5) == 0 {
			w.Tags = nil
		}
		ws[i] = w
	}
	return ws
}

func randomTargets(r *rand.Rand, n int) []meridian.Target {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	ts := make([]meridian.Target, n)
	for i := range ts {
		t := meridian.Target{
			Name:         fmt.Sprintf("t-%d", i),
			Provider:     meridian.Provider(pick("aws", "azure", "gcp", "onprem", "edge")),
			Jurisdiction: pick("eu", "us", "ch", "uk", ""),
			Encryption: meridian.TargetEncryption{
				HSM:                 r.IntN(4) == 0,
				CustomerManagedKeys: r.IntN(2) == 0,
			},
			LogRetentionMaxDays: []int{0, 30, 365, 3650}[r.IntN(4)],
			Capacity:            meridian.Capacity{VCPU: float64(r.IntN(3) * 64)},
			Labels:              map[string]string{},
		}
		if r.IntN(2) == 0 {
			t.Encryption.KMS = fmt.Sprintf("arn:kms:%d", i)
		}
		if r.IntN(2) == 0 {
			t.Labels["team"] = pick("a", "b")
		}
		if r.IntN(2) == 0 {
			t.Labels[pick("gold", "silver")] = pick("small", "large")
		}
		ts[i] = t
	}
	return ts
}

// TestDedupMatchesNaive checks the projection and deduplication against
// evaluating every full pair, on random configs that hit every built-in
// rule and org rules of every shape.
func TestDedupMatchesNaive(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, meridian.DefaultSettings(), randomOrgPolicies)
	fired := map[string]int{}
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 42))
		ws, ts := randomWorkloads(r, 40), randomTargets(r, 15)
		got, err := e.CheckPlacements(ctx, ws, ts)
		if err != nil {
			t.Fatal(err)
		}
		want, err := naivePlacements(ctx, e, ws, ts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d: CheckPlacements differs from per-pair evaluation: -naive, +dedup:\n%s", seed, diff)
		}
		for _, row := range got {
			for _, cell := range row {
				for _, v := range cell {
					fired[v.Rule]++
				}
			}
		}
	}
	// A comparison of empty matrices proves nothing: every rule must have
	// fired somewhere.
	for _, id := range []string{"MER-ENC-001", "MER-RET-001", "MER-JUR-001", "MER-DATA-001",
		"ORG-TEAM", "ORG-LABEL", "ORG-NAME", "ORG-SPREAD"} {
		if fired[id] == 0 {
			t.Errorf("rule %s never fired; the random configs do not exercise it", id)
		}
	}
}
