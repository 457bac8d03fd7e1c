package scheduler

import (
	"context"
	"math"
	"slices"
	"time"
)

// Solver methods, as reported in SolverStats.Method.
const (
	MethodGreedy     = "greedy"                   // capacity never binds: every workload takes its cheapest option
	MethodExact      = "lagrangian+branch-and-bound" // optimality proven
	MethodLagrangian = "lagrangian+local-search"   // stopped at the gap tolerance or time limit
)

// solver holds the search state for one Solve call.
type solver struct {
	ctx      context.Context
	m        *model
	deadline time.Time
	tol      float64

	K      int   // capacitated targets; rows are 2K (vCPU, memory)
	off    []int // workload -> offset of its selection in a flat selection
	size   int   // length of a flat selection
	active []int // workloads the optimizer places (not unplaceable on their own)

	inc     []int32 // incumbent selection: candidate indices, -1 first = left out
	incCost float64 // incumbent objective, drop penalties included
	lb      float64 // proven lower bound on the objective
	optimal bool
	method  string
	timeout bool
	checks  int

	top  []pick     // scratch for the Lagrangian subproblem
	zero []float64 // all-zero prices
	// onK lists, per capacitated target, the workloads that can use it and
	// the index of that candidate.
	onK [][]candRef
}

type candRef struct {
	i int
	j int32
}

type pick struct {
	v float64
	j int32
	g int32
}

func newSolver(ctx context.Context, m *model, deadline time.Time, tol float64) *solver {
	s := &solver{ctx: ctx, m: m, deadline: deadline, tol: tol, K: len(m.caps)}
	s.off = make([]int, len(m.ws))
	for i := range m.ws {
		s.off[i] = s.size
		s.size += m.ws[i].n
		if m.ws[i].static == staticNone {
			s.active = append(s.active, i)
		}
	}
	s.zero = make([]float64, 2*s.K)
	s.onK = make([][]candRef, s.K)
	for _, i := range s.active {
		for j, c := range m.ws[i].cands {
			if c.k >= 0 {
				s.onK[c.k] = append(s.onK[c.k], candRef{i, int32(j)})
			}
		}
	}
	s.inc = s.newSel()
	s.incCost = math.Inf(1)
	s.lb = math.Inf(-1)
	return s
}

// newSel returns a flat selection with every workload left out.
func (s *solver) newSel() []int32 {
	sel := make([]int32, s.size)
	for i := range sel {
		sel[i] = -1
	}
	return sel
}

func (s *solver) selOf(sel []int32, i int) []int32 {
	return sel[s.off[i] : s.off[i]+s.m.ws[i].n]
}

// eps is the absolute tolerance for cost comparisons at objective scale v.
func eps(v float64) float64 { return 1e-9 * (1 + math.Abs(v)) }

// stop reports whether the solver must stop: ctx cancelled or time up.
func (s *solver) stop() bool {
	if s.timeout {
		return true
	}
	if s.ctx.Err() != nil || !time.Now().Before(s.deadline) {
		s.timeout = true
	}
	return s.timeout
}

// gap is the relative gap between incumbent and bound.
func (s *solver) gap() float64 {
	if math.IsInf(s.incCost, 1) {
		return math.Inf(1)
	}
	if s.incCost <= 0 {
		return 0
	}
	return max(0, s.incCost-s.lb) / s.incCost
}

