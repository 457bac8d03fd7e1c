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
// Credentials never reach the cache path, the mirror's config, log records or
// error messages: URLs are stripped of their userinfo before they are used as
// names, and secrets are scrubbed from errors returned by the transport.
package gitops
