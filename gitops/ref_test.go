package gitops

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestValidateRef(t *testing.T) {
	cases := map[string]struct {
		reason string
		ref    string
		ok     bool
	}{
		"empty":           {reason: "empty means the default branch", ref: "", ok: true},
		"HEAD":            {reason: "HEAD is the default branch", ref: "HEAD", ok: true},
		"branch":          {reason: "a plain branch", ref: "main", ok: true},
		"nested branch":   {reason: "slashes separate parts", ref: "feature/x-1.2", ok: true},
		"full ref":        {reason: "full names are how a caller says which", ref: "refs/heads/main", ok: true},
		"pull ref":        {reason: "the server plans pull requests by this name", ref: "refs/pull/7/head", ok: true},
		"full sha":        {reason: "SHAs pin commits", ref: strings.Repeat("ab", 20), ok: true},
		"short sha":       {reason: "abbreviations are refs too", ref: "deadbee", ok: true},
		"unicode":         {reason: "Git allows non-ASCII names", ref: "fix/café", ok: true},
		"dot dot":         {reason: "a ref of ../../etc answered 500 before", ref: "../../etc"},
		"dot dot inside":  {reason: "git check-ref-format refuses ..", ref: "a..b"},
		"leading dash":    {reason: "looks like an option to any tool further down", ref: "-n"},
		"leading slash":   {reason: "not a ref", ref: "/etc/passwd"},
		"trailing slash":  {reason: "not a ref", ref: "main/"},
		"double slash":    {reason: "not a ref", ref: "a//b"},
		"dot part":        {reason: "hidden components", ref: "refs/heads/.x"},
		"lock":            {reason: "Git's lock files", ref: "main.lock"},
		"trailing dot":    {reason: "not a ref", ref: "main."},
		"newline":         {reason: "control characters forge log lines", ref: "main\nINFO fake"},
		"nul":             {reason: "control characters", ref: "ma\x00in"},
		"del":             {reason: "control characters", ref: "ma\x7fin"},
		"space":           {reason: "not a ref", ref: "ma in"},
		"tilde":           {reason: "revision syntax, not a ref", ref: "main~1"},
		"caret":           {reason: "revision syntax, not a ref", ref: "main^"},
		"colon":           {reason: "refspec syntax", ref: "a:b"},
		"glob":            {reason: "not a ref", ref: "refs/heads/*"},
		"bracket":         {reason: "not a ref", ref: "a[1]"},
		"backslash":       {reason: "not a ref", ref: `a\b`},
		"reflog":          {reason: "revision syntax", ref: "main@{1}"},
		"at":              {reason: "Git's name for HEAD, not a ref", ref: "@"},
		"invalid utf-8":   {reason: "names are shown in messages", ref: "a\xffb"},
		"too long":        {reason: "length cap", ref: strings.Repeat("a", maxRefLen+1)},
		"longest allowed": {reason: "length cap is inclusive", ref: strings.Repeat("a", maxRefLen), ok: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := ValidateRef(tc.ref)
			if (err == nil) != tc.ok {
				t.Fatalf("%s\nValidateRef(%q) = %v, want ok=%v", tc.reason, tc.ref, err, tc.ok)
			}
			if err != nil && meridian.ErrorCode(err) != meridian.EINVALID {
				t.Errorf("ValidateRef(%q) code = %q, want %q", tc.ref, meridian.ErrorCode(err), meridian.EINVALID)
			}
		})
	}
}

