package report

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/meridianhq/meridian"
)

// GitHubCommentLimit is the most characters GitHub accepts in a comment
// body.
const GitHubCommentLimit = 65536

// CompareOptions tunes CompareMarkdown. Zero values mean the defaults.
type CompareOptions struct {
	// Limit bounds the output in bytes (default GitHubCommentLimit). Bytes
	// are never fewer than the characters GitHub counts, so a body within
	// Limit bytes is within Limit characters.
	Limit int
	// Marker is written first, e.g. the hidden HTML comment by which the
	// server finds its comment again.
	Marker string
	// Footer is written last, e.g. where to get the full plan.
	Footer string
}

// CompareMarkdown writes c as one GitHub-flavoured Markdown report: the
// monthly cost before and after, the placement changes with their reasons,
// the policy findings linked to their file and line, the preview of changed
// policies, and collapsible deploy-repo and Terraform diffs. It stays within
// opts.Limit: when the full report is too long, the sections at the end
// (the diffs first) lose rows, each replaced by a line saying how many were
// left out, so that every section still appears and the Markdown stays
// well-formed.
func CompareMarkdown(w io.Writer, c *Comparison, opts CompareOptions) error {
	limit := opts.Limit
	if limit <= 0 {
		limit = GitHubCommentLimit
	}
	var head strings.Builder
	if opts.Marker != "" {
		head.WriteString(opts.Marker + "\n")
	}
	writeSummary(&head, c)
	var tail string
	if opts.Footer != "" {
		tail = "\n" + opts.Footer + "\n"
	}
	blocks := []block{unplaceableBlock(c), destroyBlock(c.After), changesBlock(c), findingsBlock(c)}
	blocks = append(blocks, previewBlocks(c)...)
	blocks = append(blocks, deployBlock(c), terraformBlock(c))
	_, err := io.WriteString(w, fit(limit, head.String(), tail, blocks))
	return err
}

func writeSummary(b *strings.Builder, c *Comparison) {
	title := "Meridian plan"
	if c.Title != "" {
		title += ": " + c.Title
	}
	fmt.Fprintf(b, "### %s\n\n", title)
	after := c.After
	if after == nil {
		after = &meridian.Plan{}
	}
	status := "✅ **No blocking findings.**"
	if c.Blocking() {
		n := 0
		for _, f := range after.Findings {
			if f.Blocking() {
				n++
			}
		}
		status = fmt.Sprintf("❌ **Blocked:** %d deny finding(s), %d unplaceable workload(s).", n, len(after.Unplaceable))
	}
	fmt.Fprintf(b, "%s Plan `%s` of commit `%s`.\n\n", status, after.ID, commitLabel(after))
	var before meridian.Money
	src := c.BeforeSource
	if c.Before != nil {
		before = c.Before.TotalMonthlyCost
	} else if src == "" {
		src = "nothing planned or applied yet"
	}
	delta := after.TotalMonthlyCost - before
	pct := ""
	if before.Round() != 0 {
		pct = fmt.Sprintf(", %+.1f%%", float64(delta)/float64(before)*100)
	}
	fmt.Fprintf(b, "**Monthly cost:** %s → %s (**%s**%s) · before: %s\n\n", before, after.TotalMonthlyCost, signed(delta), pct, src)
}

// signed formats an amount with an explicit sign: +$1.00, -$1.00, $0.00.
func signed(m meridian.Money) string {
	if m.Round() > 0 {
		return "+" + m.String()
	}
	return m.String()
}

func unplaceableBlock(c *Comparison) block {
	if c.After == nil || len(c.After.Unplaceable) == 0 {
		return block{}
	}
	b := block{head: fmt.Sprintf("#### ❌ Unplaceable workloads (%d)\n\n", len(c.After.Unplaceable)), tail: "\n", omitted: omittedItems}
	for _, u := range c.After.Unplaceable {
		b.rows = append(b.rows, fmt.Sprintf("- %s: %s\n", code(u.Workload), inline(u.Reason)))
	}
	return b
}

