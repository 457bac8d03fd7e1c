package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/controlplane"
)

// applyOptions are apply's own flags.
type applyOptions struct {
	autoApprove        bool
	allowDestroy       bool
	format             string
	workspaceRetention time.Duration
}

func (o *applyOptions) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.allowDestroy, "allow-destroy", false, "consent to destroying the targets and workloads that left the config (the plan's destroy section)")
	cmd.Flags().DurationVar(&o.workspaceRetention, "workspace-retention", controlplane.DefaultWorkspaceRetention,
		"remove orphaned Terraform workspaces (no target, no state) after this long; 0 keeps them")
}

// writeWorkspaceGC says which orphaned workspaces the apply removed, and
// which it keeps because their state still holds resources.
func writeWorkspaceGC(w io.Writer, gc *controlplane.WorkspaceGC) {
	if gc == nil {
		return
	}
	if len(gc.Removed) > 0 {
		fmt.Fprintf(w, "\nRemoved orphaned Terraform workspaces (past --workspace-retention): %s\n", strings.Join(gc.Removed, ", "))
	}
	if len(gc.Kept) > 0 {
		fmt.Fprintf(w, "\nOrphaned Terraform workspaces whose state still holds resources (kept): %s\n", strings.Join(gc.Kept, ", "))
	}
	if gc.Error != "" {
		fmt.Fprintf(w, "\nOrphaned workspaces: %s\n", gc.Error)
	}
}
