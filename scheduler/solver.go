package scheduler

import (
	"context"
	"math"
	"slices"
	"time"
)

// Solver methods, as reported in SolverStats.Method.
const (
	MethodGreedy     = "greedy"                      // capacity never binds: every workload takes its cheapest option
	MethodExact      = "lagrangian+branch-and-bound" // optimality proven
	MethodLagrangian = "lagrangian+local-search"     // stopped at the gap tolerance or time limit
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
	drops   int     // workloads the incumbent leaves out
	optimal bool
	method  string
	timeout bool

	top []pick // scratch for the Lagrangian subproblem
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

// gap is the gap between incumbent and bound relative to the cost of what
// the incumbent places (drop penalties would dwarf it otherwise).
func (s *solver) gap() float64 {
	if math.IsInf(s.incCost, 1) {
		return math.Inf(1)
	}
	abs := max(0, s.incCost-s.lb)
	placed := s.incCost - float64(s.drops)*s.m.penalty
	if placed <= 0 {
		if abs <= eps(s.incCost) {
			return 0
		}
		return math.Inf(1)
	}
	return abs / placed
}

// smallProblem is the number of workloads up to which the solver always
// proves optimality (time permitting), whatever the gap tolerance.
const smallProblem = 16

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
		s.offer(sel, L)
		s.lb, s.optimal, s.method = L, true, MethodGreedy
		return nil
	}
	s.lb = L
	s.seedPrices(lam)
	// Dual ascent in rounds of a few cycles, each followed by a primal
	// solution from the current prices, until the gap closes to the
	// tolerance or the bound stops moving. The first round always runs, so
	// that even an expired time limit yields a complete placement.
	for round := 0; round < 40 && (round == 0 || !s.stop()); round++ {
		before := s.lb
		s.lb = max(s.lb, s.ascend(lam, 4, 0))
		s.lagrange(lam, sel, use)
		s.primal(sel, lam, false)
		if s.gap() <= s.tol || s.lb-before <= 1e-3*(s.incCost-s.lb) {
			break
		}
	}
	// Coordinate ascent stalls where only a joint move of several targets'
	// prices gains; the bundle method takes the bound from there to the LP
	// optimum.
	if s.gap() > s.tol && !s.stop() {
		s.bundle(lam, 300, 8)
	}
	if (s.gap() > s.tol || len(s.active) <= smallProblem) && !s.stop() {
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
	case s.gap() > s.tol || len(s.active) <= smallProblem:
		limit = math.MaxInt
	}
	if limit > 0 && s.branchAndBound(lam, limit) {
		s.optimal, s.method, s.lb = true, MethodExact, s.incCost
		return nil
	}
	// A search cut short may leave an incumbent that some workload could
	// still improve on its own; the explanations assume it cannot.
	x := slices.Clone(s.inc)
	use = make([]float64, 2*s.K)
	for _, i := range s.active {
		s.addUse(i, s.selOf(x, i), 1, use)
	}
	s.sweep(x, use)
	s.offer(x, s.total(x))
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
		s.drops = 0
		for _, i := range s.active {
			if sel[s.off[i]] < 0 {
				s.drops++
			}
		}
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
