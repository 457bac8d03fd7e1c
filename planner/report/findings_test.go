package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestFindings(t *testing.T) {
	long := "On bucket logs-archive (arn:aws:s3:::logs-archive): encrypt it again at the level requires.encryption names, " +
		"with a customer-managed key of its account, as the target's encryption block sets it; lower requires.encryption " +
		"only if the data allows it."
	cases := map[string]struct {
		reason string
		indent string
		fs     []meridian.Finding
		want   string
	}{
		"fix under its row": {
			reason: "the remediation is what a reader of the table must do; it sits under the finding it fixes",
			fs: []meridian.Finding{
				{Rule: "ORG-HA-001", Severity: meridian.SeverityWarn, Workload: "docs", File: "workloads/docs.yaml", Line: 10,
					Message: "production workload runs with replicas.min 1", Remediation: "Set replicas.min to 2."},
				{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "api-gateway", Target: "aws-us-east-1", File: "workloads/api.yaml",
					Message: "missing tag owner", Remediation: "Add tags.owner."},
			},
			want: "" +
				"SEVERITY  RULE         LOCATION                WORKLOAD     TARGET         MESSAGE\n" +
				"warn      ORG-HA-001   workloads/docs.yaml:10  docs         -              production workload runs with replicas.min 1\n" +
				"  fix: Set replicas.min to 2.\n" +
				"deny      MER-TAG-001  workloads/api.yaml      api-gateway  aws-us-east-1  missing tag owner\n" +
				"  fix: Add tags.owner.\n",
		},
		"no remediation": {
			reason: "a finding without a remediation gets no empty fix line",
			fs:     []meridian.Finding{{Rule: "R", Severity: meridian.SeverityInfo, Message: "m"}},
			want: "" +
				"SEVERITY  RULE  LOCATION  WORKLOAD  TARGET  MESSAGE\n" +
				"info      R     -         -         -       m\n",
		},
		"live finding, wrapped, indented": {
			reason: "a live finding points at its resource; a long remediation wraps under its own text, every line indented",
			indent: "  ",
			fs: []meridian.Finding{{Rule: "MER-ENC-001", Severity: meridian.SeverityDeny, Workload: "gw", File: "workloads/gw.yaml", Line: 17,
				Resource: "arn:aws:s3:::logs-archive", Source: meridian.FindingSourceLive, Message: "bucket logs-archive:\nrequires hsm",
				Remediation: long}},
			want: "" +
				"  SEVERITY  RULE         LOCATION                   WORKLOAD  TARGET  MESSAGE\n" +
				"  deny      MER-ENC-001  arn:aws:s3:::logs-archive  gw        -       bucket logs-archive: requires hsm\n" +
				"    fix: On bucket logs-archive (arn:aws:s3:::logs-archive): encrypt it again at the level\n" +
				"         requires.encryption names, with a customer-managed key of its account, as the target's\n" +
				"         encryption block sets it; lower requires.encryption only if the data allows it.\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Findings(&b, tc.indent, tc.fs); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
			for _, l := range strings.Split(b.String(), "\n") {
				if strings.Contains(l, "fix:") && len(l) > len(tc.indent)+2+fixWidth {
					t.Errorf("fix line of %d columns, want at most %d: %q", len(l), len(tc.indent)+2+fixWidth, l)
				}
			}
		})
	}
}

// TestTableRemediation checks that the plan table carries every
// finding's remediation, as the JSON and Markdown do.
func TestTableRemediation(t *testing.T) {
	p := samplePlan(1)
	p.Findings[0].Remediation = "Add tags.owner to workloads/w.yaml\n(the team that is paged)."
	var b bytes.Buffer
	if err := Table(&b, p); err != nil {
		t.Fatal(err)
	}
	if want := "  fix: Add tags.owner to workloads/w.yaml (the team that is paged).\n"; !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
}

func TestFindingList(t *testing.T) {
	cases := map[string]struct {
		reason string
		fs     []meridian.Finding
		want   string
	}{
		"with and without a fix": {
			reason: "a step's findings carry their remediation too, under each one",
			fs: []meridian.Finding{
				{Rule: "MER-DEPLOY-001", Severity: meridian.SeverityWarn, Message: "api has no source", Remediation: "add source to the workload"},
				{Rule: "R", Severity: meridian.SeverityInfo, Message: "m"},
			},
			want: "" +
				"  warn MER-DEPLOY-001: api has no source\n" +
				"    fix: add source to the workload\n" +
				"  info R: m\n",
		},
		"none": {reason: "no findings, no lines", want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := FindingList(&b, "  ", tc.fs); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
