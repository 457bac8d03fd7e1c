package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestDebugPrimal(t *testing.T) {
	debugTrace = false; defer func(){debugTrace=false}()
	p := Generate(1, 200, 20)
	m, _ := build(p)
	s := newSolver(context.Background(), m, time.Now().Add(time.Hour), 0.005)
	lam := make([]float64, 2*s.K)
	sel := s.newSel()
	use := make([]float64, 2*s.K)
	L := s.ascend(lam, 200)
	s.lagrange(lam, sel, use)
	fmt.Println("L", L, "lam", lam, "\nuse", use)
	x := append([]int32(nil), sel...)
	fmt.Println("raw", s.total(x))
	debugTrace = true
	s.repair(x, use, lam)
	fmt.Println("repaired", s.total(x), use)
	s.sweep(x, use)
	fmt.Println("swept", s.total(x), use)
	s.swaps(x, use)
	fmt.Println("swapped", s.total(x), use)
}
