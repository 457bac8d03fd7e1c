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
	nCand  int64 // candidates of the active workloads, the cost of one pass over them

	inc     []int32 // incumbent selection: candidate indices, -1 first = left out
	incCost float64 // incumbent objective, drop penalties included
	lb      float64 // proven lower bound on the objective
	drops   int     // workloads the incumbent leaves out
	optimal bool
	method  string
	timeout bool // the time limit or ctx stopped the search

	// work counts elementary steps (candidates scanned, knapsack and
	// branch-and-bound nodes); the search stops when it reaches budget.
	// Unlike the clock, it gives the same answer on every machine.
	work, budget int64
	spent        bool // the work budget stopped the search

	top     []pick    // scratch for the Lagrangian subproblem
	zeroLam []float64 // prices of zero
	// partL and partUse are a parallel Lagrangian evaluation's value and
	// usage per chunk of workloads.
	partL   []float64
	partUse [][]float64
	// onK lists, per capacitated target, the workloads that can use it and
	// the index of that candidate.
	onK [][]candRef
	// workers hold per-goroutine scratch for the parallel loops; there is
	// at least one.
	workers []*worker
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

// The work budget of a search is workBase plus workPerCand units per
// candidate (workload, target) pair, some hundreds of passes over the
// problem: about a second on one core of a 2020s machine for 10,000
// workloads on 200 targets. It bounds the search deterministically; the
// time limit is only a safety net for machines much slower than that, or
// overloaded ones.
const (
	workBase    = 1e8
	workPerCand = 1200
)

func newSolver(ctx context.Context, m *model, deadline time.Time, tol float64) *solver {
	s := &solver{ctx: ctx, m: m, deadline: deadline, tol: tol, K: len(m.caps)}
	s.off = make([]int, len(m.ws))
	for i := range m.ws {
		s.off[i] = s.size
		s.size += m.ws[i].n
		if m.ws[i].static == staticNone {
			s.active = append(s.active, i)
			s.nCand += int64(len(m.ws[i].cands))
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
	s.budget = workBase + workPerCand*s.nCand
	s.inc = s.newSel()
	s.incCost = math.Inf(1)
	s.lb = math.Inf(-1)
	s.top = make([]pick, 0, s.maxSpread())
	s.zeroLam = make([]float64, 2*s.K)
	s.workers = newWorkers(s)
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

// spend adds n units to the work done.
func (s *solver) spend(n int64) { s.work += n }

// stop reports whether the solver must stop: work budget spent, ctx
// cancelled or time up.
func (s *solver) stop() bool {
	if s.timeout || s.spent {
		return true
	}
	if s.work >= s.budget {
		s.spent = true
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
// proves optimality (budget permitting), whatever the gap tolerance.
const smallProblem = 16

// Iteration counts of the search's phases. Each is a fixed number, not a
// time, so that a solve is reproducible on any machine.
const (
	ascentCycles = 2       // cycles of coordinate ascent before the bundle method
	roundIters   = 50      // bundle iterations per round
	maxRounds    = 16      // rounds of bundle iterations and re-packing
	bnbNodes     = 1 << 22 // branch-and-bound nodes
)

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
	// A first bound from market-clearing prices and a few cycles of
	// coordinate ascent, and a first placement from them and from the
	// ledger. These always run, so that even an expired time limit or an
	// exhausted budget yields a complete placement.
	s.seedPrices(lam)
	s.lb = max(s.lb, s.ascend(lam, ascentCycles, 0))
	s.lagrange(lam, sel, use)
	s.quick(sel, lam)
	s.warmStart(lam)
	// Then rounds of bound and placement: the bundle method takes the
	// bound towards the LP optimum, where coordinate ascent stalls, and
	// re-packing the limited targets improves the placement. Raising the
	// bound first means re-packing stops as soon as it can.
	b := s.newBundle(lam)
	for round := 0; round < maxRounds && s.gap() > s.tol && !s.stop(); round++ {
		converged := b.run(roundIters, 8)
		if s.gap() <= s.tol || s.stop() {
			break
		}
		if !s.repack() && converged {
			break
		}
	}
	copy(lam, b.centre)
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
	if (s.gap() > s.tol || len(s.active) <= smallProblem) && !s.stop() && s.branchAndBound(lam, bnbNodes) {
		s.optimal, s.method, s.lb = true, MethodExact, s.incCost
		return nil
	}
	// A search cut short may leave an incumbent that some workload could
	// still improve on its own; the explanations assume it cannot.
	x := slices.Clone(s.inc)
	use = s.usage(x)
	s.sweep(x, use)
	s.offer(x, s.total(x))
	if s.timeout {
		s.method += " (stopped by the time limit)"
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
		s.drops = 0
		for _, i := range s.active {
			if sel[s.off[i]] < 0 {
				s.drops++
			}
		}
	}
}

// lagChunk is how many workloads one task of a parallel Lagrangian
// evaluation takes. Partial sums are kept per chunk and added in chunk
// order, so the value is the same however many cores compute it.
const lagChunk = 512

// lagrange evaluates the Lagrangian dual function at lam, with the capacity
// rows priced at lam (per unit of normalized capacity). It stores the
// minimizing selection in sel and the resulting usage in use.
func (s *solver) lagrange(lam []float64, sel []int32, use []float64) float64 {
	n := chunks(len(s.active), lagChunk)
	for len(s.partL) < n {
		s.partL = append(s.partL, 0)
		s.partUse = append(s.partUse, make([]float64, 2*s.K))
	}
	s.forEach(n, func(c int, w *worker) {
		L, u := 0.0, s.partUse[c]
		clear(u)
		for _, i := range s.active[c*lagChunk : min(len(s.active), (c+1)*lagChunk)] {
			o := s.selOf(sel, i)
			L += s.lagrangeOne(i, lam, o, w.top)
			s.addUse(i, o, 1, u)
		}
		s.partL[c] = L
	})
	clear(use)
	L := 0.0
	for c := range n {
		L += s.partL[c]
		for r, v := range s.partUse[c] {
			use[r] += v
		}
	}
	for _, l := range lam {
		L -= l
	}
	s.spend(s.nCand)
	return L
}

// usage returns the capacity usage of selection x.
func (s *solver) usage(x []int32) []float64 {
	use := make([]float64, 2*s.K)
	for _, i := range s.active {
		s.addUse(i, s.selOf(x, i), 1, use)
	}
	return use
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
