package deploy_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/argocd"
	"github.com/meridianhq/meridian/gitops/deploy"
)

func TestRenderGolden(t *testing.T) {
	r, err := deploy.Render(loadConfig(t), basicPlan(), deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	goldenTree(t, filepath.Join("testdata", "golden", "basic"), r.Tree)
	want := []string{"MER-DEPLOY-001 legacy onprem-fra warn"}
	if diff := cmp.Diff(want, findingKeys(r.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestRenderDeterministic renders the same plan with its placements in
// another order: the files must be byte-identical, or a re-apply of an
// unchanged plan would make a commit.
func TestRenderDeterministic(t *testing.T) {
	cfg := loadConfig(t)
	a, err := deploy.Render(cfg, basicPlan(), deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := basicPlan()
	for i, j := 0, len(p.Placements)-1; i < j; i, j = i+1, j-1 {
		p.Placements[i], p.Placements[j] = p.Placements[j], p.Placements[i]
	}
	p.ID = "ffffffffffffffff" // the plan ID must not reach the files
	for range 5 {
		b, err := deploy.Render(cfg, p, deploy.RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a.Tree, b.Tree); diff != "" {
			t.Fatalf("rendering is not deterministic (-first +again):\n%s", diff)
		}
	}
	for path, b := range a.Tree {
		if bytes.Contains(b, []byte(p.ID)) || bytes.Contains(b, []byte(basicPlan().ID)) {
			t.Errorf("%s holds the plan ID", path)
		}
	}
}

// TestRenderFileShape checks the promises about the files themselves: one
// manifest per file, a literal kind line, the labels, the finalizer.
func TestRenderFileShape(t *testing.T) {
	r, err := deploy.Render(loadConfig(t), basicPlan(), deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	apps := 0
	for _, p := range r.Tree.Paths() {
		s := string(r.Tree[p])
		if strings.Count(s, "\n---") > 0 || strings.HasPrefix(s, "---") {
			t.Errorf("%s holds more than one document", p)
		}
		if !strings.Contains(s, "\nkind: ") {
			t.Errorf("%s has no literal kind line", p)
		}
		if !strings.Contains(s, "\nkind: Application\n") {
			continue
		}
		apps++
		if !strings.Contains(s, "  - "+argocd.ResourcesFinalizer+"\n") {
			t.Errorf("%s: Application without the cascading-delete finalizer", p)
		}
		if w, tg, ok := deploy.Owner(p); ok {
			for _, l := range []string{"meridian.io/workload: " + w, "meridian.io/target: " + tg} {
				if !strings.Contains(s, "    "+l+"\n") {
					t.Errorf("%s lacks label %q", p, l)
				}
			}
		}
	}
	// 5 workload Applications (legacy has no source), 4 infra ones, 1 root.
	if apps != 10 {
		t.Errorf("%d Applications rendered, want 10", apps)
	}
}

func TestRenderBlockedKeepsCurrent(t *testing.T) {
	cfg := loadConfig(t)
	before, err := deploy.Render(cfg, basicPlan(), deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// web is now blocked by a deny finding and the plan would move it to
	// onprem-fra with 4 replicas: the deploy repo must keep web as it is.
	p := basicPlan()
	for i := range p.Placements {
		if p.Placements[i].Workload == "web" {
			p.Placements[i] = meridian.Placement{Workload: "web", Target: "onprem-fra", Replicas: 4, Blocked: true}
		}
	}
	after, err := deploy.Render(cfg, p, deploy.RenderOptions{Current: before.Tree})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before.Tree, after.Tree); diff != "" {
		t.Errorf("a blocked workload changed the deploy tree (-before +after):\n%s", diff)
	}
	want := []string{"MER-DEPLOY-001 legacy onprem-fra warn", "MER-DEPLOY-003 web  info"}
	if diff := cmp.Diff(want, findingKeys(after.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestRenderUnknownPlacement(t *testing.T) {
	cfg := loadConfig(t)
	for name, p := range map[string]meridian.Placement{
		"workload": {Workload: "ghost", Target: "onprem-fra", Replicas: 1},
		"target":   {Workload: "api", Target: "mars-1", Replicas: 1},
	} {
		_, err := deploy.Render(cfg, withPlacements(basicPlan(), "x", p), deploy.RenderOptions{})
		if meridian.ErrorCode(err) != meridian.EINVALID {
			t.Errorf("unknown %s: want EINVALID, got %v", name, err)
		}
	}
}

func TestOwner(t *testing.T) {
	cases := map[string]struct {
		path     string
		w, tg    string
		owned    bool
		wantName string
	}{
		"app":        {path: "apps/api/aws-eu-west-1.yaml", w: "api", tg: "aws-eu-west-1", owned: true},
		"infra app":  {path: "apps/api/aws-eu-west-1.infra.yaml", w: "api", tg: "aws-eu-west-1", owned: true},
		"infra file": {path: "infra/api/aws-eu-west-1/bucket.yaml", w: "api", tg: "aws-eu-west-1", owned: true},
		"root":       {path: "root.yaml"},
		"stranger":   {path: "apps/README.md"},
		"not yaml":   {path: "apps/api/x.json"},
	}
	for name, tc := range cases {
		w, tg, ok := deploy.Owner(tc.path)
		if w != tc.w || tg != tc.tg || ok != tc.owned {
			t.Errorf("%s: Owner(%q) = %q, %q, %v", name, tc.path, w, tg, ok)
		}
	}
	if got := deploy.AppName("a-b", "c"); got == deploy.AppName("a", "b-c") {
		t.Errorf("AppName collides: %q", got)
	}
}
