package deploy

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/utils/diff"
	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/meridianhq/meridian"
)

// contextLines is how many unchanged lines surround each hunk, as in
// `git diff`.
const contextLines = 3

// Diff lists the files that differ between two deploy trees, sorted by
// path, each with a unified diff. prefix (deploy.path) is put in front of
// every path, so the paths are the repository's.
func Diff(old, new Tree, prefix string) []meridian.DeployFile {
	out := []meridian.DeployFile{}
	seen := map[string]bool{}
	for _, p := range append(old.Paths(), new.Paths()...) {
		if seen[p] {
			continue
		}
		seen[p] = true
		a, inOld := old[p]
		b, inNew := new[p]
		f := meridian.DeployFile{Path: p}
		if prefix != "" {
			f.Path = path.Join(prefix, p)
		}
		switch {
		case inOld && inNew && bytes.Equal(a, b):
			continue
		case !inOld:
			f.Action = meridian.DeployAdd
		case !inNew:
			f.Action = meridian.DeployRemove
		default:
			f.Action = meridian.DeployChange
		}
		var owned bool
		if f.Workload, f.Target, owned = Owner(p); !owned {
			f.Target, _ = SiteOwner(p)
		}
		if f.Action == meridian.DeployRemove {
			f.Resource = removedResource(p, a)
		}
		f.Diff = unified(f.Path, a, b, inOld, inNew)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

type line struct {
	op   diffmatchpatch.Operation
	text string
}

// unified renders a git-style unified diff of one file.
func unified(name string, a, b []byte, inOld, inNew bool) string {
	var sb strings.Builder
	from, to := "a/"+name, "b/"+name
	if !inOld {
		from = "/dev/null"
	}
	if !inNew {
		to = "/dev/null"
	}
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", from, to)
	var lines []line
	for _, d := range diff.Do(string(a), string(b)) {
		for _, l := range splitLines(d.Text) {
			lines = append(lines, line{op: d.Type, text: l})
		}
	}
	// Group changes into hunks that share context.
	i := 0
	oldNo, newNo := 1, 1
	for i < len(lines) {
		if lines[i].op == diffmatchpatch.DiffEqual {
			oldNo, newNo = oldNo+1, newNo+1
			i++
			continue
		}
		start := max(i-contextLines, 0)
		end := i
		for j := i; j < len(lines); j++ {
			if lines[j].op != diffmatchpatch.DiffEqual {
				end = j
				continue
			}
			if j-end > 2*contextLines {
				break
			}
		}
		stop := min(end+contextLines+1, len(lines))
		oStart, nStart := oldNo-(i-start), newNo-(i-start)
		var oLen, nLen int
		var body strings.Builder
		for _, l := range lines[start:stop] {
			switch l.op {
			case diffmatchpatch.DiffEqual:
				oLen, nLen = oLen+1, nLen+1
				body.WriteString(" " + l.text)
			case diffmatchpatch.DiffDelete:
				oLen++
				body.WriteString("-" + l.text)
			case diffmatchpatch.DiffInsert:
				nLen++
				body.WriteString("+" + l.text)
			}
			if !strings.HasSuffix(l.text, "\n") {
				body.WriteString("\n\\ No newline at end of file\n")
			}
		}
		if oLen == 0 {
			oStart--
		}
		if nLen == 0 {
			nStart--
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n%s", hunkRange(oStart, oLen), hunkRange(nStart, nLen), body.String())
		for _, l := range lines[i:stop] {
			switch l.op {
			case diffmatchpatch.DiffEqual:
				oldNo, newNo = oldNo+1, newNo+1
			case diffmatchpatch.DiffDelete:
				oldNo++
			case diffmatchpatch.DiffInsert:
				newNo++
			}
		}
		i = stop
	}
	return sb.String()
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

// splitLines splits s after each newline; a last line without one is kept.
func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
