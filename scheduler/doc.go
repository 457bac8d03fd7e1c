// Package scheduler places workloads on targets at minimum total monthly
// cost, subject to placement policy, target capacity, spread, pins and
// migration hysteresis.
//
// The model is a generalized assignment problem in which only the
// capacity-limited targets (on-prem clusters, edge sites, clouds with a
// quota) couple the workloads; uncapacitated clouds never compete, so each
// workload's cheapest uncapacitated option is a private upper bound on what
// it pays. Solve therefore relaxes the capacity rows in a Lagrangian fashion,
// maximizes the resulting lower bound by block-coordinate ascent and then a
// proximal bundle method (which reaches the LP bound), turns dual iterates
// and the applied-state ledger into feasible placements (repair,
// best-response sweeps, re-packing each capacitated target as a two-row
// knapsack, and 1-in-1-out swaps), and closes what gap is left with a
// depth-first branch-and-bound over the options whose Lagrangian reduced
// cost still fits into the gap. Small instances are thereby solved to
// proven optimality; large ones stop at the configured gap tolerance, or
// when a work budget is spent, with a proven lower bound.
//
// Everything is deterministic for a given Problem, on any machine and any
// number of cores, as long as the solver does not hit the time limit,
// which is only a safety net: the search is bounded by counted work, not
// by the clock; the parallel loops split their work by the data and
// combine it in a fixed order; tie breaks never depend on map order.
//
// See docs/placement.md for the semantics and the benchmark.
package scheduler
