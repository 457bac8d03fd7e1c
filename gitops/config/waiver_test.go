package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
)

var waiverNow = time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)

const waiverDoc = `apiVersion: meridian/v1
kind: Waiver
rule: MER-TAG-001
workload: api
reason: the owner tag arrives with the team split
owner: alice@example.com
expires: 2027-03-31
`

func TestParseWaivers(t *testing.T) {
	valid := meridian.Waiver{Rule: "MER-TAG-001", Workload: "api", Reason: "the owner tag arrives with the team split",
		Owner: "alice@example.com", Expires: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)}
	cases := map[string]struct {
		reason string
		src    string
		want   []meridian.Waiver
		errs   []string
	}{
		"valid": {
			reason: "a complete waiver parses, with an unquoted date",
			src:    waiverDoc, want: []meridian.Waiver{valid},
		},
		"quoted date and target": {
			reason: "a quoted date is a date too, and a target alone is enough",
			src:    strings.Replace(strings.Replace(waiverDoc, "workload: api", "target: aws-eu", 1), "2027-03-31", `"2027-03-31"`, 1),
			want: []meridian.Waiver{func() meridian.Waiver {
				w := valid
				w.Workload, w.Target = "", "aws-eu"
				return w
			}()},
		},
		"one year exactly": {
			reason: "an expiry exactly one year away is allowed",
			src:    strings.Replace(waiverDoc, "2027-03-31", "2027-12-04", 1),
			want: []meridian.Waiver{func() meridian.Waiver {
				w := valid
				w.Expires = time.Date(2027, 12, 4, 0, 0, 0, 0, time.UTC)
				return w
			}()},
		},
		"expired is valid": {
			reason: "an expired waiver is valid config: the finding says it expired",
			src:    strings.Replace(waiverDoc, "2027-03-31", "2026-01-01", 1),
			want: []meridian.Waiver{func() meridian.Waiver {
				w := valid
				w.Expires = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				return w
			}()},
		},
		"too far": {
			reason: "a waiver is a debt with a due date at most one year away",
			src:    strings.Replace(waiverDoc, "2027-03-31", "2027-12-05", 1),
			errs:   []string{"waivers/w.yaml:7: expires: must be at most one year away (by 2027-12-04), got 2027-12-05"},
		},
		"no expiry": {
			reason: "the expiry is required",
			src:    strings.Replace(waiverDoc, "expires: 2027-03-31\n", "", 1),
			errs:   []string{"waivers/w.yaml:1: expires: required: the last day the waiver holds, at most one year away (by 2027-12-04)"},
		},
		"not a date": {
			reason: "the expiry is a date, not a duration or a timestamp",
			src:    strings.Replace(waiverDoc, "2027-03-31", "90d", 1),
			errs:   []string{`waivers/w.yaml:7: expires: must be a date such as 2027-12-04, got "90d"`},
		},
		"placement rule": {
			reason: "a rule that decides placement can only be fixed",
			src:    strings.Replace(waiverDoc, "MER-TAG-001", "MER-JUR-001", 1),
			errs:   []string{"waivers/w.yaml:3: rule: MER-JUR-001 decides placement (jurisdiction) and cannot be waived: it can only be fixed"},
		},
		"missing fields": {
			reason: "rule, subject, reason and owner are all required, each reported",
			src:    "apiVersion: meridian/v1\nkind: Waiver\nexpires: 2027-01-01\n",
			errs: []string{
				"waivers/w.yaml:1: rule: required: the ID of the rule to waive, e.g. MER-TAG-001",
				"waivers/w.yaml:1: workload: a waiver must name a workload, a target or both",
				"waivers/w.yaml:1: reason: required: why the finding is accepted for now",
				"waivers/w.yaml:1: owner: required: who answers for the waiver",
			},
		},
		"unknown field": {
			reason: "typos are caught as everywhere in the config",
			src:    strings.Replace(waiverDoc, "owner:", "ownr:", 1),
			errs:   []string{`waivers/w.yaml:6: ownr: unknown field (did you mean "owner"?)`},
		},
		"wrong kind": {
			reason: "only waivers belong in waivers/",
			src:    strings.Replace(waiverDoc, "kind: Waiver", "kind: Workload", 1),
			errs:   []string{`waivers/w.yaml:2: kind: must be "Waiver" in waivers/, got "Workload"`},
		},
		"two documents": {
			reason: "one bad document does not hide a good one",
			src:    waiverDoc + "---\n" + strings.Replace(waiverDoc, "reason: the owner tag arrives with the team split\n", "", 1),
			want:   []meridian.Waiver{valid},
			errs:   []string{"waivers/w.yaml:9: reason: required: why the finding is accepted for now"},
		},
		"syntax": {
			reason: "a YAML syntax error names its line",
			src:    "apiVersion: meridian/v1\nkind: [\n",
			errs:   []string{"waivers/w.yaml:2: YAML syntax error: did not find expected node content"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, errs := config.ParseWaivers("waivers/w.yaml", []byte(tc.src), waiverNow)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if diff := cmp.Diff(tc.errs, msgs); diff != "" {
				t.Errorf("%s: errors (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b meridian.Origin) bool { return true })); diff != "" {
				t.Errorf("%s: waivers (-want +got):\n%s", tc.reason, diff)
			}
			for _, w := range got {
				if w.Origin.File != "waivers/w.yaml" || w.Origin.LineOf("expires") == 0 {
					t.Errorf("waiver %+v: origin does not point at its file and lines", w.Origin)
				}
			}
		})
	}
}

