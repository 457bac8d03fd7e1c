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
			for _, g := range u.Targets {
				fmt.Fprintf(ew, "    %s\n", groupLine(g, plainName))
			}
		}
	}
	terraformTable(ew, p)
	deployTable(ew, p)
	DestroyTable(ew, p)
	if len(p.Findings) > 0 {
		fmt.Fprintf(ew, "\nFindings (%s):\n", findingCounts(p.Findings))
		if err := Findings(ew, "", p.Findings); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(ew, "\nNo policy findings.")
	}
	return ew.err
}

func commitLabel(p *meridian.Plan) string {
	c := shortCommit(p.Commit)
	if p.Dirty {
		c += " (dirty)"
	}
	return c
}

// shortCommit is a commit as the reports show it.
func shortCommit(c string) string {
	if c == "" {
		return "(not in Git)"
	}
	return c[:min(len(c), 12)]
}

func solverLabel(s meridian.SolverStats) string {
	if s.Optimal {
		return "optimal"
	}
	return fmt.Sprintf("within %.2f%% of the lower bound %s", s.GapPercent, s.LowerBound)
}

// groupLine says why a group of targets was rejected and names them:
// "MER-RET-001: requires 400 days of log retention; … (143 targets: a, b,
// c and 140 more)". name formats a target name.
func groupLine(g meridian.RejectionGroup, name func(string) string) string {
	return groupReason(g) + " (" + groupTargets(g, name) + ")"
}

// groupReason is a group's rule and reason.
func groupReason(g meridian.RejectionGroup) string {
	switch {
	case g.OtherReasons > 0:
		return fmt.Sprintf("%s, for %d other reasons", g.Rule, g.OtherReasons)
	case g.Reason == "":
		return g.Rule
	}
	return g.Rule + ": " + g.Reason
}

// groupTargets names a group's nearest targets and counts the rest.
func groupTargets(g meridian.RejectionGroup, name func(string) string) string {
	names := make([]string, len(g.Nearest))
	for i, n := range g.Nearest {
		names[i] = name(n)
	}
	if g.More() == 0 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%d targets: %s and %d more", g.Count, strings.Join(names, ", "), g.More())
}

func plainName(s string) string { return s }

func codeName(s string) string { return "`" + s + "`" }

func findingCounts(fs []meridian.Finding) string {
	n := map[meridian.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	return fmt.Sprintf("%d deny, %d warn, %d info", n[meridian.SeverityDeny], n[meridian.SeverityWarn], n[meridian.SeverityInfo])
}

// location is where a finding points: the resource's ID or ARN for a
// live finding (the config file it names is in its remediation), else
// file:line in the config.
func location(f meridian.Finding) string {
	if f.Resource != "" {
		return f.Resource
	}
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
