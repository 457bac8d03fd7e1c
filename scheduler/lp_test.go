package scheduler

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/citest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// lpExample has one of everything WriteLP must express: a constant (pinned
// to an unlimited target), a drop slack (only limited options), a
// spread_by group row, vCPU and memory rows, and a workload left out
// (no compliant target).
func lpExample() *Problem {
	targets, rates := estate()
	targets[1].Capacity.MemoryGiB = 16
	targets[3].Region = targets[0].Region // aws and gcp share a region
	ha := vcpus("ha", 1)
	ha.Requires.Spread, ha.Requires.SpreadBy = 2, meridian.SpreadByRegion
	onsite := vcpus("onsite", 2)
	onsite.PerReplica.MemoryGiB = 8
	pinned := vcpus("pinned", 1)
	pinned.Pin = "aws"
	return &Problem{
		Workloads: []meridian.Workload{ha, onsite, pinned, vcpus("nowhere", 1)},
		Targets:   targets,
		Rates:     rates,
		Violations: [][][]meridian.Violation{
			nil,
			{deny("residency", "no aws"), nil, nil, deny("residency", "no gcp")},
			nil,
			{deny("residency", "no aws"), deny("residency", "no dc"), deny("residency", "no edge"), deny("residency", "no gcp")},
		},
	}
}

func TestWriteLPGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteLP(&buf, lpExample()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "example.lp.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("WriteLP output differs from %s (run go test -update after checking):\n%s", golden, buf.String())
	}
}

// skipUnlessCI skips the test locally but fails it when CI=true: in CI a
// missing tool or an unproven optimum means the check did not run, which
// must not pass unnoticed.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	citest.Missingf(t, format, args...)
}

// lookCBC returns the path of the cbc binary, skipping (failing under
// CI=true) when it is not installed; .ci/run installs Debian's coinor-cbc.
func lookCBC(t *testing.T) string {
	t.Helper()
	cbc, err := exec.LookPath("cbc")
	if err != nil {
		skipUnlessCI(t, "cbc not installed (apt-get install coinor-cbc): %v", err)
	}
	return cbc
}

// TestLPMatchesCBC solves the emitted MILP with CBC, when it is installed,
// and checks that its optimum is the objective of Solve's optimal result:
// the LP and the solver model the same problem.
func TestLPMatchesCBC(t *testing.T) {
	cbc := lookCBC(t)
	if testing.Short() {
		t.Skip("runs an external solver")
	}
	objective := regexp.MustCompile(`(?m)^(?:Objective value:|Optimal objective)\s+([-0-9.eE+]+)`)
	r := rand.New(rand.NewPCG(21, 22))
	problems := []*Problem{lpExample()}
	for seed := int64(1); seed <= 3; seed++ {
		problems = append(problems, Generate(seed, 40, 6))
	}
	for range 12 {
		problems = append(problems, randomSmall(r))
	}
	for n, p := range problems {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p.Settings.GapTolerance = 1e-12 // prove optimality
			res, err := Solve(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Stats.Optimal {
				skipUnlessCI(t, "not proven optimal (%+v)", res.Stats)
			}
			got, err := Objective(p, res)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "p.lp")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteLP(f, p); err != nil {
				t.Fatal(err)
			}
			f.Close()
			out, err := exec.Command(cbc, path, "solve").CombinedOutput()
			if err != nil {
				t.Fatalf("cbc: %v\n%s", err, out)
			}
			m := objective.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no objective in cbc output:\n%s", out)
			}
			want, _ := strconv.ParseFloat(string(m[1]), 64)
			if math.Abs(got-want) > 1e-6*(1+math.Abs(want)) {
				t.Errorf("Solve's objective %.6f, cbc's optimum %.6f", got, want)
			}
		})
	}
}
