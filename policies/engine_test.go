package policies

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// newEngine builds an engine or fails the test.
func newEngine(tb testing.TB, settings meridian.Settings, org map[string]string) *Engine {
	tb.Helper()
	e, err := New(context.Background(), settings, org)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return e
}

// apiWorkload is a compliant workload declared in workloads/api.yaml.
func apiWorkload() meridian.Workload {
	return meridian.Workload{
		Name: "api",
		Tags: map[string]string{"owner": "payments", "cost-center": "cc-0042", "env": "prod"},
		Requires: meridian.Requirements{
			Encryption:       meridian.EncryptionCustomerManaged,
			LogRetentionDays: 365,
			Jurisdictions:    []string{"eu"},
		},
		Origin: meridian.Origin{
			File: "workloads/api.yaml",
			Line: 1,
			Lines: map[string]int{
				"tags":                        4,
				"tags.owner":                  5,
				"tags.cost-center":            6,
				"tags.env":                    7,
				"requires":                    10,
				"requires.encryption":         11,
				"requires.log_retention_days": 12,
				"requires.jurisdictions":      13,
			},
		},
	}
}

// euTarget is an AWS region that satisfies apiWorkload.
func euTarget() meridian.Target {
	return meridian.Target{
		Name:                "aws-eu-central-1",
		Provider:            meridian.ProviderAWS,
		Region:              "eu-central-1",
		Jurisdiction:        "eu",
		Encryption:          meridian.TargetEncryption{CustomerManagedKeys: true, KMS: "arn:aws:kms:eu-central-1:1:key/a"},
		LogRetentionMaxDays: 3650,
		Origin: meridian.Origin{
			File:  "targets/aws.yaml",
			Line:  20,
			Lines: map[string]int{"jurisdiction": 23, "encryption": 24, "encryption.hsm": 26},
		},
	}
}

func with[T any](v T, edit func(*T)) T {
	edit(&v)
	return v
}