// TestLoadWaivers checks the loader's hook: waivers/ is read into
// Config.Waivers, and its errors join the repo's others.
func TestLoadWaivers(t *testing.T) {
	exp := time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly)
	good := strings.Replace(waiverDoc, "2027-03-31", exp, 1)
	fsys := fstest.MapFS{
		"targets/t.yaml":     {Data: []byte(target)},
		"workloads/api.yaml": {Data: []byte(workload)},
		"waivers/api.yaml":   {Data: []byte(good)},
	}
	cfg, err := config.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Waivers) != 1 || cfg.Waivers[0].Rule != "MER-TAG-001" || cfg.Waivers[0].ExpiryDate() != exp {
		t.Errorf("Waivers = %+v, want the one waiver expiring %s", cfg.Waivers, exp)
	}
	fsys["waivers/bad.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(good, "MER-TAG-001", "MER-ENC-001", 1))}
	_, err = config.Load(fsys)
	var errs meridian.ConfigErrors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].File != "waivers/bad.yaml" || errs[0].Field != "rule" {
		t.Errorf("Load with a placement-rule waiver = %v, want one error on waivers/bad.yaml rule", err)
	}
}

func FuzzParseWaivers(f *testing.F) {
	f.Add(waiverDoc)
	f.Add(strings.Replace(waiverDoc, "2027-03-31", "2027-12-05", 1))
	f.Add("apiVersion: meridian/v1\nkind: Waiver\nexpires: [1]\nrule: {a: b}\n---\n- x\n")
	f.Add("expires: &a 2027-01-01\nrule: *a\n")
	f.Fuzz(func(t *testing.T, src string) {
		ws, errs := config.ParseWaivers("waivers/f.yaml", []byte(src), waiverNow)
		for _, e := range errs {
			if e.File != "waivers/f.yaml" || e.Message == "" {
				t.Errorf("error without file or message: %#v", e)
			}
		}
		latest := time.Date(2027, 12, 4, 0, 0, 0, 0, time.UTC)
		for _, w := range ws {
			if w.Rule == "" || w.Reason == "" || w.Owner == "" || (w.Workload == "" && w.Target == "") || w.Expires.IsZero() || w.Expires.After(latest) {
				t.Errorf("an invalid waiver passed: %+v", w)
			}
			if _, placement := meridian.PlacementRule(w.Rule); placement {
				t.Errorf("a placement rule was waived: %s", fmt.Sprint(w))
			}
		}
	})
}
