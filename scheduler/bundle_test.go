package scheduler

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestBundleReachesLPBound checks, with CBC when it is installed, that the
// Lagrangian bound the bundle method converges to is the LP-relaxation
// optimum of the emitted MILP: never above it (the bound would be invalid)
// and not noticeably below it (the ascent would have stalled, as
// block-coordinate ascent alone does on these instances).
func TestBundleReachesLPBound(t *testing.T) {
	cbc := lookCBC(t)
	if testing.Short() {
		t.Skip("runs an external solver")
	}
	objective := regexp.MustCompile(`(?m)^Optimal objective\s+([-0-9.eE+]+)`)
	cases := map[string]*Problem{
		"sites/1":    GenerateSites(1, 200, 15),
		"sites/2":    GenerateSites(2, 200, 15),
		"generate/1": Generate(1, 200, 15),
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := build(p)
			if err != nil {
				t.Fatal(err)
			}
			s := newSolver(context.Background(), m, time.Now().Add(time.Minute), 0)
			s.budget = math.MaxInt64
			sel, use, lam := s.newSel(), make([]float64, 2*s.K), make([]float64, 2*s.K)
			s.lb = s.lagrange(lam, sel, use)
			s.seedPrices(lam)
			s.lb = max(s.lb, s.ascend(lam, 4, 0))
			s.lagrange(lam, sel, use)
			s.quick(sel, lam)
			s.newBundle(lam).run(2000, 8)

			path := filepath.Join(t.TempDir(), "p.lp")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteLP(f, p); err != nil {
				t.Fatal(err)
			}
			f.Close()
			out, err := exec.Command(cbc, path, "initialSolve").CombinedOutput()
			if err != nil {
				t.Fatalf("cbc: %v\n%s", err, out)
			}
			mt := objective.FindSubmatch(out)
			if mt == nil {
				t.Fatalf("no objective in cbc output:\n%s", out)
			}
			lp, _ := strconv.ParseFloat(string(mt[1]), 64)
			if s.lb > lp+1e-6*(1+math.Abs(lp)) {
				t.Errorf("bound %.4f above the LP optimum %.4f", s.lb, lp)
			}
			if s.lb < lp-1e-5*math.Abs(lp) {
				t.Errorf("bound %.4f short of the LP optimum %.4f by %.4f%%", s.lb, lp, 100*(lp-s.lb)/lp)
			}
		})
	}
}
