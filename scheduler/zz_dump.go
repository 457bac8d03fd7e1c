package scheduler

// TEMPORARY: dump problems for offline experiments. Delete before handing back.

import (
	"encoding/gob"
	"fmt"
	"time"
	"os"
)

func zzDump(p *Problem) {
	path := os.Getenv("MERIDIAN_ZZ_DUMP")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := gob.NewEncoder(f).Encode(p); err != nil {
		panic(err)
	}
}

// ZZLoad reads a dumped problem.
func ZZLoad(path string) (*Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &Problem{}
	return p, gob.NewDecoder(f).Decode(p)
}

var zzStart time.Time

func zzTrace(s *solver, what string) {
	if os.Getenv("ZZ_TRACE") == "" {
		return
	}
	fmt.Printf("  %-14s t=%6.3fs lb=%.2f inc=%.2f gap=%.4f%%\n", what, time.Since(s.deadline.Add(-2*time.Second)).Seconds(), s.lb, s.incCost, 100*s.gap())
}
