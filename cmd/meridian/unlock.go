package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

func newUnlockCmd(a *app) *cobra.Command {
	var (
		sf     stateFlags
		tff    terraformFlags
		repo   string
		ref    string
		reason string
		tfLock string
	)
	cmd := &cobra.Command{
		Use:   "unlock TARGET [--repo PATH|URL] --reason TEXT [--terraform-lock LOCK_ID]",
		Short: "Release a target's lock held by a dead or stuck run (audited)",
		Long: `unlock frees a target's lock in the store whoever holds it, for operators
whose run died on a host that will not come back before its lease expires.
The holder's run is recorded as interrupted, its fencing token is revoked
(so a holder that is still alive cannot write any more), and the unlock is
appended to the audit log with the operator and --reason.

Without --repo, TARGET must be locked in exactly one config repo.

With --terraform-lock LOCK_ID it also frees Terraform's own state lock in a
remote backend (S3 and DynamoDB, azurerm, GCS, http, ...), which outlives a
Terraform process that was killed: it runs "terraform force-unlock" in the
target's workspace, initialised with its backend, while holding Meridian's
lock on the target. LOCK_ID is the lock ID Terraform reported; Meridian
shows it in the plan's or apply's error ("lock ID ..."). The local backend
needs none of this: its lock dies with its process.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			target := args[0]
			if strings.TrimSpace(reason) == "" {
				return &exitErr{code: exitError, err: errors.New("--reason is required: the audit log records why the lock was broken")}
			}
			// The lock ID is Terraform's positional argument: one that
			// reads as a flag would change what force-unlock does.
			if strings.HasPrefix(tfLock, "-") {
				return &exitErr{code: exitError, err: fmt.Errorf("--terraform-lock: %q is not a lock ID (it starts with '-')", tfLock)}
			}
			var (
				db  storeDB
				wf  *workflow.Workflow
				err error
			)
			if tfLock != "" {
				wf, db, err = a.openWorkflow(ctx, &sf, &tff)
			} else {
				db, err = sf.open(ctx)
			}
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
			lockRepo, err := a.unlockStore(ctx, db, target, repoID, reason)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if tfLock == "" {
				return nil
			}
			if repoID == "" {
				repoID = lockRepo
			}
			if err := a.unlockTerraform(ctx, wf, db, target, repoID, tfLock, reason); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "", "config repo the target belongs to (needed when several repos lock a target of that name)")
	cmd.Flags().StringVar(&ref, "ref", "", "ref of a Git URL --repo (only used to name the repo)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the lock is broken (required; recorded in the audit log)")
	cmd.Flags().StringVar(&tfLock, "terraform-lock", "", "also force-unlock Terraform's state lock with this lock ID in the target's workspace")
	cmd.Flags().StringVar(&tff.bin, "terraform-bin", "", "terraform or tofu binary for --terraform-lock (default as for apply)")
	sf.register(cmd)
	return cmd
}

// unlockStore frees the target's lock in the store (in repoID, or in the
// one repo that locks it) and says what it freed. It returns the repo the
// lock was in, if any.
func (a *app) unlockStore(ctx context.Context, db storeDB, target, repoID, reason string) (string, error) {
	locks, err := db.ListLocks(ctx, repoID)
	if err != nil {
		return "", err
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
		return "", nil
	case 1:
	default:
		var repos []string
		for _, l := range match {
			r, _ := db.GetRepo(ctx, l.Key.RepoID)
			repos = append(repos, r.Source)
		}
		return "", fmt.Errorf("target %s is locked in %d config repos (%s): pass --repo", target, len(match), strings.Join(repos, ", "))
	}
	o := owner()
	actor := fmt.Sprintf("%s@%s", o.Actor, o.Host)
	prev, held, err := db.ForceUnlock(ctx, match[0].Key, actor, reason)
	if err != nil {
		return "", err
	}
	if !held {
		fmt.Fprintf(a.stdout, "Target %s is not locked.\n", target)
		return match[0].Key.RepoID, nil
	}
	state := "live"
	if time.Now().After(prev.ExpiresAt) {
		state = "expired"
	}
	fmt.Fprintf(a.stdout, "Unlocked %s. It was held by %s (pid %d, %s) for plan %s, run %s, since %s; lease %s.\n"+
		"The run is recorded as interrupted; the unlock is in the audit log.\n",
		target, prev.Owner.Host, prev.Owner.PID, prev.Owner.Actor, dashIfEmpty(prev.PlanID), dashIfEmpty(prev.RunID),
		prev.AcquiredAt.Local().Format(time.RFC3339), state)
	return match[0].Key.RepoID, nil
}

// unlockTerraform force-unlocks Terraform's state lock lockID in the
// target's workspace of repoID (or of the one repo that has a workspace
// for the target), under Meridian's lock on the target.
func (a *app) unlockTerraform(ctx context.Context, wf *workflow.Workflow, db storeDB, target, repoID, lockID, reason string) (err error) {
	if repoID == "" {
		ids, err := wf.WorkspaceRepos(target)
		if err != nil {
			return err
		}
		switch len(ids) {
		case 0:
			return fmt.Errorf("target %s has no Terraform workspace in this state dir: plan it first (or pass --state-dir)", target)
		case 1:
			repoID = ids[0]
		default:
			return fmt.Errorf("target %s has a Terraform workspace in %d config repos: pass --repo", target, len(ids))
		}
	}
	r, err := db.GetRepo(ctx, repoID)
	if err != nil {
		return fmt.Errorf("config repo of target %s: %w", target, err)
	}
	sess, err := wf.Begin(ctx, store.RunUnlock, workflow.Source{Source: r.Source}, workflow.ModeApply)
	if err != nil {
		return err
	}
	defer func() { sess.Close(err, nil) }()
	if err := sess.ForceUnlockTerraform(ctx, target, lockID, reason); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Released Terraform's state lock %s on %s (terraform force-unlock in its workspace); the unlock is in the audit log.\n", lockID, target)
	return nil
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
