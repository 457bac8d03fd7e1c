package scheduler

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func zzProblems(t *testing.T) map[string]*Problem {
	out := map[string]*Problem{}
	for _, name := range strings.Fields(os.Getenv("ZZ_PROBS")) {
		var p *Problem
		switch {
		case strings.HasPrefix(name, "gen"):
			var s, w, tg int
			fmt.Sscanf(name, "gen%d_%dx%d", &s, &w, &tg)
			p = Generate(int64(s), w, tg)
		case strings.HasPrefix(name, "sites"):
			var s, w, tg int
			fmt.Sscanf(name, "sites%d_%dx%d", &s, &w, &tg)
			p = GenerateSites(int64(s), w, tg)
		default:
			var err error
			p, err = ZZLoad("/tmp/" + name + ".gob")
			if err != nil {
				t.Fatal(err)
			}
		}
		out[name] = p
	}
	return out
}

func TestZZExp(t *testing.T) {
	for _, name := range strings.Fields(os.Getenv("ZZ_PROBS")) {
		p := zzProblems(t)[name]
		if os.Getenv("ZZ_LP") != "" {
			f, _ := os.Create("/tmp/" + name + ".lp")
			WriteLP(f, p)
			f.Close()
		}
		if v := os.Getenv("ZZ_TOL"); v != "" {
			fmt.Sscanf(v, "%g", &p.Settings.GapTolerance)
			p.Settings.TimeLimit = 1500 * time.Millisecond
		}
		for rep := 0; rep < 1; rep++ {
			st := time.Now()
			res, err := Solve(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			obj, _ := Objective(p, res)
			fmt.Printf("%s: method=%s obj=%.2f lb=%.2f gap=%.4f%% solve=%.3fs wall=%.3fs\n", name, res.Stats.Method, obj, res.Stats.LowerBound, res.Stats.GapPercent, res.Stats.Seconds, time.Since(st).Seconds())
		}
	}
}

func TestZZWriteLP(t *testing.T) {
	for name, p := range zzProblems(t) {
		f, _ := os.Create("/tmp/" + name + ".lp")
		WriteLP(f, p)
		f.Close()
	}
}
