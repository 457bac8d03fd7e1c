package deploy_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/gitops/deploy"
)

// FuzzDiffPatches checks the unified diff against an independent patcher:
// applying a file's diff to the old text must give the new text.
func FuzzDiffPatches(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n")
	f.Add("", "x\n")
	f.Add("x\n", "")
	f.Add("a\nb", "a\nb\nc")
	f.Add("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n", "1\n2\nx\n4\n5\n6\n7\n8\n9\ny\n11\n")
	f.Fuzz(func(t *testing.T, old, new string) {
		if !strings.HasSuffix(old, "\n") || !strings.HasSuffix(new, "\n") {
			// The patcher below does not model "\ No newline"; the
			// renderer always ends files with one.
			return
		}
		a, b := deploy.Tree{}, deploy.Tree{}
		if old != "" {
			a["f"] = []byte(old)
		}
		if new != "" {
			b["f"] = []byte(new)
		}
		fs := deploy.Diff(a, b, "")
		if old == new || (old == "" && new == "") {
			if len(fs) != 0 {
				t.Fatalf("equal texts differ: %+v", fs)
			}
			return
		}
		if len(fs) != 1 {
			t.Fatalf("want one file, got %d", len(fs))
		}
		got, err := patch(old, fs[0].Diff)
		if err != nil {
			t.Fatalf("%v\ndiff:\n%s", err, fs[0].Diff)
		}
		if got != new {
			t.Fatalf("patched old != new\nold %q\nnew %q\ngot %q\ndiff:\n%s", old, new, got, fs[0].Diff)
		}
	})
}

// patch applies a unified diff to old.
func patch(old, diff string) (string, error) {
	oldLines := strings.SplitAfter(old, "\n")
	if oldLines[len(oldLines)-1] == "" {
		oldLines = oldLines[:len(oldLines)-1]
	}
	lines := strings.SplitAfter(diff, "\n")
	var out []string
	next := 0 // next old line (0-based) not yet copied
	for i := 2; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "@@ ") {
			var from string
			fmt.Sscanf(l, "@@ -%s", &from)
			start, _ := strconv.Atoi(strings.SplitN(from, ",", 2)[0])
			n := 1
			if p := strings.SplitN(from, ",", 2); len(p) == 2 {
				n, _ = strconv.Atoi(p[1])
			}
			if n > 0 {
				start--
			}
			if start < next || start > len(oldLines) {
				return "", fmt.Errorf("hunk starts at old line %d, already at %d", start+1, next+1)
			}
			out = append(out, oldLines[next:start]...)
			next = start
			continue
		}
		switch l[0] {
		case ' ', '-':
			if next >= len(oldLines) || oldLines[next] != l[1:] {
				return "", fmt.Errorf("context/removed line %q does not match old line %d", l, next+1)
			}
			if l[0] == ' ' {
				out = append(out, l[1:])
			}
			next++
		case '+':
			out = append(out, l[1:])
		default:
			return "", fmt.Errorf("bad diff line %q", l)
		}
	}
	out = append(out, oldLines[next:]...)
	return strings.Join(out, ""), nil
}

// FuzzOwner feeds Owner paths as found in a deploy repo someone else may
// have written to: it must not panic, and what it attributes must be a
// path Meridian itself would write for that placement.
func FuzzOwner(f *testing.F) {
	for _, p := range []string{"apps/a/b.yaml", "apps/a/b.infra.yaml", "infra/a/b/key.yaml", "root.yaml", "apps//.yaml", "apps/a/.infra.yaml"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		w, tg, ok := deploy.Owner(p)
		if !ok {
			return
		}
		if w == "" || tg == "" || strings.Contains(w+tg, "/") {
			t.Fatalf("Owner(%q) = %q, %q", p, w, tg)
		}
		if !strings.HasPrefix(p, "apps/"+w+"/"+tg) && !strings.HasPrefix(p, "infra/"+w+"/"+tg+"/") {
			t.Fatalf("Owner(%q) = %q, %q: not where Meridian puts that placement", p, w, tg)
		}
	})
}
