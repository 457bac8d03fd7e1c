package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func placement(w, t string, replicas int, cost meridian.Money, reason string) meridian.Placement {
	return meridian.Placement{Workload: w, Target: t, Replicas: replicas, MonthlyCost: cost, Explanation: meridian.Explanation{Reason: reason}}
}

func total(p *meridian.Plan) *meridian.Plan {
	p.TotalMonthlyCost = 0
	for _, pl := range p.Placements {
		p.TotalMonthlyCost += pl.MonthlyCost
	}
	return p
}

func sampleComparison() *Comparison {
	before := total(&meridian.Plan{ID: "b1", Commit: "1111111111111111", Placements: []meridian.Placement{
		placement("api", "aws-eu", 3, 300, "cheapest compliant target"),
		placement("web", "gcp-eu", 2, 100, "cheapest compliant target"),
		placement("old", "onprem", 1, 50, "pinned"),
		placement("same", "onprem", 1, 10, "pinned"),
	}})
	after := total(&meridian.Plan{ID: "a1", Commit: "2222222222222222",
		Placements: []meridian.Placement{
			placement("api", "onprem", 3, 120, "onprem is $180.00/month cheaper than aws-eu"),
			placement("web", "gcp-eu", 4, 200, "cheapest compliant target | scaled by forecast"),
			placement("same", "onprem", 1, 10, "pinned"),
			placement("new", "edge-1", 1, 25, "only target in jurisdiction"),
			placement("new", "edge-2", 1, 25, "only target in jurisdiction"),
		},
		Unplaceable: []meridian.Unplaceable{{Workload: "gpu", Reason: "no target has a GPU"}},
		Findings: []meridian.Finding{
			{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "api", Field: "tags.owner", File: "workloads/api.yaml", Line: 4, Message: "missing required tag owner", Remediation: "add tags.owner"},
			{Rule: "ORG-EDGE-001", Severity: meridian.SeverityWarn, Workload: "new", Target: "edge-1", File: "workloads/new file.yaml", Line: 9, Message: "edge without `spread`"},
		},
		Deploy: &meridian.DeployDiff{Repo: "file:///deploy", Branch: "main", Files: []meridian.DeployFile{
			{Path: "apps/api/onprem.yaml", Action: meridian.DeployAdd, Diff: "--- /dev/null\n+++ b/apps/api/onprem.yaml\n@@ -0,0 +1 @@\n+replicas: 3\n"},
		}},
		Terraform: []meridian.TargetChange{{Target: "onprem", Module: "terraform/onprem", Status: meridian.ChangeStatusChanges,
			Add: []string{"terraform_data.api"}, Destroy: []string{"terraform_data.old"}}},
	})
	return &Comparison{
		Title:         "PR #7 `feature` → `main`",
		Before:        before,
		BeforeSource:  "base `main` @ 11111111",
		After:         after,
		PolicyChanged: true,
		Preview: []meridian.Finding{
			after.Findings[1],
			{Rule: "ORG-AVAIL-001", Severity: meridian.SeverityDeny, Workload: "web", File: "workloads/web.yaml", Line: 2, Message: "prod needs spread 2"},
		},
		BlobURL: "https://github.com/acme/config/blob/2222222222222222",
	}
}

func TestCompareMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	err := CompareMarkdown(&buf, sampleComparison(), CompareOptions{Marker: "<!-- meridian:test -->", Footer: "_footer_"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.golden.md", buf.Bytes())
}

func TestPlacementChanges(t *testing.T) {
	c := sampleComparison()
	cases := map[string]struct {
		reason        string
		before, after *meridian.Plan
		want          []PlacementChange
	}{
		"Moves": {
			reason: "A move, a scale-up, a removal and a spread workload are changes, sorted by the size of their monthly change; an unchanged workload is not, nor is a new workload that is unplaceable (its own section lists it).",
			before: c.Before, after: c.After,
			want: []PlacementChange{
				{Workload: "api", From: []string{"aws-eu"}, To: []string{"onprem"}, ReplicasBefore: 3, ReplicasAfter: 3, MonthlyBefore: 300, MonthlyAfter: 120, Reason: "onprem is $180.00/month cheaper than aws-eu"},
				{Workload: "web", From: []string{"gcp-eu"}, To: []string{"gcp-eu"}, ReplicasBefore: 2, ReplicasAfter: 4, MonthlyBefore: 100, MonthlyAfter: 200, Reason: "cheapest compliant target | scaled by forecast"},
				{Workload: "new", To: []string{"edge-1", "edge-2"}, ReplicasAfter: 2, MonthlyAfter: 50, Reason: "only target in jurisdiction"},
				{Workload: "old", From: []string{"onprem"}, ReplicasBefore: 1, MonthlyBefore: 50, Reason: "removed from the config"},
			},
		},
		"NoBefore": {
			reason: "Without anything to compare with, every workload is new.",
			after:  &meridian.Plan{Placements: []meridian.Placement{placement("a", "t", 1, 5, "r")}},
			want:   []PlacementChange{{Workload: "a", To: []string{"t"}, ReplicasAfter: 1, MonthlyAfter: 5, Reason: "r"}},
		},
		"SubCent": {
			reason: "A cost change that rounds to zero cents is not a change.",
			before: &meridian.Plan{Placements: []meridian.Placement{placement("a", "t", 1, 5, "r")}},
			after:  &meridian.Plan{Placements: []meridian.Placement{placement("a", "t", 1, 5.001, "r")}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := PlacementChanges(tc.before, tc.after)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestPreviewDiff(t *testing.T) {
	c := sampleComparison()
	added, resolved := PreviewDiff(c.After.Findings, c.Preview)
	var got []string
	for _, f := range added {
		got = append(got, "+"+f.Rule)
	}
	for _, f := range resolved {
		got = append(got, "-"+f.Rule)
	}
	if diff := cmp.Diff([]string{"+ORG-AVAIL-001", "-MER-TAG-001"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// hugeComparison has far more placement changes, findings and diff lines
// than a GitHub comment can hold.
func hugeComparison() *Comparison {
	before, after := &meridian.Plan{ID: "b"}, &meridian.Plan{ID: "a", Deploy: &meridian.DeployDiff{}}
	for i := range 3000 {
		w := fmt.Sprintf("workload-%04d", i)
		before.Placements = append(before.Placements, placement(w, "aws", 1, 10, "x"))
		after.Placements = append(after.Placements, placement(w, "gcp", 2, meridian.Money(5+i), "cheaper by far, a long reason to make rows wider"))
		after.Findings = append(after.Findings, meridian.Finding{Rule: "MER-TAG-001", Severity: meridian.SeverityWarn, Workload: w, File: "workloads/" + w + ".yaml", Line: 3, Message: "tag", Remediation: "fix it"})
		after.Deploy.Files = append(after.Deploy.Files, meridian.DeployFile{Path: w + ".yaml", Action: meridian.DeployChange, Diff: strings.Repeat("+line with ``` fences\n", 20)})
	}
	after.Terraform = []meridian.TargetChange{{Target: "gcp", Module: "m", Status: meridian.ChangeStatusChanges, Add: make([]string, 5000)}}
	return &Comparison{Before: total(before), After: total(after), BlobURL: "https://github.com/o/r/blob/sha", PolicyChanged: true, Preview: nil}
}

func TestCompareMarkdownLimit(t *testing.T) {
	for _, limit := range []int{GitHubCommentLimit, 20000, 3000, 400} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var buf bytes.Buffer
			if err := CompareMarkdown(&buf, hugeComparison(), CompareOptions{Limit: limit, Marker: "<!-- m -->", Footer: "FOOTER"}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if len(out) > limit {
				t.Fatalf("report is %d bytes, over the limit %d", len(out), limit)
			}
			if !strings.HasPrefix(out, "<!-- m -->\n") {
				t.Errorf("marker missing: %.40q", out)
			}
			if limit < 3000 {
				return // only the fixed parts are promised at tiny limits
			}
			if !strings.HasSuffix(out, "FOOTER\n") {
				t.Errorf("footer missing: ...%q", out[len(out)-60:])
			}
			for _, want := range []string{"#### Placement changes (3000)", "#### Policy findings", "left out to fit GitHub's comment limit"} {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q", want)
				}
			}
			if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
				t.Errorf("unbalanced <details>")
			}
			// The diff content has ``` runs, so the fence is ````; every
			// opened fence must be closed.
			if n := strings.Count(out, "````diff\n"); n != strings.Count(out, "\n````\n") {
				t.Errorf("%d diff fences opened, %d closed", n, strings.Count(out, "\n````\n"))
			}
		})
	}
}

func TestCode(t *testing.T) {
	cases := map[string]string{"plain": "`plain`", "a`b": "`` a`b ``", "a``b`": "``` a``b` ```", "a|b\nc": "`a\\|b c`"}
	for in, want := range cases {
		if got := code(in); got != want {
			t.Errorf("code(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSARIF(t *testing.T) {
	c := sampleComparison()
	var buf bytes.Buffer
	if err := SARIF(&buf, c.After); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.golden.sarif", buf.Bytes())
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || len(doc.Runs) != 1 {
		t.Fatalf("version %q, %d runs", doc.Version, len(doc.Runs))
	}
	run := doc.Runs[0]
	var got []string
	for _, r := range run.Results {
		if rid := run.Tool.Driver.Rules[r.RuleIndex].ID; rid != r.RuleID {
			t.Errorf("result %s points at rule %s", r.RuleID, rid)
		}
		got = append(got, r.RuleID+":"+r.Level)
	}
	want := []string{"MER-TAG-001:error", "ORG-EDGE-001:warning", UnplaceableRule + ":error"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("each finding keeps its rule ID (-want +got):\n%s", diff)
	}
}
