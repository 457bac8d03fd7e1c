package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/meridianhq/meridian"
)

// destroyConsentHint says how to consent, in the reports; the command is
// inline, never on a line of its own, so that quoting a report is no
// approval.
const destroyConsentHint = "Applying needs consent to destroy: an approver comments `meridian approve-destroy` on the pull request, " +
	"an operator approves the plan (`POST /api/v1/plans/ID/approve-destroy`), or `meridian apply --allow-destroy`. " +
	"A target with `protect: true` is never destroyed."

// destroyLines is one line per item, then one per thing destroyed.
func destroyLines(items []meridian.DestroyItem, bullet, sub string, quote func(string) string) []string {
	var out []string
	for _, d := range items {
		out = append(out, fmt.Sprintf("%s%s %s (%s): %s\n", bullet, d.Kind, quote(d.Name), d.Reason, d.Summary()))
		if d.Protected {
			continue
		}
		for _, t := range d.Terraform {
			for _, a := range t.Addresses {
				out = append(out, fmt.Sprintf("%s%s: %s\n", sub, quote(t.Target), quote(a)))
			}
		}
		for _, r := range d.Crossplane {
			out = append(out, fmt.Sprintf("%sCrossplane %s %s: deletion policy **%s**\n", sub, r.Kind, quote(qualified(r)), r.DeletionPolicy))
		}
		for _, f := range d.DeployFiles {
			out = append(out, fmt.Sprintf("%sdeploy repo: %s\n", sub, quote(f)))
		}
		for _, f := range d.Moving {
			out = append(out, fmt.Sprintf("%sdeploy repo, once moved away: %s\n", sub, quote(f)))
		}
	}
	return out
}

func qualified(r meridian.DeployResource) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// DestroyTable writes the terminal view of the plan's destroy section
// (nothing when it has none): what an apply destroys because it left the
// config, and the protected targets it keeps.
func DestroyTable(w io.Writer, p *meridian.Plan) {
	if len(p.Destroy) == 0 {
		return
	}
	fmt.Fprintln(w, "\nWill be destroyed (left the config):")
	for _, l := range destroyLines(p.Destroy, "  ", "      - ", func(s string) string { return s }) {
		io.WriteString(w, strings.ReplaceAll(l, "**", ""))
	}
	if len(p.NeedsDestroyConsent()) > 0 {
		fmt.Fprintln(w, "  Applying needs consent: meridian apply --allow-destroy, a pull-request approval, or an operator's approval in the API.")
	}
}

// destroyMarkdown is the "Will be destroyed" section of a plan's Markdown.
func destroyMarkdown(w io.Writer, p *meridian.Plan) {
	if b := destroyBlock(p); b.head != "" {
		io.WriteString(w, "\n"+b.head+strings.Join(b.rows, "")+b.tail)
	}
}

// destroyBlock is the "Will be destroyed" section of a report, before the
// findings: what an apply destroys must not be lost in a long comment.
func destroyBlock(p *meridian.Plan) block {
	if p == nil || len(p.Destroy) == 0 {
		return block{}
	}
	head := fmt.Sprintf("#### 🗑️ Will be destroyed (%d)\n\n", len(p.Destroy))
	if len(p.NeedsDestroyConsent()) > 0 {
		head += destroyConsentHint + "\n\n"
	}
	return block{head: head, rows: destroyLines(p.Destroy, "- ", "  - ", code), tail: "\n", omitted: omittedItems}
}
