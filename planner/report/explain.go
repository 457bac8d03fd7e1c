package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/meridianhq/meridian"
)

// Explanation writes one workload's per-target detail for a terminal: its
// placements, then every target, nearest first.
func Explanation(w io.Writer, ex *meridian.WorkloadExplanation) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "Workload %s in plan %s, commit %s\n\n", ex.Workload, ex.PlanID, shortCommit(ex.Commit))
	if ex.Unplaceable != "" {
		fmt.Fprintf(ew, "Unplaceable: %s\n", ex.Unplaceable)
	}
	for _, pl := range ex.Placements {
		fmt.Fprintf(ew, "Placed on %s (replicas %d, %s/month): %s\n", pl.Target, pl.Replicas, pl.MonthlyCost, pl.Reason)
		if r := pl.RunnerUp; r != nil {
			fmt.Fprintf(ew, "  runner-up %s (%s)\n", r.Target, signed(r.ExtraCost))
		} else {
			fmt.Fprintln(ew, "  no runner-up: no other compliant target has room")
		}
	}
	fmt.Fprintln(ew)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tVERDICT\tMONTHLY\tRULES\tWHY")
	for _, t := range ex.Targets {
		cost := "-"
		if t.MonthlyCost != nil {
			cost = t.MonthlyCost.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Target, t.Verdict, cost, dash(strings.Join(t.Rules, ", ")), dash(strings.Join(t.Reasons, "; ")))
	}
	tw.Flush()
	return ew.err
}
