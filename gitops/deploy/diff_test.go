package deploy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/gitops/deploy"
)

func TestDiffUnified(t *testing.T) {
	cases := map[string]struct {
		reason   string
		old, new string
		want     string
	}{
		"separate hunks": {
			reason: "changes more than six lines apart get their own hunks, each with three lines of context",
			old:    "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n",
			new:    "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nK\nl\n",
			want: "--- a/f.yaml\n+++ b/f.yaml\n" +
				"@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n" +
				"@@ -8,5 +8,5 @@\n h\n i\n j\n-k\n+K\n l\n",
		},
		"close changes": {
			reason: "changes within six lines share one hunk",
			old:    "a\nb\nc\nd\ne\n",
			new:    "A\nb\nc\nd\nE\n",
			want:   "--- a/f.yaml\n+++ b/f.yaml\n@@ -1,5 +1,5 @@\n-a\n+A\n b\n c\n d\n-e\n+E\n",
		},
		"insert only": {
			reason: "a pure insertion counts no old lines",
			old:    "a\nb\n",
			new:    "a\nx\nb\n",
			want:   "--- a/f.yaml\n+++ b/f.yaml\n@@ -1,2 +1,3 @@\n a\n+x\n b\n",
		},
		"no newline": {
			reason: "a last line without newline is marked, as git does",
			old:    "a\nb",
			new:    "a\nc",
			want:   "--- a/f.yaml\n+++ b/f.yaml\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fs := deploy.Diff(deploy.Tree{"f.yaml": []byte(tc.old)}, deploy.Tree{"f.yaml": []byte(tc.new)}, "")
			if len(fs) != 1 {
				t.Fatalf("%s: %d files", tc.reason, len(fs))
			}
			if diff := cmp.Diff(tc.want, fs[0].Diff); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDiffActions(t *testing.T) {
	old := deploy.Tree{"a.yaml": []byte("x\n"), "b.yaml": []byte("y\n"), "c.yaml": []byte("z\n")}
	new := deploy.Tree{"a.yaml": []byte("x\n"), "b.yaml": []byte("Y\n"), "d.yaml": []byte("w\n")}
	var got []string
	for _, f := range deploy.Diff(old, new, "p") {
		got = append(got, f.Action+" "+f.Path)
	}
	want := []string{"change p/b.yaml", "remove p/c.yaml", "add p/d.yaml"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if fs := deploy.Diff(new, new, ""); len(fs) != 0 {
		t.Errorf("identical trees differ: %v", fs)
	}
}
