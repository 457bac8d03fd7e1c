package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/meridianhq/meridian"
)

// Markdown writes the plan as GitHub-flavoured Markdown for a pull-request
// comment.
func Markdown(w io.Writer, p *meridian.Plan) error {
	ew := &errWriter{w: w}
	status := "✅ no blocking findings"
	if p.Blocking() {
		status = "❌ blocked"
	}
	fmt.Fprintf(ew, "### Meridian plan `%s`\n\n", p.ID)
	fmt.Fprintf(ew, "Commit `%s` · %s · **%s/month** (%s)\n\n", commitLabel(p), status, p.TotalMonthlyCost, solverLabel(p.Solver))
	fmt.Fprintln(ew, "| Workload | Target | Replicas | Monthly | Runner-up | Why |")
	fmt.Fprintln(ew, "|---|---|--:|--:|---|---|")
	for _, pl := range p.Placements {
		runner := "–"
		if r := pl.Explanation.RunnerUp; r != nil {
			runner = fmt.Sprintf("`%s` (%s)", r.Target, signed(r.ExtraCost))
		}
		why := pl.Explanation.Reason
		if pl.Blocked {
			why = "**blocked** by a deny finding; " + why
		}
		fmt.Fprintf(ew, "| `%s` | `%s` | %d | %s | %s | %s |\n", pl.Workload, pl.Target, pl.Replicas, pl.MonthlyCost, runner, cell(why))
	}
	if len(p.Unplaceable) > 0 {
		fmt.Fprintf(ew, "\n#### ❌ Unplaceable workloads (%d)\n\n", len(p.Unplaceable))
		for _, u := range p.Unplaceable {
			fmt.Fprintf(ew, "- `%s`: %s\n", u.Workload, u.Reason)
			for _, g := range u.Targets {
				fmt.Fprintf(ew, "  - %s\n", groupLine(g, codeName))
			}
		}
	}
	fmt.Fprintf(ew, "\n#### Policy findings (%s)\n\n", findingCounts(p.Findings))
	if len(p.Findings) == 0 {
		fmt.Fprintln(ew, "None.")
	} else {
		fmt.Fprintln(ew, "| Severity | Rule | Location | Workload | Target | Message | Remediation |")
		fmt.Fprintln(ew, "|---|---|---|---|---|---|---|")
		for _, f := range p.Findings {
			fmt.Fprintf(ew, "| %s | `%s` | `%s` | %s | %s | %s | %s |\n", severityIcon(f.Severity), f.Rule, location(f), dash(f.Workload), dash(f.Target), cell(f.Message), cell(f.Remediation))
		}
	}
	if rejected := notChosen(p); rejected != "" {
		fmt.Fprint(ew, "\n<details><summary>Targets not chosen, and why</summary>\n\n")
		fmt.Fprintln(ew, "| Workload | Targets | Reason |")
		fmt.Fprintln(ew, "|---|---|---|")
		fmt.Fprint(ew, rejected)
		fmt.Fprintln(ew, "\nThe nearest targets are named, the cheapest first; `meridian explain WORKLOAD` lists every target.")
		fmt.Fprintln(ew, "\n</details>")
	}
	terraformMarkdown(ew, p)
	deployMarkdown(ew, p)
	destroyMarkdown(ew, p)
	return ew.err
}

func severityIcon(s meridian.Severity) string {
	switch s {
	case meridian.SeverityDeny:
		return "🚫 deny"
	case meridian.SeverityWarn:
		return "⚠️ warn"
	}
	return "ℹ️ " + string(s)
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// notChosen is the rows of the "Targets not chosen" table: a workload's
// rejected targets once, as its placements share them, then each
// placement's capacity-blocked targets.
func notChosen(p *meridian.Plan) string {
	var b strings.Builder
	for i, pl := range p.Placements {
		ex := &pl.Explanation
		if i == 0 || p.Placements[i-1].Workload != pl.Workload {
			for _, g := range ex.Rejected {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", pl.Workload, groupTargets(g, codeName), cell(groupReason(g)))
			}
		}
		for _, c := range ex.CapacityBlocked {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", pl.Workload, c.Target, cell(c.Reason))
		}
		if more := ex.CapacityBlockedCount - len(ex.CapacityBlocked); more > 0 {
			fmt.Fprintf(&b, "| `%s` | %d more | cheaper than `%s` but without room left |\n", pl.Workload, more, pl.Target)
		}
	}
	return b.String()
}
