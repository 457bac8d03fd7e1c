package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/meridianhq/meridian"
)

// deployDiffBudget bounds the unified diffs Markdown inlines, so that the
// plan still fits a GitHub comment (65,536 characters) when an apply adds
// every file of a large config; the JSON document carries every diff.
const deployDiffBudget = 16000

// deployCounts is "2 to add, 1 to change, 0 to remove".
func deployCounts(d *meridian.DeployDiff) string {
	n := map[string]int{}
	for _, f := range d.Files {
		n[f.Action]++
	}
	return fmt.Sprintf("%d to add, %d to change, %d to remove", n[meridian.DeployAdd], n[meridian.DeployChange], n[meridian.DeployRemove])
}

// deployWhere names the deploy repo, branch, path and base commit.
func deployWhere(d *meridian.DeployDiff) string {
	s := d.Repo + " (branch " + d.Branch
	if d.Path != "" {
		s += ", path " + d.Path
	}
	base := "no commits yet"
	if d.Base != "" {
		base = "at " + shortSHA(d.Base)
	}
	return s + ", " + base + ")"
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func heldText(h meridian.HeldPlacement) string {
	return fmt.Sprintf("%s stays on %s until %s is Synced and Healthy", h.Workload, h.Target, strings.Join(h.Until, ", "))
}

// deployTable is the terminal view: counts and the file list.
func deployTable(w io.Writer, p *meridian.Plan) {
	d := p.Deploy
	if d == nil {
		return
	}
	if d.Error != "" {
		fmt.Fprintf(w, "\nDeploy repo: not previewed: %s\n", d.Error)
		return
	}
	fmt.Fprintf(w, "\nDeploy repo %s:\n", deployWhere(d))
	if len(d.Files) == 0 {
		fmt.Fprintln(w, "  no changes")
	} else {
		fmt.Fprintf(w, "  %s\n", deployCounts(d))
		for _, f := range d.Files {
			fmt.Fprintf(w, "  %s %s\n", meridian.DeploySign(f.Action), f.Path)
		}
	}
	for _, h := range d.Held {
		fmt.Fprintf(w, "  kept for a move: %s\n", heldText(h))
	}
}

// deployMarkdown is a collapsible section with the file list and the
// unified diffs.
func deployMarkdown(w io.Writer, p *meridian.Plan) {
	d := p.Deploy
	if d == nil {
		return
	}
	if d.Error != "" {
		fmt.Fprintf(w, "\n<details><summary>Deploy repo: not previewed</summary>\n\n%s\n\n</details>\n", cell(d.Error))
		return
	}
	summary := "no changes"
	if len(d.Files) > 0 {
		summary = deployCounts(d)
	}
	fmt.Fprintf(w, "\n<details><summary>Deploy repo: %s</summary>\n\n", summary)
	fmt.Fprintf(w, "`%s`\n", cell(deployWhere(d)))
	if len(d.Files) > 0 {
		fmt.Fprintln(w, "\n| | File | Workload | Target |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, f := range d.Files {
			fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", f.Action, f.Path, dash(f.Workload), dash(f.Target))
		}
	}
	if len(d.Held) > 0 {
		fmt.Fprintln(w)
		for _, h := range d.Held {
			fmt.Fprintf(w, "- kept for a move: %s\n", cell(heldText(h)))
		}
	}
	// Changes and removals first: they are what a reviewer must read; an
	// added file is all "+" lines.
	shown := map[int]bool{}
	size, left := 0, 0
	for _, adds := range []bool{false, true} {
		for i, f := range d.Files {
			if (f.Action == meridian.DeployAdd) != adds {
				continue
			}
			if size+len(f.Diff) > deployDiffBudget {
				left++
				continue
			}
			size += len(f.Diff)
			shown[i] = true
		}
	}
	var diffs strings.Builder
	for i, f := range d.Files {
		if shown[i] {
			diffs.WriteString(f.Diff)
			if !strings.HasSuffix(f.Diff, "\n") {
				diffs.WriteString("\n")
			}
		}
	}
	if diffs.Len() > 0 {
		fence := "```"
		for strings.Contains(diffs.String(), fence) {
			fence += "`"
		}
		fmt.Fprintf(w, "\n%sdiff\n%s%s\n", fence, diffs.String(), fence)
	}
	if left > 0 {
		fmt.Fprintf(w, "\n%d more file diff(s) left out for length; `meridian plan --format json` has them all.\n", left)
	}
	fmt.Fprintln(w, "\n</details>")
}
