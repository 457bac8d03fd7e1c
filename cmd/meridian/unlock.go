package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/store"
)

func newUnlockCmd(a *app) *cobra.Command {
	var (
		sf     stateFlags
		repo   string
		ref    string
		reason string
	)
	cmd := &cobra.Command{
		Use:   "unlock TARGET [--repo PATH|URL] [--reason TEXT]",
		Short: "Release a target's lock held by a dead or stuck run (audited)",
		Long: `unlock frees a target's lock in the store whoever holds it, for operators
whose run died on a host that will not come back before its lease expires.
The holder's run is recorded as interrupted, its fencing token is revoked
(so a holder that is still alive cannot write any more), and the unlock is
appended to the audit log with the operator and --reason.

Without --repo, TARGET must be locked in exactly one config repo.

It does not remove Terraform's own state lock: with a remote backend, run
"terraform force-unlock" in the target's workspace if Terraform reports one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			target := args[0]
			if strings.TrimSpace(reason) == "" {
				return &exitErr{code: exitError, err: errors.New("--reason is required: the audit log records why the lock was broken")}
			}
			db, err := sf.open(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			repoID := ""
			if repo != "" {
				// The source only names the repo; a broken config must not
				// stop an operator from unlocking.
				snap, err := gitops.Load(ctx, repo, ref, gitops.Options{Logger: a.logger})
				if err != nil {
					return &exitErr{code: exitError, err: err}
				}
				repoID = store.RepoID(snap.Source)
			}
			locks, err := db.ListLocks(ctx, repoID)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			var match []store.Lock
			for _, l := range locks {
				if l.Key.Target == target {
					match = append(match, l)
				}
			}
			switch len(match) {
			case 0:
				fmt.Fprintf(a.stdout, "Target %s is not locked.\n", target)
				return nil
			case 1:
			default:
				var repos []string
				for _, l := range match {
					r, _ := db.GetRepo(ctx, l.Key.RepoID)
					repos = append(repos, r.Source)
				}
				return &exitErr{code: exitError, err: fmt.Errorf("target %s is locked in %d config repos (%s): pass --repo", target, len(match), strings.Join(repos, ", "))}
			}
			o := owner()
			actor := fmt.Sprintf("%s@%s", o.Actor, o.Host)
			prev, held, err := db.ForceUnlock(ctx, match[0].Key, actor, reason)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if !held {
				fmt.Fprintf(a.stdout, "Target %s is not locked.\n", target)
				return nil
			}
			state := "live"
			if time.Now().After(prev.ExpiresAt) {
				state = "expired"
			}
			fmt.Fprintf(a.stdout, "Unlocked %s. It was held by %s (pid %d, %s) for plan %s, run %s, since %s; lease %s.\n"+
				"The run is recorded as interrupted; the unlock is in the audit log.\n",
				target, prev.Owner.Host, prev.Owner.PID, prev.Owner.Actor, dashIfEmpty(prev.PlanID), dashIfEmpty(prev.RunID),
				prev.AcquiredAt.Local().Format(time.RFC3339), state)
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "", "config repo the target belongs to (needed when several repos lock a target of that name)")
	cmd.Flags().StringVar(&ref, "ref", "", "ref of a Git URL --repo (only used to name the repo)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the lock is broken (required; recorded in the audit log)")
	sf.register(cmd)
	return cmd
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
