package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/inventory"
	"github.com/meridianhq/meridian/planner/report"
	"github.com/meridianhq/meridian/policies"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

func newAuditCmd(a *app) *cobra.Command {
	var (
		rf       repoFlags
		sf       stateFlags
		format   string
		endpoint string
		dir      string
		targets  []string
	)
	cmd := &cobra.Command{
		Use:   "audit --repo PATH|URL [--target NAME]... [--endpoint URL] [--inventory DIR] [--format table|json]",
		Short: "Judge what really runs in the targets' accounts with the config's policies",
		Long: `audit reads what runs in the account, subscription or project of every
target with an account block (docs/config.md), through the providers' SDKs,
read-only, with the standard credential chains, and judges it with the
same built-in and org Rego that judges the config (docs/audit.md):

  - resources without the required tags (MER-TAG-001, MER-TAG-002, ...);
  - buckets, log stores and keys that no longer meet their workload's
    requirements (MER-ENC-001 for a bucket that lost its customer-managed
    key, MER-RET-001 for retention cut in the console, ...);
  - drift: a resource of a workload or target the config does not declare,
    a placement with nothing running, a resource changed out of band.

Owners come from the resources' tags (meridian-workload, meridian-target;
the Terraform modules' log group and key alias names). A workload with a
blocking live finding is listed as frozen: a plan given the findings
holds it at its applied replicas. Drift is kept in the store as records of
engine live, as meridian drift keeps its own.

--endpoint points every AWS service and Azure Resource Manager at one
endpoint (tests, private mirrors); AWS_ENDPOINT_URL works as well.
--inventory DIR audits recorded inventories offline: DIR/TARGET.json,
each a JSON array of resources as --format json prints them.

Exit status: 0 nothing blocks; 2 a deny finding; 1 error, or a target
that could not be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tableOrJSON(format); err != nil {
				return err
			}
			ctx := cmd.Context()
			l, err := rf.load(ctx, a)
			if err != nil {
				return applyExit(err)
			}
			eng, err := policies.New(ctx, l.cfg.Settings, l.cfg.Policies)
			if err != nil {
				return applyExit(err)
			}
			open := func(ctx context.Context, t *meridian.Target) (inventory.Reader, error) {
				if dir != "" {
					return inventory.FileReader{FS: os.DirFS(dir), Path: t.Name + ".json"}, nil
				}
				return openInventory(ctx, t, endpoint)
			}
			readers, closeAll, err := auditReaders(ctx, l.cfg, targets, open)
			defer closeAll()
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			db, err := sf.openExisting(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			in := inventory.Input{Config: l.cfg, Engine: eng, Readers: readers, Logger: a.logger}
			repoID := store.RepoID(l.snap.Source)
			if db != nil {
				defer db.Close()
				if in.Placed, err = workflow.Current(ctx, db, repoID); err != nil {
					return &exitErr{code: exitError, err: err}
				}
			}
			rep, err := inventory.Audit(ctx, in)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if db != nil {
				if _, err := controlplane.RecordAudit(ctx, db, repoID, rep); err != nil {
					return &exitErr{code: exitError, err: err}
				}
			}
			if format == "json" {
				if err := writeJSON(a.stdout, rep); err != nil {
					return err
				}
			} else {
				writeAudit(a.stdout, rep)
			}
			switch {
			case len(rep.Failed()) > 0:
				return &exitErr{code: exitError}
			case rep.Blocking():
				return &exitErr{code: exitBlocked}
			}
			return nil
		},
	}
	rf.register(cmd)
	sf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "endpoint for every AWS service and Azure Resource Manager (tests, mirrors)")
	cmd.Flags().StringVar(&dir, "inventory", "", "audit recorded inventories DIR/TARGET.json instead of reading the clouds")
	cmd.Flags().StringSliceVar(&targets, "target", nil, "audit only these targets (default: every target with an account block)")
	return cmd
}

// auditReaders opens a Reader for every audited target: those named, or
// every target with an account block. It returns a func that closes the
// readers that need it.
func auditReaders(ctx context.Context, cfg *meridian.Config, names []string, open inventory.Opener) (map[string]inventory.Reader, func(), error) {
	readers := map[string]inventory.Reader{}
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(cfg.Targets, func(t meridian.Target) bool { return t.Name == n }) {
			return nil, closeAll, fmt.Errorf("--target %s: no such target", n)
		}
	}
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		if len(names) > 0 && !slices.Contains(names, t.Name) {
			continue
		}
		if t.Account == nil {
			if len(names) > 0 {
				return nil, closeAll, fmt.Errorf("--target %s: the target has no account block (docs/config.md)", t.Name)
			}
			continue
		}
		r, err := open(ctx, t)
		if err != nil {
			return nil, closeAll, fmt.Errorf("target %s: %w", t.Name, err)
		}
		if r == nil {
			return nil, closeAll, fmt.Errorf("target %s: no inventory reader for provider %s yet", t.Name, t.Provider)
		}
		if c, ok := r.(io.Closer); ok {
			closers = append(closers, c)
		}
		readers[t.Name] = r
	}
	if len(readers) == 0 {
		return nil, closeAll, errors.New("no target to audit: give targets an account block (docs/config.md)")
	}
	return readers, closeAll, nil
}

func writeAudit(w io.Writer, rep *inventory.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tRESOURCES\tRESULT")
	for _, t := range rep.Targets {
		res := "read"
		if t.Error != "" {
			res = "ERROR: " + firstLine(t.Error)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", t.Target, t.Resources, res)
	}
	tw.Flush()
	if len(rep.Findings) > 0 {
		fmt.Fprintf(w, "\nLive findings (%d):\n", len(rep.Findings))
		report.Findings(w, "  ", rep.Findings)
	}
	if len(rep.Drift) > 0 {
		fmt.Fprintf(w, "\nLive drift (%d):\n", len(rep.Drift))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, d := range rep.Drift {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\texpected %s; %s\n", d.Action, d.Target, dashIfEmpty(d.Workload), d.Resource, d.Expected, d.Actual)
		}
		tw.Flush()
	}
	if len(rep.Frozen) > 0 {
		fmt.Fprintf(w, "\nFrozen until their live findings are fixed: %v\n", rep.Frozen)
	}
	if len(rep.Findings) == 0 && len(rep.Drift) == 0 {
		fmt.Fprintln(w, "\nEverything read complies with the policies and the config.")
	}
}
