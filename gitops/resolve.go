package gitops

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/meridianhq/meridian"
)

// minShortSHA is the shortest abbreviated SHA accepted, as in Git.
const minShortSHA = 4

// refCandidates lists the full ref names ref may stand for, in the order
// `git rev-parse` tries them: a full name as given, else under refs/,
// refs/tags/, refs/heads/ and, for local repositories, refs/remotes/.
func refCandidates(ref string, withRemotes bool) []plumbing.ReferenceName {
	if ref == "" || ref == "HEAD" {
		return []plumbing.ReferenceName{plumbing.HEAD}
	}
	if strings.HasPrefix(ref, "refs/") {
		return []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	}
	// Git would also try ref as a file in .git (FETCH_HEAD and the like);
	// go-git refuses names outside refs/, and a config ref has no use for
	// them.
	out := []plumbing.ReferenceName{
		plumbing.ReferenceName("refs/" + ref),
		plumbing.NewTagReferenceName(ref),
		plumbing.NewBranchReferenceName(ref),
	}
	if withRemotes {
		out = append(out,
			plumbing.ReferenceName("refs/remotes/"+ref),
			plumbing.ReferenceName("refs/remotes/"+ref+"/HEAD"))
	}
	return out
}

// isFullSHA reports whether s is a 40-digit hex SHA-1.
func isFullSHA(s string) bool { return plumbing.IsHash(strings.ToLower(s)) }

// isShortSHA reports whether s could be an abbreviated SHA.
func isShortSHA(s string) bool {
	if len(s) < minShortSHA || len(s) >= 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// prefixSearcher finds objects by hash prefix; go-git's filesystem storage
// implements it.
type prefixSearcher interface {
	HashesWithPrefix(prefix []byte) ([]plumbing.Hash, error)
}

// resolveSHA finds the commit a full or abbreviated SHA names. An
// abbreviation that matches more than one commit is an error, as in Git;
// matches that are not commits (or tags of commits) do not count.
func resolveSHA(s storer.EncodedObjectStorer, sha string) (*object.Commit, error) {
	sha = strings.ToLower(sha)
	if isFullSHA(sha) {
		return peel(s, plumbing.NewHash(sha))
	}
	ps, ok := s.(prefixSearcher)
	if !ok {
		return nil, plumbing.ErrObjectNotFound
	}
	// Whole bytes go to the search; an odd trailing digit is checked after.
	prefix, err := hex.DecodeString(sha[:len(sha)&^1])
	if err != nil {
		return nil, err
	}
	hashes, err := ps.HashesWithPrefix(prefix)
	if err != nil {
		return nil, err
	}
	var found []*object.Commit
	seen := map[plumbing.Hash]bool{}
	for _, h := range hashes {
		if !strings.HasPrefix(h.String(), sha) {
			continue
		}
		c, err := peel(s, h)
		if err != nil || seen[c.Hash] {
			continue
		}
		seen[c.Hash] = true
		found = append(found, c)
	}
	switch len(found) {
	case 0:
		return nil, plumbing.ErrObjectNotFound
	case 1:
		return found[0], nil
	}
	return nil, meridian.Errorf(meridian.EINVALID, "short SHA %q is ambiguous: %d commits match", sha, len(found))
}

// peel follows annotated tags from h to the commit they point at.
func peel(s storer.EncodedObjectStorer, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		o, err := object.GetObject(s, h)
		if err != nil {
			return nil, err
		}
		switch o := o.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, meridian.Errorf(meridian.EINVALID, "%s is a %s, not a commit", h, o.Type())
		}
	}
	return nil, meridian.Errorf(meridian.EINVALID, "%s: tag chain too long", h)
}

// hasObject reports whether s holds h.
func hasObject(s storer.EncodedObjectStorer, h plumbing.Hash) bool {
	return s.HasEncodedObject(h) == nil
}

// resolveLocal resolves ref in a repository's own refs and objects, the way
// `git rev-parse ref^{commit}` does, and returns the name to report (a
// short ref name, or the full SHA for a SHA or a detached HEAD). Unlike Git,
// a short name that more than one ref answers to (a branch and a tag both
// called main) is an EINVALID error rather than a warning.
func resolveLocal(s storer.Storer, ref string) (*object.Commit, string, error) {
	if isFullSHA(ref) {
		c, err := resolveSHA(s, ref)
		if err != nil {
			return nil, "", err
		}
		return c, c.Hash.String(), nil
	}
	var found []*plumbing.Reference
	for _, name := range refCandidates(ref, true) {
		r, err := storer.ResolveReference(s, name)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("read %s: %w", name, err)
		}
		found = append(found, r)
	}
	switch len(found) {
	case 0:
	case 1:
		r := found[0]
		c, err := peel(s, r.Hash())
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", r.Name(), err)
		}
		return c, displayRef(ref, r.Name(), c), nil
	default:
		names := make([]plumbing.ReferenceName, len(found))
		for i, r := range found {
			names[i] = r.Name()
		}
		return nil, "", ambiguous(ref, names)
	}
	if isShortSHA(ref) {
		c, err := resolveSHA(s, ref)
		if err != nil {
			return nil, "", err
		}
		return c, c.Hash.String(), nil
	}
	return nil, "", plumbing.ErrReferenceNotFound
}

// displayRef is Snapshot.Ref for a resolved ref name: its short form, or the
// commit SHA when the name says nothing (a detached HEAD). A ref asked for
// by its full name keeps it, so that loading Snapshot.Ref again (to check
// that a saved plan is current) resolves the same ref, even when a tag
// shares the branch's short name.
func displayRef(asked string, name plumbing.ReferenceName, c *object.Commit) string {
	if name == plumbing.HEAD {
		return c.Hash.String()
	}
	if strings.HasPrefix(asked, "refs/") {
		return string(name)
	}
	return name.Short()
}