func TestBranchRef(t *testing.T) {
	for in, want := range map[string]string{"main": "refs/heads/main", "a/b": "refs/heads/a/b", "refs/heads/main": "refs/heads/main"} {
		if got := BranchRef(in); got != want {
			t.Errorf("BranchRef(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzValidateRef checks that the validator never panics and that what it
// accepts is safe to put in a path, a refspec and a log line, and resolves
// without panicking.
func FuzzValidateRef(f *testing.F) {
	for _, s := range []string{"main", "../../etc", "refs/heads/main", "-x", "a..b", "@{", "a\nb", "refs/pull/1/head", "deadbeef", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		err := ValidateRef(ref)
		if err != nil {
			if meridian.ErrorCode(err) != meridian.EINVALID {
				t.Fatalf("ValidateRef(%q) code %q, want EINVALID", ref, meridian.ErrorCode(err))
			}
			return
		}
		if ref == "" || ref == "HEAD" {
			return
		}
		for _, bad := range []string{"..", "//", "@{", "\\", " ", ":", "~", "^", "?", "*", "["} {
			if strings.Contains(ref, bad) {
				t.Fatalf("ValidateRef accepted %q, which contains %q", ref, bad)
			}
		}
		if strings.HasPrefix(ref, "-") || strings.HasPrefix(ref, "/") || len(ref) > maxRefLen || !utf8.ValidString(ref) {
			t.Fatalf("ValidateRef accepted %q", ref)
		}
		if strings.ContainsFunc(ref, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("ValidateRef accepted control characters in %q", ref)
		}
		for _, n := range refCandidates(ref, true) {
			if filepath.Clean(string(n)) != string(n) || !strings.HasPrefix(string(n), "refs/") {
				t.Fatalf("candidate %q of %q is not a clean name under refs/", n, ref)
			}
		}
		_, _, _, _ = lookupAdvertised(nil, ref)
	})
}

// TestLoadTagNamedLikeBranch is finding #2: after `git tag main <old>`, the
// tag was planned (and auto-applied) as the branch.
func TestLoadTagNamedLikeBranch(t *testing.T) {
	f := newRemoteFixture(t)
	f.work.git("tag", "main", f.c1)
	f.work.git("push", "-q", "origin", "refs/tags/main")
	fileURL := "file://" + filepath.ToSlash(f.bare)
	local := f.work.dir

	cases := map[string]struct {
		reason      string
		source, ref string
		want        *Snapshot
		wantCode    string
		wantMsg     string
	}{
		"remote branch by full name": {
			reason: "the server's tracked branch is refs/heads/<branch>, and a tag of that name neither replaces nor blocks it",
			source: fileURL, ref: BranchRef("main"),
			want: &Snapshot{Source: fileURL, Ref: "refs/heads/main", Commit: f.c2},
		},
		"remote short name is ambiguous": {
			reason: "a user ref naming a branch and a tag must be refused, not resolved to the tag",
			source: fileURL, ref: "main", wantCode: meridian.EINVALID,
			wantMsg: `ref "main" names both branch refs/heads/main and tag refs/tags/main; say which`,
		},
		"remote tag by full name": {
			reason: "the tag stays reachable when asked for by name",
			source: fileURL, ref: "refs/tags/main",
			want: &Snapshot{Source: fileURL, Ref: "refs/tags/main", Commit: f.c1},
		},
		"remote default branch": {
			reason: "HEAD points at refs/heads/main, whatever tags exist",
			source: fileURL,
			want:   &Snapshot{Source: fileURL, Ref: "main", Commit: f.c2},
		},
		"remote unambiguous short names": {
			reason: "other branches keep working by short name",
			source: fileURL, ref: "feature",
			want: &Snapshot{Source: fileURL, Ref: "feature", Commit: f.c3},
		},
		"local branch by full name": {
			reason: "folder mode with a ref resolves the same way",
			source: local, ref: BranchRef("main"),
			want: &Snapshot{Source: local, Ref: "refs/heads/main", Commit: f.c2},
		},
		"local short name is ambiguous": {
			reason: "folder mode refuses the ambiguous name too",
			source: local, ref: "main", wantCode: meridian.EINVALID,
			wantMsg: `ref "main" names both branch refs/heads/main and tag refs/tags/main; say which`,
		},
		"remote path traversal": {
			reason: "finding #16: ../../etc answered 500; it is invalid input",
			source: fileURL, ref: "../../etc", wantCode: meridian.EINVALID,
		},
		"local path traversal": {
			reason: "go-git reads refs from files; a ref must never name a path",
			source: local, ref: "refs/../../../etc/passwd", wantCode: meridian.EINVALID,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Load(t.Context(), tc.source, tc.ref, testOptions(t, nil))
			if code := errorCode(err); code != tc.wantCode {
				t.Fatalf("%s\nerror code = %q, want %q (err: %v)", tc.reason, code, tc.wantCode, err)
			}
			if err != nil {
				if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("%s\nerror %q does not say %q", tc.reason, err, tc.wantMsg)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got, cmp.FilterPath(isFSField, cmp.Ignore())); diff != "" {
				t.Errorf("%s\nsnapshot (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
