package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
)

func newSilenceCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Create, list and expire time-boxed alert silences (see docs/alerts.md)",
		Long: `silence keeps matching alerts quiet for a while: they are recorded as
silenced and no sink is told, until the silence ends or is expired. Every
matcher must match; name is the rule ID or kind (MER-TAG-001, drift,
frozen, capacity_ahead, lock_held). Silences live in the store the server
uses (--state-dir, --db); creating and expiring them is audited.`,
	}
	cmd.AddCommand(newSilenceCreateCmd(a), newSilenceListCmd(a), newSilenceExpireCmd(a))
	return cmd
}

func newSilenceCreateCmd(a *app) *cobra.Command {
	var sf stateFlags
	var matches []string
	var duration time.Duration
	var comment, format string
	cmd := &cobra.Command{
		Use:   "create --match LABEL=VALUE... --duration 2h --comment TEXT [--state-dir DIR | --db FILE]",
		Short: "Silence matching alerts for a while",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tableOrJSON(format); err != nil {
				return err
			}
			ms, err := controlplane.ParseMatchers(matches)
			if err != nil {
				return &exitErr{code: exitError, err: fmt.Errorf("--%w", err)}
			}
			actor := "cli:" + owner().Actor
			s, err := controlplane.NewSilence(controlplane.SilenceRequest{Matchers: ms, Duration: duration, Comment: comment,
				CreatedBy: actor, Now: time.Now()})
			if err != nil {
				return &exitErr{code: exitError, err: fmt.Errorf("--%w", err)}
			}
			ctx := cmd.Context()
			db, err := sf.open(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			if s, err = db.CreateSilence(ctx, s); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if err := db.AppendAudit(ctx, store.AuditEvent{Actor: actor, Action: "silence.create",
				Detail: s.ID + " " + controlplane.SilenceText(s) + " until " + s.EndsAt.UTC().Format(time.RFC3339) + ": " + s.Comment}); err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(a.stdout, s)
			}
			_, err = fmt.Fprintf(a.stdout, "Created silence %s (%s) until %s.\n", s.ID, controlplane.SilenceText(s), stamp(s.EndsAt))
			return err
		},
	}
	sf.register(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&matches, "match", nil, "LABEL=VALUE, repeatable; labels: name, workload, target, team, severity")
	f.DurationVar(&duration, "duration", 0, "how long the silence lasts, e.g. 2h (at most 90 days)")
	f.StringVar(&comment, "comment", "", "why the alerts are silenced")
	f.StringVar(&format, "format", "table", "output format: table or json")
	_ = cmd.MarkFlagRequired("match")
	_ = cmd.MarkFlagRequired("duration")
	_ = cmd.MarkFlagRequired("comment")
	return cmd
}

func newSilenceListCmd(a *app) *cobra.Command {
	var sf stateFlags
	var format string
	var active bool
	cmd := &cobra.Command{
		Use:   "list [--active] [--format table|json] [--state-dir DIR | --db FILE]",
		Short: "List silences, newest first",
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
			f := store.SilenceFilter{}
			if active {
				f.ActiveAt = time.Now()
			}
			ss, err := db.ListSilences(cmd.Context(), f)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			now := time.Now()
			return printList(a.stdout, format, ss, "ID\tMATCH\tSTATE\tSTARTS\tENDS\tCREATED BY\tCOMMENT", func(s meridian.Silence) string {
				return strings.Join([]string{s.ID, controlplane.SilenceText(s), silenceState(s, now), stamp(s.StartsAt), stamp(s.EndsAt), s.CreatedBy, s.Comment}, "\t")
			})
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&active, "active", false, "only the silences in force now")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// silenceState says whether s is in force at now, and if not why.
func silenceState(s meridian.Silence, now time.Time) string {
	switch {
	case !s.ExpiredAt.IsZero() && !now.Before(s.ExpiredAt):
		return "expired"
	case !now.Before(s.EndsAt):
		return "ended"
	case now.Before(s.StartsAt):
		return "pending"
	}
	return "active"
}

func newSilenceExpireCmd(a *app) *cobra.Command {
	var sf stateFlags
	cmd := &cobra.Command{
		Use:   "expire ID [--state-dir DIR | --db FILE]",
		Short: "End a silence now (audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := sf.open(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			s, err := db.ExpireSilence(ctx, args[0])
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if err := db.AppendAudit(ctx, store.AuditEvent{Actor: "cli:" + owner().Actor, Action: "silence.expire",
				Detail: s.ID + " " + controlplane.SilenceText(s)}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Expired silence %s (%s).\n", s.ID, controlplane.SilenceText(s))
			return err
		},
	}
	sf.register(cmd)
	return cmd
}
