package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/meridianhq/meridian"
)

// Table writes a human-readable summary for a terminal.
func Table(w io.Writer, p *meridian.Plan) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "Plan %s  commit %s\n\n", p.ID, commitLabel(p))
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tTARGET\tREPLICAS\tMONTHLY\tRUNNER-UP\tWHY")
	for _, pl := range p.Placements {
		runner := "-"
		if r := pl.Explanation.RunnerUp; r != nil {
			runner = fmt.Sprintf("%s (%s)", r.Target, signed(r.ExtraCost))
		}
		why := pl.Explanation.Reason
		if pl.Blocked {
			why = "BLOCKED by a deny finding; " + why
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", pl.Workload, pl.Target, pl.Replicas, pl.MonthlyCost, runner, why)
	}
	tw.Flush()
	fmt.Fprintf(ew, "\nTotal monthly cost: %s (%s)\n", p.TotalMonthlyCost, solverLabel(p.Solver))
	if len(p.Unplaceable) > 0 {
		fmt.Fprintf(ew, "\nUnplaceable workloads (%d):\n", len(p.Unplaceable))
		for _, u := range p.Unplaceable {
			fmt.Fprintf(ew, "  %s: %s\n", u.Workload, u.Reason)
			for _, r := range u.Targets {
				fmt.Fprintf(ew, "    %s: %s\n", r.Target, rejectionText(r))
			}
		}
	}
	terraformTable(ew, p)
	deployTable(ew, p)
	if len(p.Findings) > 0 {
		fmt.Fprintf(ew, "\nFindings (%s):\n", findingCounts(p.Findings))
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tRULE\tLOCATION\tWORKLOAD\tTARGET\tMESSAGE")
		for _, f := range p.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Rule, location(f), dash(f.Workload), dash(f.Target), f.Message)
		}
		tw.Flush()
	} else {
		fmt.Fprintln(ew, "\nNo policy findings.")
	}
	return ew.err
}

func commitLabel(p *meridian.Plan) string {
	c := p.Commit
	if c == "" {
		c = "(not in Git)"
	} else if len(c) > 12 {
		c = c[:12]
	}
	if p.Dirty {
		c += " (dirty)"
	}
	return c
}

func solverLabel(s meridian.SolverStats) string {
	if s.Optimal {
		return "optimal"
	}
	return fmt.Sprintf("within %.2f%% of the lower bound %s", s.GapPercent, s.LowerBound)
}

func rejectionText(r meridian.Rejection) string {
	parts := append([]string(nil), r.Rules...)
	if len(r.Reasons) > 0 {
		return strings.Join(parts, ", ") + ": " + strings.Join(r.Reasons, "; ")
	}
	return strings.Join(parts, ", ")
}

func findingCounts(fs []meridian.Finding) string {
	n := map[meridian.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	return fmt.Sprintf("%d deny, %d warn, %d info", n[meridian.SeverityDeny], n[meridian.SeverityWarn], n[meridian.SeverityInfo])
}

func location(f meridian.Finding) string {
	if f.File == "" {
		return "-"
	}
	if f.Line == 0 {
		return f.File
	}
	return fmt.Sprintf("%s:%d", f.File, f.Line)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}