func changesBlock(c *Comparison) block {
	changes := PlacementChanges(c.Before, c.After)
	if len(changes) == 0 {
		return block{head: "#### Placement changes\n\nNone.\n\n"}
	}
	b := block{
		head: fmt.Sprintf("#### Placement changes (%d)\n\n| Workload | From → To | Replicas | Monthly Δ | Why |\n|---|---|--:|--:|---|\n", len(changes)),
		tail: "\n", omitted: omittedRows,
	}
	for _, ch := range changes {
		b.rows = append(b.rows, fmt.Sprintf("| %s | %s → %s | %d → %d | %s | %s |\n", code(ch.Workload),
			targetList(ch.From), targetList(ch.To), ch.ReplicasBefore, ch.ReplicasAfter, signed(ch.Delta()), cell(ch.Reason)))
	}
	return b
}

func targetList(ts []string) string {
	if len(ts) == 0 {
		return "–"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = code(t)
	}
	return strings.Join(parts, ", ")
}

const findingsTable = "| Severity | Rule | Location | Workload | Message | Remediation |\n|---|---|---|---|---|---|\n"

func findingsBlock(c *Comparison) block {
	var fs []meridian.Finding
	if c.After != nil {
		fs = c.After.Findings
	}
	h := fmt.Sprintf("#### Policy findings (%s)\n\n", findingCounts(fs))
	if len(fs) == 0 {
		return block{head: h + "None.\n\n"}
	}
	b := block{head: h + findingsTable, tail: "\n", omitted: omittedRows}
	for _, f := range fs {
		b.rows = append(b.rows, findingRow(f, c.BlobURL))
	}
	return b
}

func findingRow(f meridian.Finding, blobURL string) string {
	who := f.Workload
	if f.Target != "" {
		who += " → " + f.Target
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s |\n", severityIcon(f.Severity), code(f.Rule),
		locationLink(f, blobURL), cell(dash(who)), cell(f.Message), cell(dash(f.Remediation)))
}

