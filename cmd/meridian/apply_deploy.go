package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/planner/report"
)

// writeDeployPreview lists the deploy-repo changes in the summary apply
// shows before asking for approval.
func writeDeployPreview(w io.Writer, d *meridian.DeployDiff) {
	if d == nil {
		return
	}
	if d.Error != "" {
		fmt.Fprintf(w, "\nDeploy repo: could not be previewed: %s\n", firstLine(d.Error))
		return
	}
	if len(d.Files) == 0 {
		fmt.Fprintf(w, "\nDeploy repo %s (%s): no changes\n", d.Repo, d.Branch)
		return
	}
	fmt.Fprintf(w, "\nDeploy repo %s (%s): %d file(s) change\n", d.Repo, d.Branch, len(d.Files))
	for _, f := range d.Files {
		fmt.Fprintf(w, "  %s %s\n", meridian.DeploySign(f.Action), f.Path)
	}
	for _, h := range d.Held {
		fmt.Fprintf(w, "  kept for a move: %s on %s until %s is Synced and Healthy\n", h.Workload, h.Target, strings.Join(h.Until, ", "))
	}
}

// writeDeployStep says what the deploy-repo step did.
func writeDeployStep(w io.Writer, s *controlplane.DeployStep) {
	if s == nil {
		return
	}
	switch s.Status {
	case controlplane.DeploySkipped:
		fmt.Fprintf(w, "\nDeploy repo: SKIPPED, %s\n", s.Error)
		return
	case controlplane.DeployFailed:
		fmt.Fprintf(w, "\nDeploy repo: FAILED: %s\n", s.Error)
		return
	}
	r := s.Result
	where := r.Repo + " (" + r.Branch
	if r.Path != "" {
		where += ", " + r.Path
	}
	where += ")"
	if s.Status == controlplane.DeployUnchanged {
		fmt.Fprintf(w, "\nDeploy repo %s: NO CHANGES, it already holds the plan.\n", where)
	} else {
		fmt.Fprintf(w, "\nDeploy repo %s: COMMITTED, %d file(s) changed\n", where, len(r.Files))
		for _, c := range r.Commits {
			subject, _, _ := strings.Cut(c.Message, "\n")
			fmt.Fprintf(w, "  %s %s\n", c.SHA[:min(12, len(c.SHA))], subject)
		}
	}
	for _, m := range r.Moves {
		fmt.Fprintf(w, "  move %s %s: %s -> %s", m.Status, m.Workload, strings.Join(m.From, ","), strings.Join(m.To, ","))
		if m.Detail != "" {
			fmt.Fprintf(w, " (%s)", m.Detail)
		}
		fmt.Fprintln(w)
	}
	report.FindingList(w, "  ", r.Findings)
}
