// Package gitops loads a config repo from where the user keeps it and pins
// down which commit it came from.
//
// A source is either a directory on disk or a Git URL:
//
//   - A directory is read as the config root as it is on disk, Git or not.
//     When it lies inside a Git worktree (at its root or in a subfolder), the
//     snapshot records the worktree's HEAD commit and whether the directory
//     has uncommitted changes. With a ref, the directory's content is read at
//     that commit from the enclosing repository instead of from disk.
//   - A Git URL (https://, ssh://, git@host:path, file://, or a plain path to
//     a bare repository) is mirrored into a bare repository under the cache
//     directory, fetched incrementally on every load, and read at the
//     resolved commit straight from the object store: there is no checkout.
//
// Refs are checked before use (ValidateRef: git check-ref-format's rules, no
// leading '-', at most 1024 bytes) and must be unambiguous: a short name that
// is both a branch and a tag is refused rather than resolved to the tag, as
// Git would. A caller that tracks a branch asks for BranchRef(branch),
// refs/heads/<branch>, which no tag can stand in for.
//
// A directory is read through an os.Root: symbolic links are followed only
// while they stay inside it, and only regular files and directories are
// opened. A Git tree follows links within the tree only. Links that lead out
// fail with an EINVALID error that never says where they point.
//
// Credentials never reach the cache path, the mirror's config, log records or
// error messages: URLs are stripped of their userinfo before they are used as
// names (RedactURL; RedactText for whole messages), and secrets are scrubbed
// from errors returned by the transport. A token from AuthOptions or the
// environment goes only to the https hosts in AuthOptions.TokenHosts (by
// default in Load, the host of the source), and never across a redirect to
// another origin.
package gitops
