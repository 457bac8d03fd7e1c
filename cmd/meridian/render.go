package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/planner/report"
)

func newRenderCmd(a *app) *cobra.Command {
	var (
		rf       repoFlags
		out      string
		stateDir string
		planOnly bool
	)
	cmd := &cobra.Command{
		Use:   "render --repo PATH|URL [--out DIR]",
		Short: "Write the Argo CD and Crossplane manifests an apply would commit, without committing",
		Long: `render plans the config repo and writes the deploy tree that the next
apply would commit to the deploy repo, like helm template: one Argo CD
Application per workload and target, the root app-of-apps, and the
Crossplane resources of targets with engine: crossplane.

With --out DIR the tree is written into DIR (created if needed; a folder
holding files Meridian did not render is refused). Without it, every
manifest goes to stdout as one YAML stream with "# Source:" comments.

render reads the deploy repo and the moves in progress in the store,
read-only, so that the tree keeps what an apply keeps: the old placement
of a workload being moved and the files of a workload held by a blocking
finding. --plan-only renders the plan alone.

Exit status: 0 written; 1 on errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if stateDir == "" {
				var err error
				if stateDir, err = deploy.DefaultStateDir(); err != nil {
					return &exitErr{code: exitError, err: err}
				}
			}
			cfg, plan, err := a.loadAndPlan(ctx, &rf, stateDir)
			if err != nil {
				return configExit(err)
			}
			var r *deploy.Rendered
			if planOnly {
				r, err = deploy.Render(cfg, plan, deploy.RenderOptions{StateDir: stateDir})
			} else {
				// Moves in progress are in the store, when there is one.
				sf := &stateFlags{stateDir: stateDir}
				db, derr := sf.openExisting(ctx)
				if derr != nil {
					return &exitErr{code: exitError, err: derr}
				}
				opts := deploy.Options{StateDir: stateDir, Logger: a.logger}
				if db != nil {
					defer db.Close()
					opts.Store = controlplane.NewMoveStore(db)
				}
				r, err = deploy.Next(ctx, cfg, plan, opts)
			}
			if err != nil {
				return &exitErr{code: exitError, err: fmt.Errorf("render plan %s: %w", plan.ID, err)}
			}
			if err := report.FindingList(a.stderr, "", r.Findings); err != nil {
				return err
			}
			if out == "" {
				return writeStream(a.stdout, r.Tree)
			}
			if err := r.Tree.WriteDir(out); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			fmt.Fprintf(a.stderr, "wrote %d files of plan %s to %s\n", len(r.Tree), plan.ID, out)
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "folder to write the deploy tree into (default: stdout as one YAML stream)")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "state dir holding the local deploy repository when deploy.repo is omitted (default $"+deploy.EnvStateDir+", else ~/.local/state/meridian)")
	cmd.Flags().BoolVar(&planOnly, "plan-only", false, "render the plan alone, without reading the deploy repo")
	return cmd
}

// loadAndPlan is what `meridian plan` does without Terraform, keeping the
// parsed config that rendering needs too. It starts from the ledger in the
// store under stateDir, when there is one, so that hysteresis keeps the
// placements an apply would keep.
func (a *app) loadAndPlan(ctx context.Context, rf *repoFlags, stateDir string) (*meridian.Config, *meridian.Plan, error) {
	l, err := rf.load(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	tp, err := a.planTerraform(ctx, &stateFlags{stateDir: stateDir}, &terraformFlags{mode: "false"}, l, rf.ref)
	if err != nil {
		return nil, nil, err
	}
	defer tp.close()
	p, err := planner.New(planner.WithLogger(a.logger))
	if err != nil {
		return nil, nil, err
	}
	plan, err := p.Plan(ctx, l.input(tp.current))
	if err != nil {
		return nil, nil, err
	}
	return l.cfg, plan, nil
}

// writeStream writes a tree as one YAML stream, as helm template does.
func writeStream(w io.Writer, t deploy.Tree) error {
	for _, p := range t.Paths() {
		if _, err := fmt.Fprintf(w, "---\n# Source: %s\n%s", p, t[p]); err != nil {
			return err
		}
	}
	return nil
}
