package controlplane

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/terraform"
)

// Replicas of `meridian serve` that share a PostgreSQL store but not a
// state dir must share everything else that an apply writes: the
// Terraform state (Terraform's pg backend, which Meridian configures for
// modules that declare no backend, or a remote backend the module
// declares) and the deploy repository (a Git URL). The checks below
// refuse a config whose state would otherwise diverge silently, one copy
// per replica.

// sharedRemedy is what every refusal suggests besides its own fix.
const sharedRemedy = "or run every replica with --shared-state-dir, the state dir on a volume they all mount"

// CheckSharedDeploy refuses a deploy repository on a local path
// (deploy.repo empty, which means a bare repository in each replica's
// state dir, or a path): each replica would commit to its own.
func CheckSharedDeploy(cfg *meridian.Config) error {
	repo := cfg.Settings.Deploy.Repo
	if deploy.IsRemote(repo) {
		return nil
	}
	what := "empty, so each replica commits to a bare repository in its own state dir"
	if repo != "" {
		what = fmt.Sprintf("%q is a path on this machine, which the other replicas do not share", repo)
	}
	return meridian.ConfigError{File: settingsFile(cfg), Line: cfg.Settings.Origin.LineOf("deploy.repo"), Field: "deploy.repo",
		Message: fmt.Sprintf("%s: with replicas sharing a PostgreSQL store, set it to a Git URL every replica reaches (https://, ssh://, file:// on a shared volume), %s",
			what, sharedRemedy)}
}

// CheckSharedModules refuses Terraform modules that declare the local
// backend: their state would stay in the state dir of the replica that
// applied them.
func CheckSharedModules(cfg *meridian.Config, fsys fs.FS) error {
	var errs meridian.ConfigErrors
	for _, t := range cfg.Targets {
		if t.Terraform == nil {
			continue
		}
		files, err := terraform.ReadModule(fsys, path.Clean(t.Terraform.Module))
		if err != nil {
			continue // the plan reports a module it cannot read
		}
		if b, err := files.DeclaredBackend(); err == nil && b == "local" {
			errs = append(errs, meridian.ConfigError{File: t.Origin.File, Line: t.Origin.LineOf("terraform.module"), Field: "terraform.module",
				Message: fmt.Sprintf("module %s declares backend \"local\", whose state stays in one replica's state dir: remove the backend block (Meridian then keeps the state in the store's PostgreSQL, with Terraform's pg backend) or declare a remote one, %s",
					t.Terraform.Module, sharedRemedy)})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// CheckShared runs both checks on a snapshot of the config repo.
func CheckShared(snap *Snapshot) error {
	return errors.Join(CheckSharedDeploy(snap.Config), CheckSharedModules(snap.Config, snap.FS))
}

func settingsFile(cfg *meridian.Config) string {
	if f := cfg.Settings.Origin.File; f != "" {
		return f
	}
	return "meridian.yaml"
}
