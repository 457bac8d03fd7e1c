package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
)

// inClusterServer is the API server URL Argo CD uses for its own cluster.
const inClusterServer = "https://kubernetes.default.svc"

// settings are the deploy and argocd sections with every default applied.
type settings struct {
	Repo          string
	RepoURL       string
	Branch        string
	Path          string
	MoveGrace     time.Duration
	Server        string
	TokenEnv      string
	Project       string
	Namespace     string
	SyncOptions   []string
	HealthTimeout time.Duration
}

func resolve(s meridian.Settings) settings {
	d, a := s.Deploy, s.ArgoCD
	r := settings{
		Repo: d.Repo, RepoURL: d.RepoURL, Branch: d.Branch, Path: strings.Trim(d.Path, "/"), MoveGrace: d.MoveGrace,
		Server: a.Server, TokenEnv: a.TokenEnv, Project: a.Project, Namespace: a.Namespace,
		SyncOptions: a.SyncOptions, HealthTimeout: a.HealthTimeout,
	}
	if r.Branch == "" {
		r.Branch = meridian.DefaultDeployBranch
	}
	if r.MoveGrace <= 0 {
		r.MoveGrace = meridian.DefaultMoveGrace
	}
	if r.TokenEnv == "" {
		r.TokenEnv = meridian.DefaultArgoCDTokenEnv
	}
	if r.Project == "" {
		r.Project = meridian.DefaultArgoCDProject
	}
	if r.Namespace == "" {
		r.Namespace = meridian.DefaultArgoCDNamespace
	}
	if r.SyncOptions == nil {
		r.SyncOptions = []string{"CreateNamespace=true"}
	}
	if r.HealthTimeout <= 0 {
		r.HealthTimeout = meridian.DefaultArgoCDHealthTimeout
	}
	return r
}

// EnvStateDir overrides the default state dir, for every command.
const EnvStateDir = "MERIDIAN_STATE_DIR"

// DefaultStateDir is where Meridian keeps local state when no folder is
// given: $MERIDIAN_STATE_DIR, else $XDG_STATE_HOME/meridian, else
// ~/.local/state/meridian (the same rule as the store's).
func DefaultStateDir() (string, error) {
	if d := os.Getenv(EnvStateDir); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "meridian"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", meridian.Errorf(meridian.EINVALID, "no home directory for the state dir: %v", err)
	}
	return filepath.Join(home, ".local", "state", "meridian"), nil
}

// LocalRepoDir is the bare deploy repository used when deploy.repo is
// omitted.
func LocalRepoDir(stateDir string) string { return filepath.Join(stateDir, "deploy.git") }

// isRemote reports whether a deploy.repo value is a Git URL (file://
// included), which Meridian clones and pushes to, rather than a local path
// to a bare repository, which it writes in place.
func isRemote(repo string) bool {
	if strings.Contains(repo, "://") {
		return true
	}
	// scp-like git@host:path; a Windows drive letter is not a host.
	colon := strings.IndexByte(repo, ':')
	slash := strings.IndexAny(repo, `/\`)
	return colon > 1 && (slash < 0 || colon < slash)
}

// IsRemote reports whether a deploy.repo value is a Git URL (file://
// included), which Meridian clones and pushes to, and which every replica
// of a server reaches alike; otherwise it is a path on this machine.
func IsRemote(repo string) bool { return isRemote(repo) }

// localPath returns the filesystem path of a local deploy repository.
func localPath(repo, stateDir string) (string, error) {
	if repo == "" {
		if stateDir == "" {
			var err error
			if stateDir, err = DefaultStateDir(); err != nil {
				return "", err
			}
		}
		return LocalRepoDir(stateDir), nil
	}
	return filepath.Abs(repo)
}

// repoURLFor is the URL Argo CD reads the deploy repository from.
func repoURLFor(s settings, stateDir string) (string, error) {
	switch {
	case s.RepoURL != "":
		return s.RepoURL, nil
	case isRemote(s.Repo):
		return gitops.RedactURL(s.Repo), nil
	}
	p, err := localPath(s.Repo, stateDir)
	if err != nil {
		return "", err
	}
	return "file://" + filepath.ToSlash(p), nil
}
