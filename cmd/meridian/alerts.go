package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/store"
)

func newAlertsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Test sinks, list alerts and replay dead letters (see docs/alerts.md)",
		Long: `alerts works on the alerting of meridian serve: the sinks of alerting.yaml
(test), the alerts the server raised (list), and the deliveries that gave
up (dead-letters, replay). list, dead-letters and replay read the store the
server uses (--state-dir, --db); a running server sends a replayed
delivery at its next step.`,
	}
	cmd.AddCommand(newAlertsTestCmd(a), newAlertsListCmd(a), newAlertsDeadLettersCmd(a), newAlertsReplayCmd(a))
	return cmd
}

func newAlertsTestCmd(a *app) *cobra.Command {
	var rf repoFlags
	var sink string
	cmd := &cobra.Command{
		Use:   "test --sink NAME --repo PATH|URL [--ref BRANCH]",
		Short: "Send a test message to a sink of alerting.yaml",
		Long: `test reads alerting.yaml at the root of the config repo (give the tracked
branch with --ref; the server reads it from there only), builds the sink
with its secrets from this environment and files, as the server would, and
sends it one firing info alert at once. It exits 1 when the file does not
parse, a secret is missing or the sink refuses the message.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			snap, err := gitops.Load(ctx, rf.repo, rf.ref, gitops.Options{CacheDir: rf.cacheDir, Logger: a.logger})
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			data, err := fs.ReadFile(snap.FS, alerting.FileName)
			if errors.Is(err, fs.ErrNotExist) {
				return &exitErr{code: exitError, err: fmt.Errorf("%s has no %s at %s", gitops.RedactURL(rf.repo), alerting.FileName, snap.Commit)}
			} else if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			_, senders, err := controlplane.LoadAlerting(data, alerting.OSSecrets{}, alerting.SenderOptions{Logger: a.logger})
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			m, err := controlplane.SendTest(ctx, senders, sink, time.Now())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			_, err = fmt.Fprintf(a.stdout, "Sent a test message to sink %s (key %s).\n", sink, m.Key)
			return err
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&sink, "sink", "", "the sink's name in alerting.yaml")
	_ = cmd.MarkFlagRequired("sink")
	return cmd
}

func newAlertsListCmd(a *app) *cobra.Command {
	var sf stateFlags
	var state, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--state firing|resolved|silenced] [--format table|json] [--state-dir DIR | --db FILE]",
		Short: "List alerts, the most recently changed first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tableOrJSON(format); err != nil {
				return err
			}
			if state != "" && !meridian.AlertState(state).Valid() {
				return &exitErr{code: exitError, err: fmt.Errorf("--state must be firing, resolved or silenced, got %q", state)}
			}
			db, err := sf.open(cmd.Context())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			recs, err := db.ListAlerts(cmd.Context(), store.AlertFilter{State: meridian.AlertState(state), Limit: limit})
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			as := make([]meridian.Alert, len(recs))
			for i, r := range recs {
				as[i] = r.Alert
			}
			return printList(a.stdout, format, as, "STATE\tNAME\tSEVERITY\tWORKLOAD\tTARGET\tTEAM\tSINCE\tENDED\tSUMMARY",
				func(al meridian.Alert) string {
					return strings.Join([]string{string(al.State), al.Name, string(al.Severity), dashIfEmpty(al.Workload), al.Target, al.Team,
						stamp(al.StartsAt), stamp(al.EndsAt), al.Summary}, "\t")
				})
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&state, "state", "", "only alerts in this state: firing, resolved or silenced")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().IntVar(&limit, "limit", 500, "list at most this many")
	return cmd
}

func newAlertsDeadLettersCmd(a *app) *cobra.Command {
	var sf stateFlags
	var format string
	var limit int
	cmd := &cobra.Command{
		Use:   "dead-letters [--format table|json] [--state-dir DIR | --db FILE]",
		Short: "List the deliveries that gave up, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tableOrJSON(format); err != nil {
				return err
			}
			db, err := sf.open(cmd.Context())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			ds, err := db.ListDeliveries(cmd.Context(), store.DeliveryFilter{Status: store.DeliveryDead, Limit: limit})
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			return printList(a.stdout, format, ds, "ID\tSINK\tGROUP\tATTEMPTS\tCREATED\tLAST ERROR", func(d store.AlertDelivery) string {
				return fmt.Sprintf("%d\t%s\t%s\t%d\t%s\t%s", d.ID, d.Sink, d.Group, d.Attempts, stamp(d.CreatedAt), dashIfEmpty(d.LastError))
			})
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().IntVar(&limit, "limit", 500, "list at most this many")
	return cmd
}

func newAlertsReplayCmd(a *app) *cobra.Command {
	var sf stateFlags
	cmd := &cobra.Command{
		Use:   "replay ID [--state-dir DIR | --db FILE]",
		Short: "Requeue a dead letter with its message and idempotency key (audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return &exitErr{code: exitError, err: fmt.Errorf("ID must be a dead letter's number (see meridian alerts dead-letters), got %q", args[0])}
			}
			ctx := cmd.Context()
			db, err := sf.open(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			if err := db.ReplayDeadLetter(ctx, id, time.Now()); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if err := db.AppendAudit(ctx, store.AuditEvent{Actor: "cli:" + owner().Actor, Action: "alert.replay", Detail: "dead letter " + args[0]}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Requeued dead letter %d; the server sends it at its next step.\n", id)
			return err
		},
	}
	sf.register(cmd)
	return cmd
}