func (s *solver) run() error {
	sel := s.newSel()
	use := make([]float64, 2*s.K)
	lam := make([]float64, 2*s.K)
	s.method = MethodLagrangian
	if len(s.active) == 0 {
		s.optimal, s.method, s.incCost, s.lb = true, MethodGreedy, 0, 0
		return nil
	}
	// Without prices every workload takes its cheapest option; if that fits
	// it is optimal.
	L := s.lagrange(lam, sel, use)
	if s.feasible(use) {
		copy(s.inc, sel)
		s.incCost, s.lb, s.optimal, s.method = L, L, true, MethodGreedy
		return nil
	}
	s.lb = L
	s.primal(sel, lam, false)
	s.lb = max(s.lb, s.ascend(lam, 200))
	s.lagrange(lam, sel, use)
	s.primal(sel, lam, false)
	if debugTrace {
		println("after ascend lb", int64(s.lb), "ub", int64(s.incCost), time.Since(debugStart).Milliseconds())
	}
	s.subgradient(lam, 300, 0.1)
	if !s.timeout {
		s.primal(s.inc, lam, true)
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if s.gap() <= 0 {
		s.optimal, s.method = true, MethodExact
		return nil
	}
	limit := 0
	switch {
	case s.timeout:
	case s.gap() > s.tol:
		limit = math.MaxInt
	default:
		limit = 200_000
	}
	if limit > 0 {
		if s.branchAndBound(lam, limit) {
			s.optimal, s.method, s.lb = true, MethodExact, s.incCost
		}
	}
	return s.ctx.Err()
}

// feasible reports whether usage fits every capacity row.
func (s *solver) feasible(use []float64) bool {
	for _, u := range use {
		if u > 1+capEps {
			return false
		}
	}
	return true
}

// selCost is the objective contribution of workload i's selection o.
func (s *solver) selCost(i int, o []int32) float64 {
	if o[0] < 0 {
		return s.m.penalty
	}
	ws := &s.m.ws[i]
	c := 0.0
	for _, j := range o[:ws.n] {
		c += ws.cands[j].cost
	}
	return c
}

// addUse adds sign times workload i's capacity usage under selection o.
func (s *solver) addUse(i int, o []int32, sign float64, use []float64) {
	if o[0] < 0 {
		return
	}
	ws := &s.m.ws[i]
	for _, j := range o[:ws.n] {
		if c := &ws.cands[j]; c.k >= 0 {
			use[2*c.k] += sign * c.nv
			use[2*c.k+1] += sign * c.nm
		}
	}
}

// total is the objective of a complete selection.
func (s *solver) total(sel []int32) float64 {
	t := 0.0
	for _, i := range s.active {
		t += s.selCost(i, s.selOf(sel, i))
	}
	return t
}

// offer records sel as the incumbent if it is better.
func (s *solver) offer(sel []int32, cost float64) {
	if cost < s.incCost-eps(cost) {
		copy(s.inc, sel)
		s.incCost = cost
	}
}

// lagrange evaluates the Lagrangian dual function at lam, with the capacity
// rows priced at lam (per unit of normalized capacity). It stores the
// minimizing selection in sel and the resulting usage in use.
func (s *solver) lagrange(lam []float64, sel []int32, use []float64) float64 {
	clear(use)
	L := 0.0
	for _, i := range s.active {
		o := s.selOf(sel, i)
		L += s.lagrangeOne(i, lam, o)
		s.addUse(i, o, 1, use)
	}
	for _, l := range lam {
		L -= l
	}
	return L
}

// bestResponse writes into out workload i's cheapest option that fits the
// capacity left in use (which must not include i itself), never using
// capacitated target excl, and returns its cost. Candidates are sorted by
// cost, so taking the first fitting candidate of each new group until n are
// taken is optimal (a greedy basis of a partition matroid).
func (s *solver) bestResponse(i int, use []float64, excl int32, out []int32) float64 {
	ws := &s.m.ws[i]
	n, c := 0, 0.0
	for j := range ws.cands {
		cd := &ws.cands[j]
		if cd.k >= 0 && (cd.k == excl || use[2*cd.k]+cd.nv > 1+capEps || use[2*cd.k+1]+cd.nm > 1+capEps) {
			continue
		}
		if ws.n > 1 && groupTaken(ws, out[:n], cd.g) {
			continue
		}
		out[n] = int32(j)
		n++
		c += cd.cost
		if n == ws.n {
			break
		}
	}
	if n < ws.n {
		out[0] = -1
		return s.m.penalty
	}
	slices.Sort(out[:n])
	return c
}

func groupTaken(ws *work, o []int32, g int32) bool {
	for _, j := range o {
		if ws.cands[j].g == g {
			return true
		}
	}
	return false
}