// locationLink renders file:line, linked to the line in the PR's blob.
func locationLink(f meridian.Finding, blobURL string) string {
	loc := location(f)
	if f.File == "" || f.Resource != "" || blobURL == "" {
		return code(loc)
	}
	segs := strings.Split(f.File, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := strings.TrimSuffix(blobURL, "/") + "/" + strings.Join(segs, "/")
	if f.Line > 0 {
		u += fmt.Sprintf("#L%d", f.Line)
	}
	return fmt.Sprintf("[%s](%s)", code(loc), u)
}

func previewBlocks(c *Comparison) []block {
	if !c.PolicyChanged {
		return nil
	}
	var current []meridian.Finding
	if c.After != nil {
		current = c.After.Findings
	}
	added, resolved := PreviewDiff(current, c.Preview)
	note := "#### Policy changes\n\n> [!NOTE]\n> This pull request changes policies. They apply after merge: the findings above come from the base branch's policies. " +
		"With this pull request's own policies, the plan would have the findings below.\n\n"
	out := []block{{head: note}}
	if len(added) == 0 && len(resolved) == 0 {
		out[0].head += "No difference in findings.\n\n"
		return out
	}
	for _, part := range []struct {
		what string
		fs   []meridian.Finding
	}{{"New findings after merge", added}, {"Findings resolved after merge", resolved}} {
		if len(part.fs) == 0 {
			continue
		}
		b := block{head: fmt.Sprintf("**%s (%s):**\n\n%s", part.what, findingCounts(part.fs), findingsTable), tail: "\n", omitted: omittedRows}
		for _, f := range part.fs {
			b.rows = append(b.rows, findingRow(f, c.BlobURL))
		}
		out = append(out, b)
	}
	return out
}

func deployBlock(c *Comparison) block {
	if c.After == nil || c.After.Deploy == nil {
		return block{}
	}
	d := c.After.Deploy
	if d.Error != "" {
		return block{head: fmt.Sprintf("<details><summary>Deploy repo: not computed</summary>\n\n%s\n\n</details>\n\n", inline(d.Error))}
	}
	if len(d.Files) == 0 {
		return block{head: "<details><summary>Deploy repo: no changes</summary>\n\nThe deploy repo already matches this plan.\n\n</details>\n\n"}
	}
	var lines []string
	for _, f := range d.Files {
		lines = append(lines, fmt.Sprintf("# %s %s\n", f.Action, f.Path))
		lines = append(lines, splitLines(f.Diff)...)
	}
	summary := fmt.Sprintf("Deploy repo: %d file(s) changed", len(d.Files))
	return diffBlock(summary, lines)
}

func terraformBlock(c *Comparison) block {
	if c.After == nil || len(c.After.Terraform) == 0 {
		if c.TerraformSkipped != "" {
			return block{head: fmt.Sprintf("<details><summary>Terraform: not planned</summary>\n\n%s\n\n</details>\n\n", inline(c.TerraformSkipped))}
		}
		return block{}
	}
	var lines []string
	var add, change, replace, destroy, changed int
	for _, t := range c.After.Terraform {
		lines = append(lines, fmt.Sprintf("# %s (%s): %s\n", t.Target, t.Module, t.Status))
		if t.Error != "" {
			lines = append(lines, "!  "+inline(t.Error)+"\n")
		}
		for _, a := range t.Add {
			lines = append(lines, "+   "+a+"\n")
		}
		for _, a := range t.Change {
			lines = append(lines, "!   "+a+"\n")
		}
		for _, a := range t.Replace {
			lines = append(lines, "-/+ "+a+"\n")
		}
		for _, a := range t.Destroy {
			lines = append(lines, "-   "+a+"\n")
		}
		for _, f := range t.Frozen {
			lines = append(lines, fmt.Sprintf("#   %s frozen at %d replicas (planned %d)\n", f.Workload, f.Replicas, f.Planned))
		}
		add, change, replace, destroy = add+len(t.Add), change+len(t.Change), replace+len(t.Replace), destroy+len(t.Destroy)
		if t.HasChanges() {
			changed++
		}
	}
	summary := fmt.Sprintf("Terraform: %d of %d target(s) change (%d to add, %d to change, %d to replace, %d to destroy)",
		changed, len(c.After.Terraform), add, change, replace, destroy)
	return diffBlock(summary, lines)
}

// diffBlock puts lines in a collapsible diff code block whose fence is
// longer than any backtick run in them, so that no content can end it.
func diffBlock(summary string, lines []string) block {
	fence := "```"
	for _, l := range lines {
		for strings.Contains(l, fence) {
			fence += "`"
		}
	}
	return block{
		head:    fmt.Sprintf("<details><summary>%s</summary>\n\n%sdiff\n", summary, fence),
		rows:    lines,
		tail:    fence + "\n\n</details>\n\n",
		omitted: omittedLines,
	}
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if l := lines[len(lines)-1]; !strings.HasSuffix(l, "\n") {
		lines[len(lines)-1] = l + "\n"
	}
	return lines
}

func omittedRows(n int) string {
	return fmt.Sprintf("\n_…and %d more row(s), left out to fit GitHub's comment limit._\n", n)
}

func omittedItems(n int) string {
	return fmt.Sprintf("- _…and %d more, left out to fit GitHub's comment limit._\n", n)
}

func omittedLines(n int) string {
	return fmt.Sprintf("# …and %d more line(s), left out to fit GitHub's comment limit.\n", n)
}

// code renders s as inline code, choosing a delimiter that s cannot close.
func code(s string) string {
	s = inline(s)
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	d := "``"
	for strings.Contains(s, d) {
		d += "`"
	}
	return d + " " + s + " " + d
}

// inline keeps text on one line and out of table syntax.
func inline(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "|", `\|`).Replace(s)
}
