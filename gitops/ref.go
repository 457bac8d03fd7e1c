package gitops

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/meridianhq/meridian"
)

// maxRefLen bounds a ref name. Git has no limit of its own beyond the file
// system's, but a ref that long is never a real branch, and the name ends up
// in paths, log lines and error messages.
const maxRefLen = 1024

// BranchRef returns the full name of branch name, refs/heads/<name>, for
// callers that track a branch and must never get a tag or another ref of
// the same short name (the server's watched branch). A name that is
// already under refs/heads/ is returned as is.
func BranchRef(name string) string {
	if strings.HasPrefix(name, "refs/heads/") {
		return name
	}
	return "refs/heads/" + name
}

// ValidateRef checks a ref as a user gives it to Load: empty or "HEAD", a
// full or abbreviated SHA, or a ref name that `git check-ref-format
// --allow-onelevel` accepts. It also refuses what Git would accept but no
// one means: a leading '-' (an option to some tool further down), invalid
// UTF-8 and names longer than 1024 bytes. Revision syntax (main~1, HEAD^,
// @{upstream}) is not a ref and is refused too.
//
// The error is a *meridian.Error with code EINVALID, which the HTTP edge
// answers with 400.
func ValidateRef(ref string) error {
	if ref == "" || ref == "HEAD" {
		return nil
	}
	if why := refProblem(ref); why != "" {
		return meridian.Errorf(meridian.EINVALID, "invalid ref %q: %s", ref, why)
	}
	return nil
}

// refProblem returns why ref is not a valid ref name, or "".
func refProblem(ref string) string {
	switch {
	case len(ref) > maxRefLen:
		return fmt.Sprintf("longer than %d bytes", maxRefLen)
	case !utf8.ValidString(ref):
		return "not valid UTF-8"
	case strings.HasPrefix(ref, "-"):
		return "must not start with '-'"
	case strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/"):
		return "must not start or end with '/'"
	case strings.HasSuffix(ref, "."):
		return "must not end with '.'"
	case strings.Contains(ref, ".."):
		return `must not contain ".."`
	case strings.Contains(ref, "//"):
		return `must not contain "//"`
	case strings.Contains(ref, "@{"):
		return `must not contain "@{"`
	case ref == "@":
		return `must not be "@"`
	}
	for _, r := range ref {
		switch {
		case r < 0x20 || r == 0x7f:
			return "must not contain control characters"
		case strings.ContainsRune(" ~^:?*[\\", r):
			return fmt.Sprintf("must not contain %q", r)
		}
	}
	for c := range strings.SplitSeq(ref, "/") {
		if strings.HasPrefix(c, ".") {
			return "no part may start with '.'"
		}
		if strings.HasSuffix(c, ".lock") {
			return `no part may end with ".lock"`
		}
	}
	return ""
}

// ambiguous is the error for a short ref name that more than one ref
// answers to. Git warns and picks one; Meridian refuses, because a tag
// named like a branch is how someone without push access to the branch
// gets their commit planned (and applied) as the branch.
func ambiguous(ref string, names []plumbing.ReferenceName) error {
	var branch, tag plumbing.ReferenceName
	for _, n := range names {
		switch {
		case n.IsBranch() && branch == "":
			branch = n
		case n.IsTag() && tag == "":
			tag = n
		}
	}
	if branch != "" && tag != "" {
		return meridian.Errorf(meridian.EINVALID,
			"ref %q names both branch %s and tag %s; say which", ref, branch, tag)
	}
	all := make([]string, len(names))
	for i, n := range names {
		all[i] = n.String()
	}
	return meridian.Errorf(meridian.EINVALID,
		"ref %q is ambiguous: it names %s; say which", ref, strings.Join(all, " and "))
}