func TestCheckWorkloads(t *testing.T) {
	settings := meridian.DefaultSettings()
	settings.TagFormats = map[string]string{"cost-center": `cc-[0-9]{4}`}

	cases := map[string]struct {
		reason string
		org    map[string]string
		ws     []meridian.Workload
		want   []meridian.Finding
	}{
		"Compliant": {
			reason: "A workload with every required tag in the right format has no findings.",
			ws:     []meridian.Workload{apiWorkload()},
		},
		"MissingTagPointsAtTagsBlock": {
			reason: "A missing tag cannot point at its own line, so it points at the tags block; a blank one points at itself.",
			ws: []meridian.Workload{with(apiWorkload(), func(w *meridian.Workload) {
				w.Tags = map[string]string{"owner": " ", "cost-center": "cc-0042"}
				delete(w.Origin.Lines, "tags.env")
			})},
			want: []meridian.Finding{
				{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "api", Field: "tags.env",
					File: "workloads/api.yaml", Line: 4, Message: `missing required tag "env"`,
					Remediation: "Add the tag under the workload's tags block with a non-empty value."},
				{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "api", Field: "tags.owner",
					File: "workloads/api.yaml", Line: 5, Message: `required tag "owner" is empty`,
					Remediation: "Add the tag under the workload's tags block with a non-empty value."},
			},
		},
		"NoTagsAtAllPointsAtDocument": {
			reason: "Without a tags block the finding falls back to the document start, and nil tags are seen as {}.",
			ws:     []meridian.Workload{{Name: "bare", Origin: meridian.Origin{File: "workloads/bare.yaml", Line: 3}}},
			want: []meridian.Finding{
				{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "bare", Field: "tags.cost-center",
					File: "workloads/bare.yaml", Line: 3, Message: `missing required tag "cost-center"`,
					Remediation: "Add the tag under the workload's tags block with a non-empty value."},
				{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "bare", Field: "tags.env",
					File: "workloads/bare.yaml", Line: 3, Message: `missing required tag "env"`,
					Remediation: "Add the tag under the workload's tags block with a non-empty value."},
				{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "bare", Field: "tags.owner",
					File: "workloads/bare.yaml", Line: 3, Message: `missing required tag "owner"`,
					Remediation: "Add the tag under the workload's tags block with a non-empty value."},
			},
		},
		"TagFormat": {
			reason: "A tag value must match its configured format in full.",
			ws: []meridian.Workload{with(apiWorkload(), func(w *meridian.Workload) {
				w.Tags["cost-center"] = "cc-42x"
			})},
			want: []meridian.Finding{
				{Rule: "MER-TAG-002", Severity: meridian.SeverityDeny, Workload: "api", Field: "tags.cost-center",
					File: "workloads/api.yaml", Line: 6, Message: `tag "cost-center" value "cc-42x" does not match format cc-[0-9]{4}`,
					Remediation: "Change the tag value to match the format configured in meridian.yaml's tag_formats."},
			},
		},
		"OrgRulesKeepTheirSeverity": {
			reason: "Org warn and info findings carry their severity, and findings are sorted by workload then rule.",
			org: map[string]string{"policies/team.rego": `package meridian.org.workload.team

warn contains {"id": "ORG-TEAM-1", "msg": "prod workloads should name an on-call team", "field": "tags.oncall"} if {
	input.workload.tags.env == "prod"
	not input.workload.tags.oncall
}

info contains {"id": "ORG-TEAM-2", "msg": "big replica range", "field": "replicas.max", "remediation": "Check the max."} if {
	input.workload.replicas.max > 10
}
`},
			ws: []meridian.Workload{
				with(apiWorkload(), func(w *meridian.Workload) { w.Name = "web"; w.Replicas.Max = 20 }),
				apiWorkload(),
			},
			want: []meridian.Finding{
				{Rule: "ORG-TEAM-1", Severity: meridian.SeverityWarn, Workload: "api", Field: "tags.oncall",
					File: "workloads/api.yaml", Line: 4, Message: "prod workloads should name an on-call team"},
				{Rule: "ORG-TEAM-1", Severity: meridian.SeverityWarn, Workload: "web", Field: "tags.oncall",
					File: "workloads/api.yaml", Line: 4, Message: "prod workloads should name an on-call team"},
				{Rule: "ORG-TEAM-2", Severity: meridian.SeverityInfo, Workload: "web", Field: "replicas.max",
					File: "workloads/api.yaml", Line: 1, Message: "big replica range", Remediation: "Check the max."},
			},
		},
		"OrgRulesMaySpanFilesAndUseLibraries": {
			reason: "A rule package may be split over files and call helpers in a non-rule org package.",
			org: map[string]string{
				"policies/lib.rego": `package meridian.org.lib

prod(w) if w.tags.env == "prod"
`,
				"policies/a.rego": `package meridian.org.workload.split

import data.meridian.org.lib

deny contains {"id": "ORG-A", "msg": "a"} if lib.prod(input.workload)
`,
				"policies/b.rego": `package meridian.org.workload.split

deny contains {"id": "ORG-B", "msg": "b"} if input.workload.name == "api"
`,
			},
			ws: []meridian.Workload{apiWorkload()},
			want: []meridian.Finding{
				{Rule: "ORG-A", Severity: meridian.SeverityDeny, Workload: "api", File: "workloads/api.yaml", Line: 1, Message: "a"},
				{Rule: "ORG-B", Severity: meridian.SeverityDeny, Workload: "api", File: "workloads/api.yaml", Line: 1, Message: "b"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, settings, tc.org)
			got, err := e.CheckWorkloads(context.Background(), tc.ws)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nCheckWorkloads(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCheckPlacements(t *testing.T) {
	cases := map[string]struct {
		reason string
		org    map[string]string
		w      meridian.Workload
		t      meridian.Target
		want   []meridian.Violation
	}{
		"Compliant": {
			reason: "A target meeting every requirement has no violations.",
			w:      apiWorkload(),
			t:      euTarget(),
		},
		"Encryption": {
			reason: "A KMS-only target offers provider-managed keys, below customer-managed.",
			w:      apiWorkload(),
			t: with(euTarget(), func(t *meridian.Target) {
				t.Encryption = meridian.TargetEncryption{KMS: "arn:aws:kms:x"}
			}),
			want: []meridian.Violation{{
				Rule: "MER-ENC-001", Severity: meridian.SeverityDeny, Field: "requires.encryption",
				Message:     "requires customer-managed encryption; target offers provider-managed",
				Remediation: "Place the workload on a target whose encryption block offers the required level (customer_managed_keys: true, or hsm: true), or lower requires.encryption if the data allows it.",
			}},
		},
		"HSMSatisfiesEverything": {
			reason: "An HSM target satisfies an hsm requirement even without customer_managed_keys.",
			w:      with(apiWorkload(), func(w *meridian.Workload) { w.Requires.Encryption = meridian.EncryptionHSM }),
			t: with(euTarget(), func(t *meridian.Target) {
				t.Encryption = meridian.TargetEncryption{HSM: true}
			}),
		},
		"EveryBuiltinAtOnce": {
			reason: "Violations of several rules are all reported, sorted by rule.",
			w: with(apiWorkload(), func(w *meridian.Workload) {
				w.Tags["data-class"] = "restricted"
				w.Requires.Encryption = meridian.EncryptionHSM
			}),
			t: with(euTarget(), func(t *meridian.Target) {
				t.Jurisdiction = "us"
				t.LogRetentionMaxDays = 90
			}),
			want: []meridian.Violation{
				{Rule: "MER-DATA-001", Severity: meridian.SeverityDeny, Field: "tags.data-class",
					Message:     "data-class restricted must run on-prem; target provider is aws",
					Remediation: "Place the workload on an on-prem target, or change the data-class tag if the data is not restricted."},
				{Rule: "MER-ENC-001", Severity: meridian.SeverityDeny, Field: "requires.encryption",
					Message:     "requires hsm encryption; target offers customer-managed",
					Remediation: "Place the workload on a target whose encryption block offers the required level (customer_managed_keys: true, or hsm: true), or lower requires.encryption if the data allows it."},
				{Rule: "MER-JUR-001", Severity: meridian.SeverityDeny, Field: "requires.jurisdictions",
					Message:     `target jurisdiction "us" is not one of the allowed eu`,
					Remediation: "Place the workload on a target in one of the listed jurisdictions, or add the target's jurisdiction to requires.jurisdictions if residency rules allow it."},
				{Rule: "MER-RET-001", Severity: meridian.SeverityDeny, Field: "requires.log_retention_days",
					Message:     "requires 365 days of log retention; target keeps logs at most 90 days",
					Remediation: "Place the workload on a target with a larger log_retention_max_days, or lower requires.log_retention_days if the retention policy allows it."},
			},
		},
		"OrgPlacementRule": {
			reason: "Org placement rules see the target, including the computed encryption_level, and keep their severity.",
			org: map[string]string{"policies/cost.rego": `package meridian.org.placement.edge

warn contains f if {
	input.target.provider == "aws"
	input.target.encryption_level == "customer-managed"
	f := {"id": "ORG-EDGE-1", "msg": "prefer edge", "field": "target.provider", "remediation": "Pin to edge."}
}
`},
			w: apiWorkload(),
			t: euTarget(),
			want: []meridian.Violation{{
				Rule: "ORG-EDGE-1", Severity: meridian.SeverityWarn, Field: "target.provider",
				Message: "prefer edge", Remediation: "Pin to edge.",
			}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, meridian.DefaultSettings(), tc.org)
			got, err := e.CheckPlacements(context.Background(), []meridian.Workload{tc.w}, []meridian.Target{tc.t})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([][][]meridian.Violation{{tc.want}}, got); diff != "" {
				t.Errorf("%s\nCheckPlacements(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCheckPlacementsShape(t *testing.T) {
	e := newEngine(t, meridian.DefaultSettings(), nil)
	ctx := context.Background()
	for _, tc := range []struct{ nw, nt int }{{0, 0}, {0, 3}, {3, 0}, {2, 3}} {
		ws := make([]meridian.Workload, tc.nw)
		ts := make([]meridian.Target, tc.nt)
		got, err := e.CheckPlacements(ctx, ws, ts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.nw {
			t.Fatalf("%d workloads × %d targets: got %d rows", tc.nw, tc.nt, len(got))
		}
		for _, row := range got {
			if len(row) != tc.nt {
				t.Fatalf("%d workloads × %d targets: got row of %d", tc.nw, tc.nt, len(row))
			}
		}
	}
}

func TestCheckPlacementsCellsDoNotAlias(t *testing.T) {
	e := newEngine(t, meridian.DefaultSettings(), nil)
	w := with(apiWorkload(), func(w *meridian.Workload) { w.Requires.Encryption = meridian.EncryptionHSM })
	got, err := e.CheckPlacements(context.Background(), []meridian.Workload{w, w}, []meridian.Target{euTarget(), euTarget()})
	if err != nil {
		t.Fatal(err)
	}
	got[0][0][0].Message = "changed"
	got[0][0] = append(got[0][0], meridian.Violation{Rule: "X"})
	for _, cell := range [][]meridian.Violation{got[0][1], got[1][0], got[1][1]} {
		if len(cell) != 1 || cell[0].Message == "changed" {
			t.Errorf("editing one cell changed another: %+v", cell)
		}
	}
}

func TestOrgFindingContract(t *testing.T) {
	cases := map[string]struct {
		reason string
		rule   string
		want   string
	}{
		"StringFinding": {
			reason: "conftest-style string findings are rejected with the package named, not silently dropped.",
			rule:   `deny contains "no"`,
			want:   `meridian.org.workload.bad.deny: finding must be an object`,
		},
		"MissingID": {
			reason: "A finding without id cannot be reported against a rule.",
			rule:   `deny contains {"msg": "no id"}`,
			want:   `id must be a non-empty string`,
		},
		"EvalError": {
			reason: "Rego evaluation errors stop the check, naming the package.",
			rule:   "deny contains {\"id\": \"X\", \"msg\": \"m\"} if _f(1) == 1\n\n_f(x) := 1 if x\n\n_f(x) := 2 if x",
			want:   "evaluate meridian.org.workload.bad: p.rego:7: eval_conflict_error",
		},
		"NumericField": {
			reason: "field must be a dotted path string.",
			rule:   `deny contains {"id": "X", "msg": "m", "field": 3}`,
			want:   `field must be a non-empty string`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, meridian.DefaultSettings(), map[string]string{
				"p.rego": "package meridian.org.workload.bad\n\n" + tc.rule + "\n",
			})
			_, err := e.CheckWorkloads(context.Background(), []meridian.Workload{apiWorkload()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nCheckWorkloads error = %v, want it to contain %q", tc.reason, err, tc.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	cases := map[string]struct {
		reason   string
		settings func(*meridian.Settings)
		org      map[string]string
		want     meridian.ConfigErrors
	}{
		"ParseError": {
			reason: "Syntax errors point at the file and line.",
			org: map[string]string{
				"policies/ok.rego":  "package meridian.org.workload.ok\n",
				"policies/bad.rego": "package meridian.org.workload.bad\n\ndeny contains f if {\n\tf := \n}\n",
			},
			want: meridian.ConfigErrors{{File: "policies/bad.rego", Line: 5, Message: "rego_parse_error: unexpected } token"}},
		},
		"CompileError": {
			reason: "Compile errors such as unsafe variables point at the file and line.",
			org: map[string]string{
				"policies/unsafe.rego": "package meridian.org.placement.unsafe\n\ndeny contains f if {\n\tx > 1\n\tf := {\"id\": \"X\", \"msg\": \"m\"}\n}\n",
			},
			want: meridian.ConfigErrors{{File: "policies/unsafe.rego", Line: 4, Message: "rego_unsafe_var_error: var x is unsafe"}},
		},
		"TestFilesAreIgnored": {
			reason: "New skips *_test.rego, even broken ones; RunTests reports them.",
			org: map[string]string{
				"policies/x_test.rego": "package broken {",
			},
		},
		"PackageOutsideOrg": {
			reason: "Org policies may not add to or shadow the built-in library.",
			org: map[string]string{
				"policies/enc.rego": "package meridian.builtin.placement.encryption\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"}\n",
			},
			want: meridian.ConfigErrors{{File: "policies/enc.rego", Line: 1, Message: "package meridian.builtin.placement.encryption: org policies must live under package meridian.org (rules under meridian.org.workload or meridian.org.placement)"}},
		},
		"DenyOutsideRuleRoots": {
			reason: "A deny rule Meridian would never evaluate is an error, not a silent no-op.",
			org: map[string]string{
				"policies/lib.rego": "package meridian.org.lib\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"}\n",
			},
			want: meridian.ConfigErrors{{File: "policies/lib.rego", Line: 3, Message: "deny rule in package meridian.org.lib is never evaluated: move it to a package under meridian.org.workload or meridian.org.placement"}},
		},
		"BooleanDeny": {
			reason: "deny must be a set of findings.",
			org: map[string]string{
				"policies/b.rego": "package meridian.org.workload.b\n\nwarn if input.workload.name == \"x\"\n",
			},
			want: meridian.ConfigErrors{{File: "policies/b.rego", Line: 3, Message: "warn must be a multi-value rule: warn contains f if { ... }"}},
		},
		"WorkloadRuleReadsTarget": {
			reason: "Workload rules are never given input.target, so reading it is a mistake to report, even through an import.",
			org: map[string]string{
				"policies/w.rego": "package meridian.org.workload.w\n\nimport input.target as t\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if {\n\tt.provider == \"aws\"\n}\n",
			},
			want: meridian.ConfigErrors{{File: "policies/w.rego", Line: 6, Message: "package meridian.org.workload.w: workload rules see only input.workload and input.settings; rules that read input.target (or the whole input) belong under meridian.org.placement"}},
		},
		"BadTagFormat": {
			reason: "A tag format that does not compile points at its line in meridian.yaml.",
			settings: func(s *meridian.Settings) {
				s.TagFormats = map[string]string{"env": "prod|("}
				s.Origin = meridian.Origin{File: "meridian.yaml", Line: 1, Lines: map[string]int{"tag_formats.env": 7}}
			},
			want: meridian.ConfigErrors{{File: "meridian.yaml", Line: 7, Field: "tag_formats.env",
				Message: "invalid regular expression \"prod|(\": error parsing regexp: missing closing ): `^(?:prod|()$`"}},
		},
		"AllErrorsAtOnce": {
			reason: "Settings, parse and package errors of different files are reported together.",
			settings: func(s *meridian.Settings) {
				s.TagFormats = map[string]string{"env": "("}
				s.Origin = meridian.Origin{File: "meridian.yaml", Line: 1}
			},
			org: map[string]string{
				"policies/a.rego": "package meridian.org.workload.a\n\ndeny contains\n",
				"policies/b.rego": "package b\n",
			},
			want: meridian.ConfigErrors{
				{File: "meridian.yaml", Line: 1, Field: "tag_formats.env",
					Message: "invalid regular expression \"(\": error parsing regexp: missing closing ): `^(?:()$`"},
				{File: "policies/a.rego", Line: 4, Message: "rego_parse_error: unexpected eof token"},
				{File: "policies/a.rego", Line: 4, Message: "rego_parse_error: unexpected eof token: expected rule key term (e.g., deny contains <VALUE> { ... })"},
				{File: "policies/b.rego", Line: 1, Message: "package b: org policies must live under package meridian.org (rules under meridian.org.workload or meridian.org.placement)"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := meridian.DefaultSettings()
			if tc.settings != nil {
				tc.settings(&s)
			}
			_, err := New(context.Background(), s, tc.org)
			var got meridian.ConfigErrors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("New error %v (%T) is not ConfigErrors", err, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nNew(...) errors: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestPlacementFinding(t *testing.T) {
	w, tg := apiWorkload(), euTarget()
	cases := map[string]struct {
		reason   string
		field    string
		wantFile string
		wantLine int
	}{
		"WorkloadField":  {"Fields without a prefix are workload fields.", "requires.encryption", "workloads/api.yaml", 11},
		"TargetField":    {"target.-prefixed fields point into the target's file.", "target.encryption.hsm", "targets/aws.yaml", 26},
		"TargetFallback": {"An undeclared target field falls back to its nearest declared ancestor.", "target.encryption.kms", "targets/aws.yaml", 24},
		"WholeTarget":    {"The bare target field points at the target's document.", "target", "targets/aws.yaml", 20},
		"NoField":        {"Without a field the finding points at the workload's document.", "", "workloads/api.yaml", 1},
		"LookAlike":      {"Only the exact target. prefix selects the target.", "targets.x", "workloads/api.yaml", 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := meridian.Violation{Rule: "R", Severity: meridian.SeverityWarn, Field: tc.field, Message: "m", Remediation: "r"}
			want := meridian.Finding{Rule: "R", Severity: meridian.SeverityWarn, Workload: "api", Target: "aws-eu-central-1",
				Field: tc.field, File: tc.wantFile, Line: tc.wantLine, Message: "m", Remediation: "r"}
			if diff := cmp.Diff(want, PlacementFinding(v, &w, &tg)); diff != "" {
				t.Errorf("%s\nPlacementFinding: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestCheckMatchesSeparateChecks keeps Check, which shares the workload
// documents between both kinds of rule, equal to the two calls it replaces.
func TestCheckMatchesSeparateChecks(t *testing.T) {
	e := newEngine(t, meridian.DefaultSettings(), nil)
	ws := []meridian.Workload{
		apiWorkload(),
		with(apiWorkload(), func(w *meridian.Workload) {
			w.Name = "untagged"
			w.Tags = nil
			w.Requires.Encryption = meridian.EncryptionHSM
		}),
	}
	ts := []meridian.Target{euTarget(), with(euTarget(), func(t *meridian.Target) { t.Name = "us"; t.Jurisdiction = "us" })}
	ctx := context.Background()
	gotF, gotM, err := e.Check(ctx, ws, ts)
	if err != nil {
		t.Fatal(err)
	}
	wantF, err := e.CheckWorkloads(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	wantM, err := e.CheckPlacements(ctx, ws, ts)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantF) == 0 || len(wantM[1][1]) == 0 {
		t.Fatalf("fixture must produce findings and violations: %v %v", wantF, wantM)
	}
	if diff := cmp.Diff(wantF, gotF); diff != "" {
		t.Errorf("findings (-separate +Check):\n%s", diff)
	}
	if diff := cmp.Diff(wantM, gotM); diff != "" {
		t.Errorf("violations (-separate +Check):\n%s", diff)
	}
}
