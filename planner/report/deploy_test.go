package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestDeployTable(t *testing.T) {
	cases := map[string]struct {
		reason string
		deploy *meridian.DeployDiff
		want   string
	}{
		"none": {
			reason: "a plan made without a deploy preview has no section",
		},
		"error": {
			reason: "an unreadable deploy repo is reported, not hidden",
			deploy: &meridian.DeployDiff{Repo: "/s/deploy.git", Branch: "main", Error: "deploy repo /s/deploy.git: not a Git repository"},
			want:   "\nDeploy repo: not previewed: deploy repo /s/deploy.git: not a Git repository\n",
		},
		"no changes": {
			reason: "a deploy repo that holds the plan says so, with the commit it was compared with",
			deploy: &meridian.DeployDiff{Repo: "/s/deploy.git", Branch: "main", Base: "0123456789abcdef0123", Files: []meridian.DeployFile{}},
			want:   "\nDeploy repo /s/deploy.git (branch main, at 0123456789ab):\n  no changes\n",
		},
		"changes and a move": {
			reason: "counts, one line per file, and the old placements a move keeps",
			deploy: &meridian.DeployDiff{Repo: "/s/deploy.git", Branch: "main", Path: "clusters/prod", Files: []meridian.DeployFile{
				{Path: "clusters/prod/apps/web/b.yaml", Action: meridian.DeployAdd},
				{Path: "clusters/prod/apps/api/a.yaml", Action: meridian.DeployChange},
				{Path: "clusters/prod/apps/old/a.yaml", Action: meridian.DeployRemove},
			}, Held: []meridian.HeldPlacement{{Workload: "web", Target: "a", Until: []string{"b"}}}},
			want: "\nDeploy repo /s/deploy.git (branch main, path clusters/prod, no commits yet):\n" +
				"  1 to add, 1 to change, 1 to remove\n" +
				"  + clusters/prod/apps/web/b.yaml\n  ~ clusters/prod/apps/api/a.yaml\n  - clusters/prod/apps/old/a.yaml\n" +
				"  kept for a move: web stays on a until b is Synced and Healthy\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			deployTable(&buf, &meridian.Plan{Deploy: tc.deploy})
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestDeployMarkdownBudget checks that a huge first apply does not crowd
// out the diffs a reviewer must read, and that file content cannot end the
// code block early.
func TestDeployMarkdownBudget(t *testing.T) {
	d := &meridian.DeployDiff{Repo: "r", Branch: "main"}
	big := strings.Repeat("+  line\n", deployDiffBudget/8/3)
	for i := range 10 {
		d.Files = append(d.Files, meridian.DeployFile{Path: fmt.Sprintf("apps/a%02d.yaml", i), Action: meridian.DeployAdd, Diff: "--- /dev/null\n" + big})
	}
	d.Files = append(d.Files, meridian.DeployFile{Path: "apps/z.yaml", Action: meridian.DeployChange,
		Diff: "--- a/apps/z.yaml\n+++ b/apps/z.yaml\n@@ -1 +1 @@\n-note: ```\n+note: ````\n"})
	var buf bytes.Buffer
	deployMarkdown(&buf, &meridian.Plan{Deploy: d})
	out := buf.String()
	if !strings.Contains(out, "+note: ````\n") {
		t.Error("the changed file's diff must be shown before any added file's")
	}
	if n := strings.Count(out, "--- /dev/null\n"); n != 2 {
		t.Errorf("%d added files' diffs shown, want the 2 that fit the budget after the change", n)
	}
	if !strings.Contains(out, "8 more file diff(s) left out") {
		t.Errorf("the left-out diffs must be counted:\n%s", out[len(out)-200:])
	}
	if !strings.Contains(out, "\n`````diff\n") || !strings.Contains(out, "\n`````\n") {
		t.Error("the fence must be longer than any backtick run in the diffs")
	}
	if len(out) > deployDiffBudget+3000 {
		t.Errorf("section is %d bytes, budget %d", len(out), deployDiffBudget)
	}
	if strings.Count(out, "<details>") != 1 || strings.Count(out, "</details>") != 1 {
		t.Error("unbalanced <details>")
	}
}
